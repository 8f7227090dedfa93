#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What each signal does to coring-echo-server, as --help says: SIGUSR1 prints the totals so far and serving goes on; SIGHUP stops gracefully; SIGQUIT cuts every connection at once; all exit 0 with totals and remove the Unix socket file; stop signals at random points of start-up never kill it.
set -uo pipefail

# shellcheck source=tests/echo/lib.bash
. "$(dirname "$0")/echo/lib.bash"

export ECHOTEST_OP_TIMEOUT=$((20 * slow))

# cut_count NAME: the "cut after the grace period" number of the final totals.
cut_count() { sed -nE 's/.* ([0-9]+) cut after the grace period.*/\1/p' "$tmp/$1.err" | tail -1; }

# serve NAME GRACE: a server on 127.0.0.1 and a Unix socket, one idle client holding a
# connection.  Sets pid, port, sock.
serve() {
	sock=$tmp/$1.sock
	start_server "$1" --no-udp --listen 127.0.0.1 --listen "unix:$sock" --grace "$2"
	pid=$server_pid port=$server_port
	[ -S "$sock" ] || fail "$1: no Unix socket at $sock"
	start_bg "$1-holder" python3 "$echo_dir/holder.py" 127.0.0.1 "$port" "$tmp/$1.held"
	wait_for "[ -f '$tmp/$1.held' ]" 20 "$bg_pid" || { show_err "$1-holder"; fail "$1: the holding client did not start"; }
}
show_err() { cat "$tmp/$1.err" "$tmp/$1.out" >&2 2>/dev/null; }

# ended NAME STATUS: the server exited with STATUS, printed totals, removed its socket file.
ended() {
	local rc=0
	wait_exit "$pid" 20 || rc=$?
	[ "$rc" -eq "$2" ] || { show_err "$1"; fail "$1: exit status $rc, expected $2 (124: still running)"; }
	sanitizer_check "$tmp/$1.err"
	grep -q '^coring-echo-server: totals after' "$tmp/$1.err" || { show_err "$1"; fail "$1: no totals"; }
	[ ! -e "$sock" ] || fail "$1: the Unix socket file $sock was left behind"
}

# ---- SIGUSR1: the totals so far, and serving goes on
serve usr1 0.5
kill -USR1 "$pid"
wait_for "grep -q 'SIGUSR1: still serving' '$tmp/usr1.err'" 10 "$pid" || { show_err usr1; fail "SIGUSR1: no totals so far"; }
grep -A1 'SIGUSR1: still serving' "$tmp/usr1.err" | grep -q 'totals after' || fail "SIGUSR1: the totals do not follow"
grep -qE '^  connections 1 accepted' "$tmp/usr1.err" || { show_err usr1; fail "SIGUSR1: the totals do not count the held connection"; }
is_running "$pid" || fail "SIGUSR1 stopped the server"
python3 "$echo_dir/rawclient.py" 127.0.0.1 "$port" every-byte >"$tmp/usr1.client" 2>&1 ||
	{ cat "$tmp/usr1.client" >&2; fail "after SIGUSR1 the server does not echo"; }
kill -USR1 "$pid"
wait_for "[ \$(grep -c 'SIGUSR1: still serving' '$tmp/usr1.err') -ge 2 ]" 10 "$pid" || fail "a second SIGUSR1 printed nothing"
grep -qE '^  connections 2 accepted' "$tmp/usr1.err" || { show_err usr1; fail "the second SIGUSR1 does not count the new connection"; }
! grep -q 'stopped accepting' "$tmp/usr1.err" || fail "SIGUSR1 started a stop"
kill -TERM "$pid"
ended usr1 0
note "ok: SIGUSR1 printed the totals so far twice and the server kept serving"

# ---- SIGHUP: as SIGTERM, a graceful stop; the held connection is cut after the grace period
serve hup 0.5
kill -HUP "$pid"
wait_for "grep -q 'SIGHUP: stopped accepting' '$tmp/hup.err'" 10 "$pid" || { show_err hup; fail "SIGHUP: no graceful stop announced"; }
ended hup 0
[ "$(cut_count hup)" = 1 ] || { show_err hup; fail "SIGHUP: the held connection was not cut after the grace period"; }
note "ok: SIGHUP stopped gracefully, exit 0, socket file removed"

# ---- SIGQUIT: every connection cut at once, even with a long grace period
serve quit $((600 * slow))
t0=$(date +%s%N)
kill -QUIT "$pid"
ended quit 0
ms=$((($(date +%s%N) - t0) / 1000000))
grep -q 'SIGQUIT: stopped accepting; closing every connection now' "$tmp/quit.err" || { show_err quit; fail "SIGQUIT: not announced"; }
[ "$(cut_count quit)" = 1 ] || { show_err quit; fail "SIGQUIT: the held connection was not counted as cut"; }
[ "$ms" -lt $((10000 * slow)) ] || fail "SIGQUIT took $ms ms: it waited for the grace period"
wait_exit "$bg_pid" 20 || { show_err quit-holder; fail "SIGQUIT: the held connection was not ended"; }
note "ok: SIGQUIT cut the held connection in $ms ms ($(cat "$tmp/quit-holder.out")), exit 0, socket file removed"

# ---- SIGTERM then SIGQUIT during the grace period: cut at once
serve termquit $((600 * slow))
kill -TERM "$pid"
wait_for "grep -q 'SIGTERM: stopped accepting' '$tmp/termquit.err'" 10 "$pid" || fail "SIGTERM: not announced"
kill -QUIT "$pid"
ended termquit 0
grep -q 'SIGQUIT again: closing every connection now' "$tmp/termquit.err" || { show_err termquit; fail "SIGQUIT in the grace period: not announced"; }
note "ok: SIGQUIT during the grace period cut the rest"

# ---- stop signals at random points of start-up: never a death by signal
python3 "$echo_dir/startup_signals.py" "$server_bin" "$tmp" 20 $((20 * slow)) >"$tmp/startup.out" 2>&1 ||
	{ cat "$tmp/startup.out" >&2; fail "a signal during start-up was not handled as documented"; }
sanitizer_check "$tmp"/start*.err
note "ok: 20 signals at random points of start-up and 5 pending at exec: each exit 0 with totals, no socket file left"
echo "PASS"
