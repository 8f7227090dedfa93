#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# coring-echo-server under verified load (100 connections, 1 B..256 KiB, pipelined) next to clients that half-close, reset and never read: zero corrupted bytes, still serving, bounded memory.
set -uo pipefail

# shellcheck source=tests/echo/lib.bash
. "$(dirname "$0")/echo/lib.bash"

seconds=3
rss_limit_mb=256
[ -n "$sanitize" ] && rss_limit_mb=1024 # shadow memory and the allocator's quarantine
export ECHOTEST_OP_TIMEOUT=$((20 * slow))

start_server srv --no-udp
srv_pid=$server_pid port=$server_port
note "coring-echo-server pid $srv_pid on port $port"

start_bg load "$client_bin" --connect "127.0.0.1:$port" --connections 100 --duration "$seconds" \
	--size 1-256k --pipeline 4 --grace $((20 * slow)) --json --quiet
load_pid=$bg_pid
start_bg abuse python3 "$echo_dir/abuse.py" 127.0.0.1 "$port" "$seconds"
abuse_pid=$bg_pid

rc=0
wait_exit "$load_pid" $((seconds + 40)) || rc=$?
[ "$rc" -ne 124 ] || { show load; fail "coring-echo-client (load) did not finish"; }
sanitizer_check "$tmp/load.err"
[ "$rc" -eq 0 ] || { show load; fail "coring-echo-client (load) exited with status $rc"; }
python3 - "$tmp/load.out" <<'PY' || { show load; fail "the load report shows errors"; }
import json, sys
r = json.load(open(sys.argv[1]))
bad = {k: r[k] for k in ('corrupted_bytes', 'unexpected_bytes', 'errors', 'connections_failed',
                         'connections_not_closed', 'unanswered_messages', 'closed_early')
       if r[k] != 0}
# (On a badly overloaded machine some connections may not get to connect within the
# duration; the client counts them as connections_not_started, neither ok nor failed,
# and they do not change its exit status.  Not a failure here.)
if not r['ok'] or bad or r['messages'] <= 0 or r['connections_ok'] <= 0:
    sys.exit('load report: ok=%s, %d messages, %d connections ok, nonzero: %s'
             % (r['ok'], r['messages'], r['connections_ok'], bad))
print('load: %d connections, %d messages (%.0f/s), %.1f MB/s each way, p99 %.2f ms, '
      '0 corrupted bytes' % (r['connections_ok'], r['messages'], r['messages_per_s'],
                             r['mb_per_s_received'], r['latency_ns']['p99'] / 1e6))
PY

rc=0
wait_exit "$abuse_pid" 60 || rc=$?
[ "$rc" -ne 124 ] || { show abuse; fail "the abusive clients did not finish"; }
[ "$rc" -eq 0 ] || { show abuse; fail "an abusive client's check failed (status $rc)"; }
note "abusive clients: $(cat "$tmp/abuse.out")"

# Still alive and serving, with bounded memory.
is_running "$srv_pid" || { show srv; fail "the server died"; }
out=$(timeout -k 5 $((20 * slow)) "$client_bin" --connect "127.0.0.1:$port" 2>"$tmp/final.err") ||
	{ cat "$tmp/final.err"; fail "a last client after the load failed: status $?"; }
[ "$out" = "This is the message. It will be sent in parts." ] ||
	fail "a last client after the load got '$out' back"
timeout -k 5 $((20 * slow)) python3 "$echo_dir/rawclient.py" 127.0.0.1 "$port" random:300000:5 ||
	fail "a last 300000-byte exchange after the load failed"
rss=$(rss_kb "$srv_pid")
note "server RSS after the load: $((rss / 1024)) MB (bound $rss_limit_mb MB)"
[ "$rss" -lt $((rss_limit_mb * 1024)) ] || fail "server RSS $((rss / 1024)) MB is over $rss_limit_mb MB"

stop_server srv "$srv_pid"
grep -A4 'totals after' "$tmp/srv.err"
sanitizer_check "$tmp/final.err"

# Clients that never read, enough to hold every receive buffer of a small pool
# (64 buffers, --max-held 4 each: 16 such clients would): a new client must still be
# served, because a connection whose client does not read moves its data out of the pool.
start_server starve --no-udp --threads 1 --buffers 64 --max-held 4
starve_pid=$server_pid
rc=0
timeout -k 5 $((90 * slow)) python3 "$echo_dir/starve.py" 127.0.0.1 "$server_port" 40 || rc=$?
[ "$rc" -eq 0 ] || { show starve; fail "clients that never read starve the others (status $rc)"; }
stop_server starve "$starve_pid"
echo "PASS"
