#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# coring-echo-server under the fault injector (CORING_FAULTS, server only), several seeds: 0 corrupted bytes, every failure an error.
set -uo pipefail

# shellcheck source=tests/echo/lib.bash
. "$(dirname "$0")/echo/lib.bash"

grep -q '^CORING_FAULTS:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null ||
	skip "built without the fault injector (CORING_FAULTS=OFF)"

# Seeds come from CORING_FAULT_SEEDS (CI passes several); the rates are fixed.
seeds=${CORING_FAULT_SEEDS:-1 2 3}
seconds=2
export ECHOTEST_OP_TIMEOUT=$((20 * slow))

# run SPEC STRICT: one server under SPEC, a verified load against it.  With STRICT=1
# (no errors injected) every connection must succeed; otherwise connections may fail,
# but only with an error: no corrupted or unexpected byte, no clean end before the echo.
run() {
	local spec=$1 strict=$2 rc=0
	CORING_FAULTS=$spec start_server srv --no-udp --threads 1
	note "CORING_FAULTS=$spec: server pid $server_pid port $server_port"
	"$client_bin" --connect "127.0.0.1:$server_port" --connections 50 --duration "$seconds" \
		--size 1-256k --pipeline 4 --grace $((10 * slow)) --json --quiet \
		>"$tmp/load.out" 2>"$tmp/load.err" || rc=$?
	sanitizer_check "$tmp/load.err" "$tmp/srv.err"
	[ "$rc" -le 1 ] || { show load; fail "CORING_FAULTS=$spec: the client exited with $rc"; }
	python3 - "$tmp/load.out" "$strict" "$spec" <<'PY' || { show load; show srv; fail "CORING_FAULTS=$spec: bad report"; }
import json, sys
r = json.load(open(sys.argv[1]))
strict, spec = sys.argv[2] == '1', sys.argv[3]
keys = ('corrupted_bytes', 'unexpected_bytes', 'closed_early')
if strict:
    keys += ('errors', 'connections_failed', 'unanswered_messages')
bad = {k: r[k] for k in keys if r[k] != 0}
if bad or r['messages'] <= 0 or (strict and not r['ok']):
    sys.exit('CORING_FAULTS=%s: ok=%s, %d messages, nonzero: %s' % (spec, r['ok'], r['messages'], bad))
print('  %d messages, %d connections ok, %d failed with an error, 0 corrupted bytes'
      % (r['messages'], r['connections_ok'], r['connections_failed']))
PY
	# Still serving (a connection without faults of its own may still meet one).
	is_running "$server_pid" || { show srv; fail "CORING_FAULTS=$spec: the server died"; }
	stop_server srv "$server_pid"
}

for seed in $seeds; do
	run "$seed:0.05:snd" 1 # short transfers, dry buffer rings, delays: nothing may fail
	run "$seed:0.001" 0    # and errors
done
echo "PASS"
