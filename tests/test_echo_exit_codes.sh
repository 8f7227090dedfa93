#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# coring-echo-server's exit statuses and messages: signalfd denied (1, before any address is printed), a --port-file that cannot be written (1, the path and the reason), --port-file with Unix sockets only (2), --opt=value for every form (2 names the option as written).
set -uo pipefail

# shellcheck source=tests/echo/lib.bash
. "$(dirname "$0")/echo/lib.bash"

# run_server NAME SECONDS ARGS...: runs the server in the foreground (bounded),
# output in $tmp/NAME.out/.err.  Sets rc.
run_server() {
	local name=$1 secs=$2
	shift 2
	rc=0
	timeout -s KILL $((secs * slow)) "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || rc=$?
	sanitizer_check "$tmp/$name.err"
}

# expect NAME STATUS TEXT: the run exited with STATUS and its stderr has TEXT (fixed string).
expect() {
	[ "$rc" -eq "$2" ] || { cat "$tmp/$1.err" >&2; fail "$1: exit status $rc, expected $2"; }
	grep -qF -- "$3" "$tmp/$1.err" || { cat "$tmp/$1.err" >&2; fail "$1: no '$3' on stderr"; }
}

# ---- 1. signalfd denied (seccomp): exit 1 before any address is printed or the port file made
cc=${CORING_CC:-cc}
if "$cc" -O2 -o "$tmp/deny_signalfd" "$echo_dir/deny_signalfd.c" 2>"$tmp/cc.err"; then
	run_server denied 20 "$tmp/deny_signalfd" "$server_bin" --port 0 --port-file "$tmp/denied.port"
	[ "$rc" -ne 77 ] || skip "seccomp filters cannot be installed here: $(cat "$tmp/denied.err")"
	expect denied 1 "cannot wait for signals (signalfd: Operation not permitted)"
	[ ! -s "$tmp/denied.out" ] || fail "signalfd denied, yet the server announced: $(cat "$tmp/denied.out")"
	[ ! -e "$tmp/denied.port" ] || fail "signalfd denied, yet the port file was written"
	! grep -q 'totals after' "$tmp/denied.err" || fail "signalfd denied: totals printed as if it had served"
	note "ok: signalfd denied: exit 1 before announcing ($(head -1 "$tmp/denied.err"))"
else
	cat "$tmp/cc.err" >&2
	fail "cannot build the seccomp helper with $cc"
fi

# ---- 2. --port-file in a directory that does not exist: the path and the reason, exit 1
run_server nodir 20 "$server_bin" --port 0 --no-udp --port-file "$tmp/nonexistent/x"
expect nodir 1 "cannot write --port-file $tmp/nonexistent/x: No such file or directory"
! grep -q 'Unix sockets' "$tmp/nodir.err" || fail "nodir: the message blames Unix sockets"
[ ! -s "$tmp/nodir.out" ] || fail "nodir: the server announced before failing: $(cat "$tmp/nodir.out")"
note "ok: $(head -1 "$tmp/nodir.err")"

# ---- 3. --port-file with Unix sockets only: usage error, the socket file removed
run_server unixonly 20 "$server_bin" --listen "unix:$tmp/u.sock" --port-file "$tmp/u.port"
expect unixonly 2 "--port-file $tmp/u.port: no TCP port to write"
[ ! -e "$tmp/u.sock" ] || fail "unixonly: the socket file was left behind"
[ ! -e "$tmp/u.port" ] && ! ls "$tmp"/u.port.tmp.* >/dev/null 2>&1 || fail "unixonly: a port file was left"
note "ok: $(head -1 "$tmp/unixonly.err")"

# ---- 4. options: --opt=value works for options with values; options without one
# refuse a value, named as the user wrote them
bad() { # bad NAME TEXT ARGS...: the server refuses ARGS with exit 2 and TEXT
	local name=$1 text=$2
	shift 2
	run_server "$name" 20 "$server_bin" --port 0 --no-udp "$@"
	expect "$name" 2 "$text"
	[ ! -s "$tmp/$name.out" ] || fail "$name: the server started"
}
bad verbose1 "option '--verbose' takes no value (got '--verbose=1')" --verbose=1
! grep -q "'-v'" "$tmp/verbose1.err" || fail "--verbose=1 reported as '-v'"
bad verb1 "option '--verb' takes no value (got '--verb=1')" --verb=1
bad quietyes "option '--quiet' takes no value (got '--quiet=yes')" --quiet=yes
bad udp1 "option '--udp' takes no value (got '--udp=1')" --udp=1
bad ambiguous "ambiguous option '--b'" --b=4
bad unknown "unknown option '--nope'" --nope=3
bad unknown_short "unknown option '-x'" -qx
bad noval "option '--grace' needs a value" --grace
bad nosval "option '-t' needs a value" -t
bad badport "invalid port 'x' (expected 0..65535)" --port=x
bad emptyport "invalid port '' (expected 0..65535)" --port=
note "ok: bad options refused with exit 2, named as written"

# Every option that takes a value, in the --opt=value form (and the prefix form --thr=1).
start_server eq --port=0 --thr=1 --listen=127.0.0.1 --no-udp --backlog=64 --buffers=64 \
	--buffer-size=4k --max-held=2 --max-conns=10 --idle-timeout=30 --grace=0.5 --verbose
python3 "$echo_dir/rawclient.py" 127.0.0.1 "$server_port" every-byte >"$tmp/eq.client" 2>&1 ||
	{ cat "$tmp/eq.client" >&2; fail "--opt=value server: echo failed"; }
grep -q 'starting up on 127.0.0.1' "$tmp/eq.err" || fail "--verbose after --opt=value options: no event log"
stop_server eq "$server_pid"
note "ok: --opt=value forms accepted and applied"

# ---- 5. --help documents every exit status and the signals
"$server_bin" --help >"$tmp/help.out" || fail "--help: status $?"
for s in '  0  stopped by a signal' '  1  serving could not start' '  2  the command line is wrong' \
	'  3  serving began, then waiting for signals failed' 'SIGHUP' 'SIGQUIT' 'SIGUSR1'; do
	grep -qF -- "$s" "$tmp/help.out" || fail "--help does not mention '$s'"
done
note "ok: --help lists the exit statuses and signals"
echo "PASS"
