#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# coring-echo-client's verdicts: a server that echoes but never closes fails both modes (exit 3, bounded in time); connections the run ended before they started are "not started", not failed.
set -uo pipefail

# shellcheck source=tests/echo/lib.bash
. "$(dirname "$0")/echo/lib.bash"

t=$((20 * slow))
greeting='This is the message. It will be sent in parts.'

# json_check FILE PYTHON-EXPRESSION MESSAGE: fails unless the expression holds for the
# JSON report r in FILE.
json_check() {
	python3 - "$1" "$2" <<'PY' || { cat "$1" >&2; fail "$3"; }
import json, sys
r = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2], {'r': r}) else 1)
PY
}

# A server that echoes every byte and never ends its stream.
start_bg nc python3 "$echo_dir/noclose.py" "$tmp/nc.port" $((60 * slow))
nc_pid=$bg_pid
wait_for "[ -s '$tmp/nc.port' ]" 10 "$nc_pid" || { show nc; fail "noclose.py did not start"; }
nc_port=$(cat "$tmp/nc.port")

# (1) Message mode without --timeout gives up after its default (10 s) instead of
# waiting forever; runs in the background while the rest goes on.
start_bg default "$client_bin" --connect "127.0.0.1:$nc_port"
default_pid=$bg_pid
default_start=$SECONDS

# (2) Message mode with --timeout 1: the echo is printed, then the failure, exit 3.
rc=0
start=$SECONDS
timeout -k 5 "$t" "$client_bin" --connect "127.0.0.1:$nc_port" --timeout 1 \
	>"$tmp/mm.out" 2>"$tmp/mm.err" || rc=$?
[ "$rc" -eq 3 ] || { show mm; fail "message mode against a server that never closes: status $rc, expected 3"; }
[ $((SECONDS - start)) -le $((5 * slow)) ] || fail "message mode --timeout 1 took $((SECONDS - start)) s"
printf '%s' "$greeting" | cmp -s - "$tmp/mm.out" || { show mm; fail "message mode did not print the echo"; }
grep -q 'did not end its stream within --timeout' "$tmp/mm.err" ||
	{ show mm; fail "message mode did not say that the server did not close"; }
note "ok (2) message mode --timeout 1 against a server that never closes: exit 3 after $((SECONDS - start)) s"

# (3) Load mode: every echo checked, but no end of stream within --grace: exit 3,
# reported as "not closed" (and not as ok).
rc=0
timeout -k 5 "$t" "$client_bin" --connect "127.0.0.1:$nc_port" --connections 3 --duration 0.3 \
	--grace 1 --json --quiet >"$tmp/ld.out" 2>"$tmp/ld.err" || rc=$?
[ "$rc" -eq 3 ] || { show ld; fail "load mode against a server that never closes: status $rc, expected 3"; }
json_check "$tmp/ld.out" "r['connections_not_closed'] == 3 and r['connections_ok'] == 0 and \
not r['ok'] and r['exit_status'] == 3 and r['messages'] > 0 and r['errors'] == 0 and \
r['corrupted_bytes'] == 0 and r['connections_failed'] == 0" "load mode: wrong report for a server that never closes"
grep -q 'did not close the connection within the grace period' "$tmp/ld.err" ||
	{ show ld; fail "load mode did not say that the server did not close"; }
note "ok (3) load mode against a server that never closes: 3 connections not closed, exit 3"

# (4) The same against coring-echo-server, which closes: exit 0, nothing "not closed".
start_server srv --no-udp --threads 1
srv_pid=$server_pid srv_port=$server_port
out=$(timeout -k 5 "$t" "$client_bin" --connect "127.0.0.1:$srv_port" --timeout 1 2>"$tmp/ok.err") ||
	{ cat "$tmp/ok.err"; fail "message mode against coring-echo-server: status $?"; }
[ "$out" = "$greeting" ] || fail "message mode against coring-echo-server printed '$out'"
timeout -k 5 "$t" "$client_bin" --connect "127.0.0.1:$srv_port" --connections 3 --duration 0.3 \
	--grace "$t" --json --quiet >"$tmp/lok.out" 2>"$tmp/lok.err" ||
	{ show lok; fail "load mode against coring-echo-server: status $?"; }
json_check "$tmp/lok.out" "r['ok'] and r['exit_status'] == 0 and r['connections_ok'] == 3 and \
r['connections_not_closed'] == 0" "load mode against coring-echo-server: wrong report"
note "ok (4) against coring-echo-server: both modes exit 0"

# (5) Many connections, a run too short to start them all: those that did not start
# are "not started" (neither ok nor failed), with a warning, and the exit status is 0.
n=3000
ulimit -n "$(ulimit -Hn)" 2>/dev/null
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((n + 200)) ]; then
	note "skipped (5): RLIMIT_NOFILE $(ulimit -n) is below $((n + 200))"
else
	rc=0
	timeout -k 5 $((60 * slow)) "$client_bin" --connect "127.0.0.1:$srv_port" --threads 1 \
		--connections $n --duration $((10 * slow))ms --grace "$t" --json --quiet \
		>"$tmp/ns.out" 2>"$tmp/ns.err" || rc=$?
	sanitizer_check "$tmp/ns.err"
	[ "$rc" -eq 0 ] || { show ns; fail "a run with connections that did not start: status $rc, expected 0"; }
	json_check "$tmp/ns.out" "r['ok'] and r['connections_failed'] == 0 and r['errors'] == 0 and \
r['connect_errors'] == 0 and r['connections_not_started'] > 0 and r['connections_ok'] > 0 and \
r['connections_ok'] + r['connections_not_started'] == $n" \
		"the connections that did not start are not reported as such"
	if python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(r["connections_not_started"] * 10 <= r["connections"])' "$tmp/ns.out"; then
		grep -q 'warning: .* did not start before the run ended' "$tmp/ns.err" ||
			{ show ns; fail "no warning for the connections that did not start"; }
	fi
	note "ok (5) $(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("%d connections ok, %d not started, exit 0" % (r["connections_ok"], r["connections_not_started"]))' "$tmp/ns.out")"
fi
stop_server srv "$srv_pid"

# (6) --timeout belongs to message mode; --help documents the exit statuses.
rc=0
"$client_bin" --load --timeout 1 >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "--timeout with load mode: status $rc, expected 2 (usage)"
"$client_bin" --help | grep -q '^  3  ' || fail "--help does not explain exit status 3"

# (1) continued: the default timeout ended the client, with status 3.
rc=0
wait_exit "$default_pid" $((30 * slow)) || rc=$?
[ "$rc" -ne 124 ] || fail "message mode without --timeout still waits for a server that never closes"
[ "$rc" -eq 3 ] || { show default; fail "message mode with the default timeout: status $rc, expected 3"; }
grep -q 'within --timeout (10 s)' "$tmp/default.err" || { show default; fail "no timeout message"; }
note "ok (1) message mode's default timeout ended the wait after $((SECONDS - default_start)) s, exit 3"
sanitizer_check "$tmp"/*.err
echo "PASS"
