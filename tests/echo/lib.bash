# SPDX-License-Identifier: MIT
# Sourced by tests/test_echo_*.sh: paths, skip/fail, process bookkeeping and server start/stop.
# Expects "$@" = <build-dir> <source-dir>.  Every process started through these helpers
# is killed when the script exits; every wait is bounded.

build=${1:?usage: $0 <build-dir> <source-dir>}
src=${2:?usage: $0 <build-dir> <source-dir>}
server_bin=$build/tools/echo_server/coring-echo-server
client_bin=$build/tools/echo_client/coring-echo-client
echo_dir=$src/tests/echo
# shellcheck disable=SC2034 # used by the scripts that source this file
ref_dir=$echo_dir/reference

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "$*"; }

[ -x "$server_bin" ] || skip "$server_bin not built (CORING_BUILD_TOOLS=OFF?)"
[ -x "$client_bin" ] || skip "$client_bin not built (CORING_BUILD_TOOLS=OFF?)"
command -v python3 >/dev/null 2>&1 || skip "python3 not found"
python3 -c 'import asyncio, selectors, json' 2>/dev/null || skip "python3 lacks asyncio/selectors/json"

# Sanitizer trees: strict settings unless the caller chose some; waits get longer.
sanitize=
[ -f "$build/CMakeCache.txt" ] && sanitize=$(sed -n 's/^CORING_SANITIZE:[A-Z]*=//p' "$build/CMakeCache.txt")
slow=1
if [ -n "$sanitize" ]; then
	slow=3
	case ${ASAN_OPTIONS:-} in *detect_leaks=*) ;; *) export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1" ;; esac
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi

export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in the source tree
tmp=$(mktemp -d "${TMPDIR:-/tmp}/coring-echotest.XXXXXX")
bg_pids=()

# Kills every process still running from bg_pids (TERM, then KILL), removes $tmp.
cleanup() {
	local pid alive=()
	for pid in "${bg_pids[@]}"; do
		kill -0 "$pid" 2>/dev/null && { kill -TERM "$pid" 2>/dev/null; alive+=("$pid"); }
	done
	if [ ${#alive[@]} -gt 0 ]; then
		sleep 0.3
		for pid in "${alive[@]}"; do kill -KILL "$pid" 2>/dev/null; done
	fi
	wait 2>/dev/null
	if [ -n "${ECHOTEST_KEEP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM # runs cleanup too

# is_running PID: returns 0 while PID runs (a zombie does not count).
is_running() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# wait_exit PID SECONDS: waits for the background process PID to end, at most SECONDS
# (times the sanitizer factor).  Returns its exit status, or 124 on timeout.
wait_exit() {
	local pid=$1 ticks=$(($2 * 20 * slow)) rc=0
	while is_running "$pid"; do
		ticks=$((ticks - 1))
		[ "$ticks" -gt 0 ] || return 124
		sleep 0.05
	done
	wait "$pid" || rc=$?
	return "$rc"
}

# wait_for CONDITION-COMMAND SECONDS [PID]: polls until the command succeeds, at most
# SECONDS (times the sanitizer factor); stops early if PID is given and has ended.
# Returns 0 or 1.
wait_for() {
	local cond=$1 ticks=$(($2 * 20 * slow)) pid=${3:-}
	until eval "$cond"; do
		ticks=$((ticks - 1))
		[ "$ticks" -gt 0 ] || return 1
		[ -z "$pid" ] || is_running "$pid" || { eval "$cond"; return; }
		sleep 0.05
	done
}

sanitizer_re='ERROR: [A-Za-z]+Sanitizer|runtime error:|SUMMARY: [A-Za-z]+Sanitizer|Sanitizer has encountered a fatal error|Sanitizer:DEADLYSIGNAL'

# sanitizer_check FILE...: fails if a sanitizer reported anything in the files.
sanitizer_check() {
	local f
	for f in "$@"; do
		[ -f "$f" ] || continue
		if grep -qE "$sanitizer_re" "$f"; then
			echo "---- sanitizer report in $f:" >&2
			grep -A40 -E "$sanitizer_re" "$f" | head -80 >&2
			fail "sanitizer report in $(basename "$f")"
		fi
	done
}

# rss_kb PID: prints the resident set size of PID in kB.
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# fd_count PID: prints how many file descriptors PID has open.
fd_count() { local a=("/proc/$1/fd"/*); echo "${#a[@]}"; }

# start_server NAME [OPTIONS...]: starts coring-echo-server on an ephemeral port with
# stdout/stderr in $tmp/NAME.out/.err; waits for its port file.  Sets server_pid and
# server_port.  Fails the test if it does not start.
start_server() {
	local name=$1
	shift
	rm -f "$tmp/$name.port"
	"$server_bin" --port 0 --port-file "$tmp/$name.port" "$@" \
		>"$tmp/$name.out" 2>"$tmp/$name.err" &
	server_pid=$!
	bg_pids+=("$server_pid")
	if ! wait_for "[ -s '$tmp/$name.port' ]" 10 "$server_pid"; then
		cat "$tmp/$name.err" >&2
		fail "server $name did not write its port file"
	fi
	server_port=$(cat "$tmp/$name.port")
	case $server_port in '' | *[!0-9]*) fail "server $name: bad port file '$server_port'" ;; esac
}

# stop_server NAME PID: SIGTERM, waits (bounded) for exit status 0 and the totals,
# checks for sanitizer reports.  Returns nothing (fails the test instead).
stop_server() {
	local name=$1 pid=$2 rc=0
	kill -TERM "$pid" 2>/dev/null
	wait_exit "$pid" 30 || rc=$?
	if [ "$rc" -ne 0 ]; then
		tail -n 30 "$tmp/$name.err" >&2
		[ "$rc" -eq 124 ] && fail "server $name did not exit within 30 s of SIGTERM"
		fail "server $name exited with status $rc after SIGTERM"
	fi
	sanitizer_check "$tmp/$name.err"
	grep -q 'totals after' "$tmp/$name.err" || fail "server $name printed no totals"
}

# start_bg NAME COMMAND...: starts COMMAND in the background with stdout/stderr in
# $tmp/NAME.out/.err and registers it for cleanup.  Sets bg_pid.
start_bg() {
	local name=$1
	shift
	"$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	bg_pid=$!
	bg_pids+=("$bg_pid")
}

# show NAME: prints $tmp/NAME.out and .err to stderr (for failure diagnostics).
show() {
	local f
	for f in "$tmp/$1.out" "$tmp/$1.err"; do
		[ -s "$f" ] && { echo "---- $(basename "$f"):" >&2; tail -n 40 "$f" >&2; }
	done
	return 0
}
