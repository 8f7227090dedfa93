#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks the layering of DESIGN.md: which folder may include what, and that the build's
# include paths make a wrong-way include fail to compile (with the flags the build uses).
set -euo pipefail

build=${1:?usage: test_layering.sh <build-dir> <source-dir>}
src=${2:?usage: test_layering.sh <build-dir> <source-dir>}
cd "$src"
bad=0
fail() { echo "FAIL: $*" >&2; bad=1; }

# 1. One include style: no library source reaches another folder by a relative path
#    (only the narrow header itself points back into runtime/).
while IFS= read -r hit; do
	case "$hit" in runtime/internal/runtime_internal.h:*) continue ;; esac
	fail "relative include: $hit"
done < <(grep -Hn '#include "\.\./' runtime/*.[ch] runtime/internal/*.h sync/*.[ch] net/*.[ch] || true)

# 2. sync/ and net/ see the runtime only through "runtime_internal.h", and neither
#    includes the other.
for mod in sync net; do
	for f in "$mod"/*.[ch]; do
		while IFS= read -r inc; do
			[ -e "$mod/$inc" ] || [ "$inc" = runtime_internal.h ] ||
				fail "$f includes \"$inc\": not in $mod/ and not the runtime's narrow header"
		done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
	done
done
grep -Hn '#include <coring/net.h>' sync/*.[ch] sync/include/coring/*.h && fail "sync/ includes net/"
grep -Hn '#include <coring/sync.h>' net/*.[ch] net/include/coring/*.h && fail "net/ includes sync/"

# 3. Public headers of a layer include no header of a layer above it, and no private one.
grep -Hn '#include <coring/\(sync\|net\)\.h>' runtime/include/coring/*.h && fail "runtime's public headers include an upper layer"
grep -Hn '#include "' runtime/include/coring/*.h sync/include/coring/*.h net/include/coring/*.h &&
	fail "a public header includes a private one"

# 4. Programs above the library (tools/, bench/, examples/) use the public API only.
for dir in tools bench examples; do
	[ -d "$dir" ] || continue
	while IFS= read -r hit; do
		fail "$hit: a program reaches into the library's private headers"
	done < <(grep -rHn --include='*.c' --include='*.cc' --include='*.h' \
		'#include "\(\.\./\)*\(runtime\|sync\|net\)/' "$dir" || true)
done

# 5. The build's own flags for a sync/ and a net/ source reject runtime/worker.h and accept
#    the narrow header (so a wrong-way include fails to compile, not just this script).
db="$build/compile_commands.json"
if [ ! -f "$db" ]; then
	echo "note: $db missing; compile check skipped"
else
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/coring-layering.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	for probe in sync/lock.c net/socket.c; do
		flags=$(python3 - "$db" "$src/$probe" <<'PY'
import json, shlex, sys
for e in json.load(open(sys.argv[1])):
    if e["file"] == sys.argv[2]:
        args = e.get("arguments") or shlex.split(e["command"])
        keep = [a for a in args if a.startswith(("-I", "-D", "-std", "-isystem"))]
        print(" ".join(shlex.quote(a) for a in keep))
        break
PY
		)
		[ -n "$flags" ] || { fail "no compile command for $probe in $db"; continue; }
		printf '#include "runtime_internal.h"\nint probe_ok;\n' >"$tmp/ok.c"
		printf '#include "worker.h"\nint probe_bad;\n' >"$tmp/bad.c"
		# shellcheck disable=SC2086 # a word list on purpose
		eval "${CORING_CC:-cc} -fsyntax-only $flags $tmp/ok.c" ||
			fail "$probe's flags cannot include the narrow header"
		# shellcheck disable=SC2086
		if eval "${CORING_CC:-cc} -fsyntax-only $flags $tmp/bad.c" 2>/dev/null; then
			fail "$probe's flags let it include runtime/worker.h"
		else
			echo "ok: $probe's flags reject \"worker.h\" and accept \"runtime_internal.h\""
		fi
	done
fi

[ "$bad" -eq 0 ] || exit 1
echo "ok: layering holds"
