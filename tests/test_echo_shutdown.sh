#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SIGTERM while clients stream: new connections are refused, every byte sent before each client's half-close comes back inside the grace period, exit 0 with totals; the grace period's end and a second signal cut what is left.
set -uo pipefail

# shellcheck source=tests/echo/lib.bash
. "$(dirname "$0")/echo/lib.bash"

clients=16
export ECHOTEST_OP_TIMEOUT=$((20 * slow))

# refused_check PORT: every address the server listened on (its stdout) refuses
# connections within a bounded time; connections that still got in are closed.
refused_check() {
	python3 - "$tmp/srv.out" "$ECHOTEST_OP_TIMEOUT" <<'PY'
import re, socket, sys, time
addrs = re.findall(r'^listening on (\S+) \(tcp', open(sys.argv[1]).read(), re.M)
if not addrs:
    sys.exit('no "listening on" line in the server output')
for a in addrs:
    host, port = a.rsplit(':', 1)
    host = host.strip('[]')
    deadline, got_in = time.monotonic() + float(sys.argv[2]), 0
    while True:
        try:
            s = socket.create_connection((host, int(port)), timeout=5)
            s.close()
            got_in += 1
        except ConnectionRefusedError:
            break
        except OSError as e:
            if e.errno == 99 and ':' in host:  # no IPv6 loopback here
                break
            raise
        if time.monotonic() > deadline:
            sys.exit('%s still accepts connections after SIGTERM' % a)
        time.sleep(0.02)
    print('%s refuses connections (%d got in before the listener closed)' % (a, got_in))
PY
}

# totals NAME FIELD: prints a number from the server's totals (in|out|cut|errors|ended).
totals() {
	case $2 in
	in) sed -nE 's/^ +stream +([0-9]+) bytes in.*/\1/p' "$tmp/$1.err" ;;
	out) sed -nE 's/^ +stream .* ([0-9]+) bytes out.*/\1/p' "$tmp/$1.err" ;;
	cut) sed -nE 's/.* ([0-9]+) cut after the grace period.*/\1/p' "$tmp/$1.err" ;;
	errors) sed -nE 's/.* ([0-9]+) errors, [0-9]+ idle.*/\1/p' "$tmp/$1.err" ;;
	ended) sed -nE 's/.* ([0-9]+) ended by the client.*/\1/p' "$tmp/$1.err" ;;
	esac
}

# ---- 1. streaming clients, SIGTERM, everything echoed within the grace period
start_server srv --no-udp --grace $((30 * slow))
srv_pid=$server_pid port=$server_port
start_bg streamers python3 "$echo_dir/streamers.py" 127.0.0.1 "$port" "$clients" "$tmp/ready" "$tmp/go"
streamers_pid=$bg_pid
wait_for "[ -f '$tmp/ready' ]" 20 "$streamers_pid" || { show streamers; fail "the streaming clients did not get going"; }
kill -TERM "$srv_pid"
wait_for "grep -q 'stopped accepting' '$tmp/srv.err'" 10 "$srv_pid" ||
	{ show srv; fail "the server did not announce the stop after SIGTERM"; }
refused_check || { show srv; fail "new connections are not refused after SIGTERM"; }
is_running "$srv_pid" || { show srv; fail "the server exited while clients were still streaming"; }
touch "$tmp/go"
rc=0
wait_exit "$streamers_pid" 60 || rc=$?
[ "$rc" -eq 0 ] || { show streamers; show srv; fail "the streaming clients did not get every byte back (status $rc)"; }
sent=$(sed -n 's/^total //p' "$tmp/streamers.out")
rc=0
wait_exit "$srv_pid" 20 || rc=$?
[ "$rc" -ne 124 ] || { show srv; fail "the server did not exit once its connections ended"; }
[ "$rc" -eq 0 ] || { show srv; fail "the server exited with status $rc after SIGTERM"; }
sanitizer_check "$tmp/srv.err"
grep -A4 'totals after' "$tmp/srv.err" || fail "no totals printed"
{ [ "$(totals srv in)" = "$sent" ] && [ "$(totals srv out)" = "$sent" ]; } ||
	fail "the totals do not show the $sent bytes the clients sent, in and out"
{ [ "$(totals srv cut)" = 0 ] && [ "$(totals srv errors)" = 0 ]; } ||
	fail "connections cut or failed during the grace period"
[ "$(totals srv ended)" -ge "$clients" ] || fail "fewer than $clients connections ended by the client"
note "ok: $clients clients streaming at SIGTERM got all $sent bytes back; new connections refused"

# ---- 2. connections still open when the grace period ends are cut, the server exits 0:
# one idle, one the server is blocked sending to (it never reads)
start_server srv2 --no-udp --grace 0.5
srv2_pid=$server_pid
start_bg holder2 python3 "$echo_dir/holder.py" 127.0.0.1 "$server_port" "$tmp/held2"
holder2_pid=$bg_pid
start_bg pusher2 python3 "$echo_dir/holder.py" 127.0.0.1 "$server_port" "$tmp/pushed2" push
pusher2_pid=$bg_pid
wait_for "[ -f '$tmp/held2' ] && [ -f '$tmp/pushed2' ]" 20 ||
	{ show holder2; show pusher2; fail "the holding clients did not start"; }
kill -TERM "$srv2_pid"
rc=0
wait_exit "$srv2_pid" 20 || rc=$?
[ "$rc" -eq 0 ] || { show srv2; fail "after the grace period: server status $rc"; }
sanitizer_check "$tmp/srv2.err"
[ "$(totals srv2 cut)" = 2 ] || { show srv2; fail "the held connections were not counted as cut"; }
wait_exit "$holder2_pid" 20 || { show holder2; fail "the idle connection was not ended by the server"; }
wait_exit "$pusher2_pid" 20 || { show pusher2; fail "the non-reading connection was not ended by the server"; }
note "ok: connections held past the grace period were cut (idle: $(cat "$tmp/holder2.out"), not reading: $(cat "$tmp/pusher2.out"))"

# ---- 3. a second signal ends the grace period at once
start_server srv3 --no-udp --grace $((600 * slow))
srv3_pid=$server_pid
start_bg holder3 python3 "$echo_dir/holder.py" 127.0.0.1 "$server_port" "$tmp/held3"
holder3_pid=$bg_pid
wait_for "[ -f '$tmp/held3' ]" 20 "$holder3_pid" || { show holder3; fail "the holding client did not start"; }
kill -TERM "$srv3_pid"
wait_for "grep -q 'stopped accepting' '$tmp/srv3.err'" 10 "$srv3_pid" || { show srv3; fail "no stop announced"; }
kill -INT "$srv3_pid"
rc=0
wait_exit "$srv3_pid" 20 || rc=$?
[ "$rc" -eq 0 ] || { show srv3; fail "after a second signal: server status $rc (124: did not end the grace period)"; }
sanitizer_check "$tmp/srv3.err"
[ "$(totals srv3 cut)" = 1 ] || { show srv3; fail "the held connection was not counted as cut"; }
wait_exit "$holder3_pid" 20 || { show holder3; fail "the held connection was not ended by the server"; }
note "ok: a second signal cut the held connection at once ($(cat "$tmp/holder3.out"))"
echo "PASS"
