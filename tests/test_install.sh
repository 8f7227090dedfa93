#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the build into a temp prefix, then builds and runs a tiny program against it
# both via pkg-config and via find_package(coring).
set -euo pipefail

build=${1:?usage: test_install.sh <build-dir> <source-dir>}
src=${2:?usage: test_install.sh <build-dir> <source-dir>}
cc=${CORING_CC:-cc}
flags=${CORING_C_FLAGS:-}
generator=${CORING_GENERATOR:-}

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

for tool in cmake pkg-config "$cc"; do
	command -v "$tool" >/dev/null 2>&1 || skip "$tool not found"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/coring-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

echo "== cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log"; fail "cmake --install failed"; }
for f in include/coring.h include/coring/runtime.h; do
	[ -f "$prefix/$f" ] || fail "$f was not installed"
done
pc=$(find "$prefix" -name coring.pc -print -quit)
[ -n "$pc" ] || fail "coring.pc was not installed"
config=$(find "$prefix" -name coringConfig.cmake -print -quit)
[ -n "$config" ] || fail "coringConfig.cmake was not installed"

PKG_CONFIG_PATH="$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export PKG_CONFIG_PATH
libdir=$(pkg-config --variable=libdir coring)
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" # for a shared build

# run_consumer <binary> <how>: runs it and checks its output line.
run_consumer() {
	local out rc=0
	out=$("$1") || rc=$?
	[ "$rc" -ne 77 ] || skip "$2 consumer: io_uring is not usable here"
	[ "$rc" -eq 0 ] || fail "$2 consumer exited with $rc (output: $out)"
	case "$out" in
	"coring-consumer "*": result=42") echo "ok: $2 consumer printed: $out" ;;
	*) fail "$2 consumer printed '$out', expected 'coring-consumer <version>: result=42'" ;;
	esac
}

echo "== pkg-config: $(pkg-config --cflags --libs --static coring)"
# shellcheck disable=SC2046,SC2086 # flags are word lists on purpose
"$cc" -std=c11 $flags "$src/tests/install_consumer/main.c" -o "$tmp/consumer-pc" \
	$(pkg-config --cflags --libs --static coring)
run_consumer "$tmp/consumer-pc" pkg-config

echo "== find_package(coring) with CMAKE_PREFIX_PATH=$prefix"
cmake_args=(-S "$src/tests/install_consumer" -B "$tmp/consumer-cmake"
	-DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc"
	-DCMAKE_C_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags")
[ -z "$generator" ] || cmake_args+=(-G "$generator")
cmake "${cmake_args[@]}" >"$tmp/consumer-configure.log" 2>&1 ||
	{ cat "$tmp/consumer-configure.log"; fail "configuring the find_package consumer failed"; }
grep -q "coring_DIR=$prefix/" "$tmp/consumer-configure.log" ||
	{ cat "$tmp/consumer-configure.log"; fail "find_package(coring) did not find the installed copy"; }
cmake --build "$tmp/consumer-cmake" >"$tmp/consumer-build.log" 2>&1 ||
	{ cat "$tmp/consumer-build.log"; fail "building the find_package consumer failed"; }
run_consumer "$tmp/consumer-cmake/coring-consumer" find_package

echo "PASS: installed coring works through pkg-config and find_package"
