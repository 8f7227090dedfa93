#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 10,000 idle connections held open while 50 connections of verified load run: the load sees zero errors and every idle connection still echoes; reports the server's memory per idle connection.
set -uo pipefail

# shellcheck source=tests/echo/lib.bash
. "$(dirname "$0")/echo/lib.bash"

idle=${ECHOTEST_IDLE:-10000}
need=$((idle + 256))
per_conn_limit_kb=64 # generous: a parked task and a socket, no buffers
[ -n "$sanitize" ] && per_conn_limit_kb=512
export ECHOTEST_OP_TIMEOUT=$((20 * slow))

hard=$(ulimit -Hn)
if [ "$hard" = unlimited ]; then
	ulimit -n $((need * 2)) 2>/dev/null || ulimit -n "$need" || skip "cannot raise the fd limit to $need"
else
	[ "$hard" -ge "$need" ] || skip "the fd hard limit $hard is below the $need this test needs (ulimit -Hn)"
	ulimit -n "$hard" || skip "cannot raise the fd limit to $hard"
fi

start_server srv --no-udp
srv_pid=$server_pid port=$server_port
sleep 0.2 # let the workers' first allocations settle before the baseline
fds0=$(fd_count "$srv_pid") rss0=$(rss_kb "$srv_pid")

start_bg idle python3 "$echo_dir/idle.py" 127.0.0.1 "$port" "$idle" "$tmp/ready" "$tmp/go"
idle_pid=$bg_pid
wait_for "[ -f '$tmp/ready' ]" 120 "$idle_pid" || { show idle; show srv; fail "the idle connections were not all made"; }
wait_for "[ \$(fd_count $srv_pid) -ge $((fds0 + idle)) ]" 60 "$srv_pid" ||
	{ show srv; fail "the server holds $(($(fd_count "$srv_pid") - fds0)) of the $idle connections"; }
rss1=$(rss_kb "$srv_pid")
per_conn=$(((rss1 - rss0) * 1024 / idle))
note "$(head -n 1 "$tmp/idle.out"); server: $(fd_count "$srv_pid") fds, RSS $((rss0 / 1024)) MB -> $((rss1 / 1024)) MB: $per_conn bytes per idle connection"

rc=0
timeout -k 5 $((60 * slow)) "$client_bin" --connect "127.0.0.1:$port" --connections 50 --duration 2 \
	--size 1-64k --pipeline 2 --grace $((20 * slow)) --json --quiet >"$tmp/load.out" 2>"$tmp/load.err" || rc=$?
sanitizer_check "$tmp/load.err"
[ "$rc" -eq 0 ] || { show load; fail "the load next to $idle idle connections failed (status $rc)"; }
python3 - "$tmp/load.out" <<'PY' || { show load; fail "the load report shows errors"; }
import json, sys
r = json.load(open(sys.argv[1]))
bad = {k: r[k] for k in ('corrupted_bytes', 'unexpected_bytes', 'errors', 'connections_failed',
                         'unanswered_messages', 'closed_early') if r[k] != 0}
if not r['ok'] or bad or r['messages'] <= 0:
    sys.exit('load report: ok=%s, %d messages, nonzero: %s' % (r['ok'], r['messages'], bad))
print('load next to the idle connections: %d messages (%.0f/s), p99 %.2f ms, 0 errors'
      % (r['messages'], r['messages_per_s'], r['latency_ns']['p99'] / 1e6))
PY

touch "$tmp/go"
rc=0
wait_exit "$idle_pid" 120 || rc=$?
[ "$rc" -eq 0 ] || { show idle; show srv; fail "the idle connections did not all echo (status $rc)"; }
tail -n 1 "$tmp/idle.out"
[ "$per_conn" -le $((per_conn_limit_kb * 1024)) ] ||
	fail "$per_conn bytes of server memory per idle connection (bound $per_conn_limit_kb KiB)"
stop_server srv "$srv_pid"
grep -A1 'totals after' "$tmp/srv.err"
echo "PASS"
