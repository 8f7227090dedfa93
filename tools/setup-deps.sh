#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian packages coring needs (only the missing ones, so it is idempotent).
# Usage: tools/setup-deps.sh [--bench]   (--bench adds what bench/ compares against)
set -euo pipefail

packages=(
	gcc                   # compiler
	libc6-dev             # C library headers
	clang                 # second compiler (warnings) and the TSan build
	libclang-rt-14-dev    # clang's sanitizer runtimes
	cmake                 # build system (3.25 on Debian 12)
	ninja-build           # generator used by the presets
	pkg-config            # finds liburing and jemalloc
	liburing-dev          # io_uring
	libjemalloc-dev       # default allocator
	libbenchmark-dev      # Google Benchmark, for bench/
	valgrind              # valgrind.h for stack-switch annotations, and memcheck
	gdb                   # debugging (backtraces through task stacks)
	gcc-aarch64-linux-gnu # checks that the aarch64 context switch compiles
	libc6-dev-arm64-cross # ... and links, statically, for qemu-aarch64
	qemu-user             # runs the aarch64 switch test under emulation
	python3               # the asyncio reference programs the echo tests run against
	clang-format          # tests/test_format.sh checks the style of every source
	libssl-dev            # OpenSSL: test_net_tls_poll runs TLS over cr_poll_fd
)

if [ "${1:-}" = "--bench" ]; then
	packages+=(
		g++                  # the Google Benchmark suite is C++
		libboost-context-dev # baseline: boost.context fiber switch
		libuv1-dev           # baseline: the libuv echo server
		golang-go            # peers: Go goroutines, channels, net server
		python3-uvloop       # peers: asyncio with uvloop
		python3-matplotlib   # the echo comparison's plot
	)
elif [ $# -gt 0 ]; then
	echo "usage: tools/setup-deps.sh [--bench]" >&2
	exit 2
fi

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
	echo "setup-deps: no dpkg/apt here (not Debian?); install these yourself: ${packages[*]}" >&2
	exit 1
fi

missing=()
for pkg in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
	[ "$status" = installed ] || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "setup-deps: all ${#packages[@]} packages are installed"
	exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || {
		echo "setup-deps: not root and no sudo; run as root: apt-get install ${missing[*]}" >&2
		exit 1
	}
	sudo=(sudo)
fi

echo "setup-deps: installing ${missing[*]}"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
echo "setup-deps: done"
