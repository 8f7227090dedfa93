#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Each C twin in tests/asyncio_twins prints exactly what its asyncio reference program prints (reference/asyncio_<X>.out) and exits 0.
set -uo pipefail

build=${1:?usage: test_asyncio_twins.sh <build-dir> <source-dir>}
src=${2:?usage: test_asyncio_twins.sh <build-dir> <source-dir>}

ref=$src/tests/asyncio_twins/reference
bin=$build/tests/asyncio_twins

tmp=$(mktemp -d "${TMPDIR:-/tmp}/coring-twins.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

shopt -s nullglob
programs=("$ref"/asyncio_*.py)
if [ ${#programs[@]} -eq 0 ]; then
	echo "FAIL: no reference programs in $ref" >&2
	exit 1
fi

passed=0
skipped=0
failed=()
for py in "${programs[@]}"; do
	x=$(basename "$py" .py)
	x=${x#asyncio_}
	expected=$ref/asyncio_$x.out
	twin=$bin/twin_$x
	if [ ! -f "$expected" ]; then
		echo "FAIL twin_$x: no reference output $expected"
		failed+=("$x")
		continue
	fi
	if [ ! -x "$twin" ]; then
		echo "FAIL twin_$x: missing ($twin)"
		failed+=("$x")
		continue
	fi

	# stdout goes through a pipe, as in the reference runs (fully buffered).
	timeout 20 "$twin" 2>"$tmp/$x.err" | cat >"$tmp/$x.out"
	status=${PIPESTATUS[0]}
	if [ "$status" -eq 77 ]; then
		reason=$(tail -n 1 "$tmp/$x.err")
		echo "SKIP twin_$x: ${reason#SKIP: }"
		skipped=$((skipped + 1))
		continue
	fi
	ok=1
	if [ "$status" -ne 0 ]; then
		[ "$status" -eq 124 ] && status="$status (timed out after 20 s)"
		echo "FAIL twin_$x: exit status $status"
		ok=0
	fi
	if ! cmp -s "$expected" "$tmp/$x.out"; then
		echo "FAIL twin_$x: stdout differs from reference/asyncio_$x.out"
		diff -u --label "asyncio_$x.out (python3 asyncio_$x.py)" --label "twin_$x stdout" \
			"$expected" "$tmp/$x.out"
		ok=0
	fi
	if [ "$ok" -eq 1 ]; then
		echo "ok   twin_$x"
		passed=$((passed + 1))
	else
		if [ -s "$tmp/$x.err" ]; then
			echo "---- twin_$x stderr:"
			cat "$tmp/$x.err"
		fi
		failed+=("$x")
	fi
done

echo "$passed passed, ${#failed[@]} failed, $skipped skipped (of ${#programs[@]})"
if [ ${#failed[@]} -gt 0 ]; then
	echo "FAIL: ${failed[*]}" >&2
	exit 1
fi
if [ "$skipped" -gt 0 ]; then
	# Skipped only when io_uring is unusable here, which no twin can work around.
	exit 77
fi
exit 0
