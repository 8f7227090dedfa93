#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks that every C and C++ source of the project is formatted by the committed .clang-format
# (fix with: clang-format -i $(git ls-files '*.c' '*.h' '*.cc')).
set -euo pipefail

src=${2:?usage: test_format.sh <build-dir> <source-dir>}
cd "$src"

fmt=${CLANG_FORMAT:-clang-format}
if ! command -v "$fmt" >/dev/null 2>&1; then
	# tools/setup-deps.sh installs it; without it this check cannot say anything.
	echo "SKIP: $fmt not found (tools/setup-deps.sh installs clang-format)"
	exit 77
fi

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	mapfile -t files < <(git ls-files '*.c' '*.h' '*.cc')
else
	mapfile -t files < <(find runtime sync net tools tests bench examples \
		\( -name '*.c' -o -name '*.h' -o -name '*.cc' \) 2>/dev/null | sort)
fi
[ "${#files[@]}" -gt 0 ] || { echo "FAIL: no sources found under $src" >&2; exit 1; }

bad=()
for f in "${files[@]}"; do
	[ -f "$f" ] || continue # deleted in the work tree, not yet in the index
	if ! "$fmt" --style=file --dry-run -Werror "$f" >/dev/null 2>&1; then
		bad+=("$f")
	fi
done

if [ "${#bad[@]}" -gt 0 ]; then
	echo "FAIL: ${#bad[@]} of ${#files[@]} files differ from .clang-format ($("$fmt" --version)):" >&2
	printf '  %s\n' "${bad[@]}" >&2
	echo "fix with: $fmt -i ${bad[*]}" >&2
	exit 1
fi
echo "ok: ${#files[@]} files match .clang-format"
