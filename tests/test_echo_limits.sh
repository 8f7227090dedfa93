#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# coring-echo-server's limits with small values: a once-stalled client's copy is freed when it drains, the send and idle timeouts and the held-bytes budget cut with a reset (never a clean end).
set -uo pipefail

# shellcheck source=tests/echo/lib.bash
. "$(dirname "$0")/echo/lib.bash"

export ECHOTEST_OP_TIMEOUT=$((10 * slow))

# limit NAME FIELD: a number from the "limits" line of server NAME's totals.
limit() {
	case $2 in
	send) sed -nE 's/^ +limits +([0-9]+) send timeouts.*/\1/p' "$tmp/$1.err" ;;
	held) sed -nE 's/^ +limits .* ([0-9]+) cut over --max-held-bytes.*/\1/p' "$tmp/$1.err" ;;
	peak) sed -nE 's/^ +limits .* peaked at ([0-9]+) bytes.*/\1/p' "$tmp/$1.err" ;;
	idle) sed -nE 's/.* ([0-9]+) idle timeouts.*/\1/p' "$tmp/$1.err" ;;
	esac
}

# run_client NAME SECONDS COMMAND...: runs a client (bounded), fails the test on error.
run_client() {
	local name=$1 secs=$2 rc=0
	shift 2
	timeout -k 5 $((secs * slow)) "$@" >"$tmp/$name.out" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] || { cat "$tmp/$name.out" >&2; show srv; fail "$name: status $rc"; }
}

# ---- 1. clients that stalled once and read again hold no copy afterwards
# 24 clients stall in groups of 6 (a copy of up to 128 KiB each) and then read their echo
# back and stay idle.  Kept copies would add up to over 3 MiB: past the 1.5 MiB budget,
# clients would be reset, and the peak would show it.
budget=$((1536 * 1024))
start_server srv --threads 1 --no-udp --send-timeout 0 --max-held-bytes "$budget"
run_client drain 120 python3 "$echo_dir/stall_drain.py" 127.0.0.1 "$server_port" 24 6
stop_server srv "$server_pid"
peak=$(limit srv peak)
[ "$(limit srv held)" = 0 ] || fail "clients that read again were cut over --max-held-bytes"
[ -n "$peak" ] && [ "$peak" -le "$budget" ] ||
	fail "unsent echo of once-stalled clients peaked at '$peak' bytes (6 stall at once: at most $budget)"
note "ok: $(cat "$tmp/drain.out"); held bytes peaked at $peak bytes"

# ---- 2. a client that does not read is reset after --send-timeout
start_server srv --threads 1 --no-udp --send-timeout 1
run_client push 60 python3 "$echo_dir/pushreset.py" 127.0.0.1 "$server_port" 1 $((3 * slow))
stop_server srv "$server_pid"
[ "$(cat "$tmp/push.out")" = "reset 1 eof 0 open 0" ] ||
	fail "a client that did not read for the send timeout: $(cat "$tmp/push.out")"
[ "$(limit srv send)" = 1 ] || fail "the send timeout was not counted"
note "ok: --send-timeout 1 reset the client that did not read"

# ---- 3. an idle client is reset after --idle-timeout
start_server srv --threads 1 --no-udp --idle-timeout 0.5
run_client idle 60 python3 "$echo_dir/holder.py" 127.0.0.1 "$server_port" "$tmp/idle.ready"
stop_server srv "$server_pid"
[ "$(cat "$tmp/idle.out")" = "ended: reset" ] || fail "idle timeout: $(cat "$tmp/idle.out")"
[ "$(limit srv idle)" = 1 ] || fail "the idle timeout was not counted"
note "ok: --idle-timeout 0.5 reset the idle client"

# ---- 4. over --max-held-bytes the largest holders are reset; the rest stay
# Four non-readers with a copy of up to 128 KiB each and a budget of 200 KiB.
start_server srv --threads 1 --no-udp --send-timeout 0 --max-held-bytes 200k
run_client held 60 python3 "$echo_dir/pushreset.py" 127.0.0.1 "$server_port" 4 1
stop_server srv "$server_pid"
read -r _ resets _ eofs _ open <"$tmp/held.out"
[ "$eofs" = 0 ] || fail "a connection cut over the budget was closed cleanly: $(cat "$tmp/held.out")"
[ "$resets" -ge 1 ] && [ "$open" -ge 1 ] ||
	fail "over --max-held-bytes 200k with 4 non-readers: $(cat "$tmp/held.out") (some cut, some kept)"
[ "$(limit srv held)" = "$resets" ] || fail "$(limit srv held) cuts counted, $resets resets seen"
note "ok: --max-held-bytes 200k with 4 non-readers: $(cat "$tmp/held.out")"
echo "PASS"
