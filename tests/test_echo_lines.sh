#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Line protocol: coring-echo-server --lines (readline, write, drain) against coring-echo-client
# --lines (every message one line): byte-verified echoes, lines over the stream's limit, the
# bytes after the last newline at the client's end.
set -uo pipefail

# shellcheck source=tests/echo/lib.bash
. "$(dirname "$0")/echo/lib.bash"

# load NAME OPTIONS...: a closed-loop run of the client with OPTIONS; it must exit 0 with
# every connection ok and 0 corrupted bytes.
load() {
	local name=$1 rc=0
	shift
	timeout -k 5 $((60 * slow)) "$client_bin" --connect "127.0.0.1:$server_port" --json "$@" \
		>"$tmp/$name.json" 2>"$tmp/$name.err" || rc=$?
	python3 - "$tmp/$name.json" "$rc" "$name" <<'PY' || { show "$name"; fail "$name: $*"; }
import json, sys
path, rc, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
d = json.load(open(path))
bad = {k: d[k] for k in ("connections_failed", "corrupted_bytes", "unexpected_bytes",
                         "unanswered_messages", "connections_not_closed") if d[k]}
if rc != 0 or bad or d["connections_ok"] == 0 or d["messages"] == 0:
    sys.exit("rc=%d ok=%d messages=%d %s" % (rc, d["connections_ok"], d["messages"], bad))
print("ok: %s: %d messages, %d connections" % (name, d["messages"], d["connections_ok"]))
PY
}

start_server lines --threads 1 --no-udp --lines
# Closed loop with one message in flight: a message that did not end with its newline
# would never be answered, so this also checks the client's line framing.
load one-in-flight --lines --connections 8 --duration 1 --size 1-16k
load pipelined --lines --connections 8 --duration 1 --size 1-16k --pipeline 4
# Lines longer than the stream's read limit (--buffer-size x --max-held) come back as they are.
load overlong --lines --connections 2 --duration 1 --size 100k-300k
# Bytes after the last newline are echoed at the client's end: message mode sends
# newline-free messages, half-closes and prints what comes back.
out=$(timeout -k 5 $((30 * slow)) "$client_bin" --connect "127.0.0.1:$server_port" --timeout 10 \
	"no newline here" "nor here" 2>"$tmp/msg.err") || { show msg; fail "message mode against --lines"; }
case $out in
*"no newline here"*"nor here"*) note "ok: message mode: the newline-free tail came back at the end" ;;
*) fail "message mode against --lines printed: $out" ;;
esac
stop_server lines "$server_pid"
echo "PASS"
