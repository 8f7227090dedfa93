#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Compiles and runs every complete program in README.md (each ```c block that includes <coring.h>
# and defines main) against this build tree, so the examples users copy cannot rot: each must
# build warning-free and exit 0; a server example must serve lines and stop on SIGINT.
set -euo pipefail

build=${1:?usage: test_readme_examples.sh <build-dir> <source-dir>}
src=${2:?usage: test_readme_examples.sh <build-dir> <source-dir>}
cc=${CORING_CC:-cc}
flags=${CORING_C_FLAGS:-}

lib=$(find "$build" -maxdepth 1 -name 'libcoring.a' -print -quit)
[ -n "$lib" ] || lib=$(find "$build" -maxdepth 1 -name 'libcoring.so' -print -quit)
[ -n "$lib" ] || { echo "FAIL: no libcoring in $build" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/coring-readme.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Writes each ```c block of README.md that defines main to $tmp/example-N.c.
awk -v dir="$tmp" '
	/^```c[[:space:]]*$/ { inside = 1; body = ""; next }
	/^```/ && inside {
		inside = 0
		if (body ~ /#include <coring.h>/ && body ~ /int main\(/) { n++; printf "%s", body > (dir "/example-" n ".c"); close(dir "/example-" n ".c") }
		next
	}
	inside { body = body $0 "\n" }
' "$src/README.md"

shopt -s nullglob
examples=("$tmp"/example-*.c)
[ "${#examples[@]}" -gt 0 ] || { echo "FAIL: README.md has no complete C program" >&2; exit 1; }

# A server example (it calls cr_server_serve) is run with the address 127.0.0.1:0 as its
# argument; it must print "listening on 127.0.0.1:PORT", echo the lines a client sends on
# PORT, and exit 0 after SIGINT.
serve_example() {
	local bin=$1 name=$2 port="" pid line i rc=0
	LD_LIBRARY_PATH="$build" "$bin" 127.0.0.1:0 >"$tmp/$name.out" 2>"$tmp/$name.err" &
	pid=$!
	for ((i = 0; i < 200; i++)); do
		port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/$name.out")
		[ -n "$port" ] || ! kill -0 "$pid" 2>/dev/null || { sleep 0.05; continue; }
		break
	done
	if [ -z "$port" ]; then
		wait "$pid" || rc=$?
		[ "$rc" -ne 77 ] || { echo "SKIP: io_uring is not usable here"; exit 77; }
		echo "FAIL: $name printed no port (exit $rc):" >&2
		cat "$tmp/$name.out" "$tmp/$name.err" >&2
		kill "$pid" 2>/dev/null || true
		exit 1
	fi
	exec 3<>"/dev/tcp/127.0.0.1/$port"
	for line in "hello" "a line with spaces" "$(printf 'x%.0s' {1..3000})"; do
		printf '%s\n' "$line" >&3
		IFS= read -r -t 10 back <&3 || { echo "FAIL: $name did not answer" >&2; exit 1; }
		[ "$back" = "$line" ] || { echo "FAIL: $name answered '${back:0:40}'" >&2; exit 1; }
	done
	exec 3>&-
	kill -INT "$pid"
	rc=0
	timeout 20 tail --pid="$pid" -f /dev/null || { echo "FAIL: $name did not stop" >&2; exit 1; }
	wait "$pid" || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "FAIL: $name exited $rc after SIGINT:" >&2
		cat "$tmp/$name.err" >&2
		exit 1
	fi
	echo "ok: $name (served 3 lines, stopped by SIGINT)"
}

for ex in "${examples[@]}"; do
	name=$(basename "$ex" .c)
	# shellcheck disable=SC2086 # flags are a word list on purpose
	"$cc" -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $flags \
		-I"$build/include" -I"$src/runtime/include" -I"$src/sync/include" -I"$src/net/include" \
		"$ex" "$lib" -luring -lpthread -o "$tmp/$name" ||
		{ echo "FAIL: $name (README.md example) does not compile" >&2; exit 1; }
	if grep -q 'cr_server_serve' "$ex"; then
		serve_example "$tmp/$name" "$name"
		continue
	fi
	rc=0
	out=$(LD_LIBRARY_PATH="$build" timeout 60 "$tmp/$name" 2>&1) || rc=$?
	[ "$rc" -ne 77 ] || { echo "SKIP: io_uring is not usable here"; exit 77; }
	if [ "$rc" -ne 0 ]; then
		echo "FAIL: $name exited $rc; output:" >&2
		echo "$out" >&2
		exit 1
	fi
	echo "ok: $name"
	echo "$out" | sed 's/^/    /'
done
echo "ok: ${#examples[@]} README example(s) built and ran"
