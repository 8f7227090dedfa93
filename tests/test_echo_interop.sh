#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# coring-echo-server and coring-echo-client against the asyncio reference pair, both ways, byte for byte and log line for log line.
set -uo pipefail

# shellcheck source=tests/echo/lib.bash
. "$(dirname "$0")/echo/lib.bash"

for f in asyncio_echo_server.py asyncio_echo_client.py; do
	[ -f "$ref_dir/$f" ] || fail "missing reference copy $ref_dir/$f"
done
t=$((20 * slow))
messages='This is the message. It will be sent in parts.'
# Messages whose repr needs every rule: quotes of either kind, escapes, non-ASCII.
tricky=("it's" 'say "hi"' "both ' and \"" 'back\slash' $'tab\there\r\n' $'caf\xc3\xa9 \x7f\x01' ' ' '')

start_bg py python3 "$echo_dir/refserver.py" "$ref_dir/asyncio_echo_server.py" "$tmp/py.port"
py_pid=$bg_pid
wait_for "[ -s '$tmp/py.port' ]" 10 "$py_pid" || { show py; fail "the reference server did not start"; }
py_port=$(cat "$tmp/py.port")
start_server cs --verbose
cs_pid=$server_pid cs_port=$server_port

# closings LOG: prints how many connections LOG shows ended (closing or ERROR lines).
closings() { grep -cE '^EchoServer_[^ ]+: (closing|ERROR: .*)$' "$1"; }

# Runs the same clients, in the same order, against server X (py or cs) on PORT, and
# waits after each until the server logged the end of that connection, so that both
# servers' logs list the connections in the same order.
run_clients() {
	local x=$1 port=$2 pid=$3 k=0 rc
	step() {
		k=$((k + 1))
		wait_for "[ \$(closings '$tmp/$x.err') -ge $k ]" 10 "$pid" ||
			{ show "$x"; fail "server $x did not log the end of connection $k"; }
	}
	timeout -k 5 "$t" python3 "$ref_dir/asyncio_echo_client.py" "$port" \
		>"$tmp/ref_$x.out" 2>"$tmp/ref_$x.log" || fail "asyncio_echo_client.py against $x: status $?"
	step
	timeout -k 5 "$t" "$client_bin" --port "$port" >"$tmp/cc_$x.out" 2>"$tmp/cc_$x.err" ||
		{ cat "$tmp/cc_$x.err"; fail "coring-echo-client against $x: status $?"; }
	step
	timeout -k 5 "$t" "$client_bin" --port "$port" --verbose >"$tmp/ccv_$x.out" 2>"$tmp/ccv_$x.log" ||
		{ cat "$tmp/ccv_$x.log"; fail "coring-echo-client --verbose against $x: status $?"; }
	step
	timeout -k 5 "$t" "$client_bin" --port "$port" -- "${tricky[@]}" >"$tmp/cct_$x.out" 2>"$tmp/cct_$x.err" ||
		{ cat "$tmp/cct_$x.err"; fail "coring-echo-client (tricky messages) against $x: status $?"; }
	step
	timeout -k 5 "$t" "$client_bin" --port "$port" --verbose -- "${tricky[@]}" \
		>"$tmp/cctv_$x.out" 2>"$tmp/cctv_$x.log" ||
		{ cat "$tmp/cctv_$x.log"; fail "coring-echo-client --verbose (tricky messages) against $x: status $?"; }
	step
	for kind in every-byte quotes random:65536:7 'quotes --reset'; do
		rc=0
		# shellcheck disable=SC2086 # kind holds the options
		timeout -k 5 "$t" python3 "$echo_dir/rawclient.py" localhost "$port" $kind || rc=$?
		[ "$rc" -eq 0 ] || fail "rawclient.py $kind against $x: status $rc"
		step
	done
}

run_clients py "$py_port" "$py_pid"
run_clients cs "$cs_port" "$cs_pid"
note "reference server on port $py_port, coring-echo-server on port $cs_port: 9 clients each"

# (a) coring-echo-client against the reference server.
for x in py cs; do
	printf '%s' "$messages" | cmp -s - "$tmp/cc_$x.out" ||
		fail "coring-echo-client against $x printed '$(cat "$tmp/cc_$x.out")', expected '$messages'"
	printf '%s' "${tricky[@]}" | cmp -s - "$tmp/cct_$x.out" ||
		fail "coring-echo-client (tricky messages) against $x did not print the messages back exactly"
	for f in cc_$x.err cct_$x.err ccv_$x.out cctv_$x.out; do
		[ ! -s "$tmp/$f" ] || { cat "$tmp/$f"; fail "unexpected output in $f"; }
	done
done
python3 "$echo_dir/logcmp.py" client "$tmp/ref_py.log" "$tmp/ccv_py.log" ||
	fail "(a) coring-echo-client --verbose does not log what asyncio_echo_client.py logs (reference server)"
python3 "$echo_dir/logcmp.py" client "$tmp/ref_py.log" "$tmp/cctv_py.log" --messages "${tricky[@]}" ||
	fail "(a) coring-echo-client --verbose with other messages does not log what asyncio would"
note "ok (a) coring-echo-client against the reference server: output and log identical"

# (b) The reference client against coring-echo-server logs what it logs against its own.
python3 "$echo_dir/logcmp.py" client "$tmp/ref_py.log" "$tmp/ref_cs.log" --any-port ||
	fail "(b) asyncio_echo_client.py logs differently against coring-echo-server"
python3 "$echo_dir/logcmp.py" client "$tmp/ref_py.log" "$tmp/ccv_cs.log" --any-port ||
	fail "coring-echo-client --verbose against coring-echo-server logs differently"
python3 "$echo_dir/logcmp.py" client "$tmp/ref_py.log" "$tmp/cctv_cs.log" --any-port --messages "${tricky[@]}" ||
	fail "coring-echo-client --verbose (tricky messages) against coring-echo-server logs differently"
note "ok (b) asyncio_echo_client.py against coring-echo-server: log identical"

# (c) coring-echo-server --verbose logs the reference server's events for the same clients.
kill -TERM "$py_pid" 2>/dev/null
stop_server cs "$cs_pid"
python3 "$echo_dir/logcmp.py" server "$tmp/py.err" "$tmp/cs.err" ||
	fail "(c) coring-echo-server --verbose does not log the reference server's events"
note "ok (c) coring-echo-server --verbose: same events as asyncio_echo_server.py for 9 clients (one ends with a reset)"

# (d) Load mode works against the reference server too (any RFC 862 server).
# (its log of every chunk would be tens of MB: not kept)
python3 "$echo_dir/refserver.py" "$ref_dir/asyncio_echo_server.py" "$tmp/py2.port" 2>/dev/null &
bg_pids+=($!)
wait_for "[ -s '$tmp/py2.port' ]" 10 "$!" || fail "the reference server did not start"
timeout -k 5 "$t" "$client_bin" --port "$(cat "$tmp/py2.port")" --connections 4 --duration 0.5 \
	--size 1-2k --pipeline 2 --grace "$t" --json --quiet >"$tmp/load.json" 2>"$tmp/load.err" ||
	{ cat "$tmp/load.err"; fail "coring-echo-client load mode against the reference server: status $?"; }
python3 - "$tmp/load.json" <<'PY' || fail "load mode against the reference server: errors"
import json, sys
r = json.load(open(sys.argv[1]))
if not r['ok'] or r['messages'] <= 0 or r['corrupted_bytes'] or r['errors']:
    sys.exit('report: ok=%s messages=%d corrupted=%d errors=%d'
             % (r['ok'], r['messages'], r['corrupted_bytes'], r['errors']))
print('ok (d) coring-echo-client load mode against the reference server: %d messages verified'
      % r['messages'])
PY
sanitizer_check "$tmp"/cc*_cs.err "$tmp"/cc*_py.err "$tmp"/cc*.log "$tmp/load.err"
echo "PASS"
