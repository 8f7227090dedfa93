#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# coring-echo-server under a 64-fd limit and a burst of connections beyond it: existing connections keep echoing, no busy loop, and new ones are served once fds free up.
set -uo pipefail

# shellcheck source=tests/echo/lib.bash
. "$(dirname "$0")/echo/lib.bash"

fd_limit=64
burst=150
export ECHOTEST_OP_TIMEOUT=$((20 * slow))

# The limit applies to the server only (a subshell that execs it).
server_under_limit() {
	ulimit -n "$fd_limit" || exit 1
	exec "$server_bin" "$@"
}
rm -f "$tmp/srv.port"
(server_under_limit --port 0 --port-file "$tmp/srv.port" --no-udp >"$tmp/srv.out" 2>"$tmp/srv.err") &
srv_pid=$!
bg_pids+=("$srv_pid")
wait_for "[ -s '$tmp/srv.port' ]" 10 "$srv_pid" || { show srv; fail "the server did not start under ulimit -n $fd_limit"; }
port=$(cat "$tmp/srv.port")

rc=0
timeout -k 5 $((60 * slow)) python3 "$echo_dir/emfile.py" 127.0.0.1 "$port" "$srv_pid" "$burst" 0.5 || rc=$?
if [ "$rc" -ne 0 ]; then
	show srv
	[ "$rc" -eq 124 ] && fail "emfile.py timed out"
	fail "the server did not keep serving at its fd limit"
fi
stop_server srv "$srv_pid"
grep -E 'connections|accept ' "$tmp/srv.err"
grep -qE 'accept +[1-9][0-9]* EMFILE' "$tmp/srv.err" || fail "the server counted no EMFILE failure"
echo "PASS"
