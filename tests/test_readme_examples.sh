#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Compiles and runs every complete program in README.md (each ```c block that includes <coring.h>
# and defines main) against this build tree, so the examples users copy cannot rot: each must
# build warning-free and exit 0.
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

for ex in "${examples[@]}"; do
	name=$(basename "$ex" .c)
	# shellcheck disable=SC2086 # flags are a word list on purpose
	"$cc" -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $flags \
		-I"$build/include" -I"$src/runtime/include" -I"$src/sync/include" -I"$src/net/include" \
		"$ex" "$lib" -luring -lpthread -o "$tmp/$name" ||
		{ echo "FAIL: $name (README.md example) does not compile" >&2; exit 1; }
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
