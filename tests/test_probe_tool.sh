#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# coring-probe: readable report, valid --json with the same items, --help/--version, and exit status 2 on bad usage.
set -euo pipefail

build=${1:?usage: test_probe_tool.sh <build-dir> <source-dir>}
probe=$build/tools/coring-probe

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[ -x "$probe" ] || skip "$probe not built (CORING_BUILD_TOOLS=OFF?)"
command -v python3 >/dev/null 2>&1 || skip "python3 not found (needed to parse the JSON)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/coring-probe.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

rc=0
"$probe" >"$tmp/text" 2>&1 || rc=$?
[ "$rc" -le 1 ] || fail "plain run exited $rc"
grep -q '^kernel:' "$tmp/text" || fail "no kernel line in the report"
grep -q 'io_uring usable:' "$tmp/text" || fail "no io_uring verdict in the report"
grep -q 'IORING_OP_NOP' "$tmp/text" || fail "no opcode table in the report"

jrc=0
"$probe" --json >"$tmp/json" 2>"$tmp/json.err" || jrc=$?
[ "$jrc" -eq "$rc" ] || fail "--json exited $jrc, the plain run $rc"
python3 - "$tmp/json" "$tmp/text" "$rc" <<'PY' || fail "JSON report does not match"
import json, sys
doc = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read()
usable = doc.get("io_uring_usable")
assert isinstance(usable, bool), "io_uring_usable must be a boolean, got %r" % (usable,)
assert usable == (sys.argv[3] == "0"), "exit status and io_uring_usable disagree"
items = doc["items"]
assert len(items) > 10, "only %d items" % len(items)
names = [i["name"] for i in items]
assert len(set(names)) == len(names), "duplicate item names"
for i in items:
    assert i["kind"] in ("setup-flag", "opcode", "feature", "kernel"), i
    assert i["fallback"], i
    assert i["name"] in text, "item %s missing from the text report" % i["name"]
print("json: %d items, io_uring usable: %s" % (len(items), usable))
PY

"$probe" --help >"$tmp/help" 2>&1 || fail "--help exited non-zero"
grep -qi 'usage' "$tmp/help" || fail "--help prints no usage"
"$probe" --version | grep -q '[0-9]\.[0-9]' || fail "--version prints no version"
brc=0
"$probe" --no-such-option >/dev/null 2>"$tmp/bad" || brc=$?
[ "$brc" -eq 2 ] || fail "an unknown option exited $brc, expected 2"
[ -s "$tmp/bad" ] || fail "an unknown option printed nothing on stderr"
echo "coring-probe: ok"
