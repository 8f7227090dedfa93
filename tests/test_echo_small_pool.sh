#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# coring-echo-server with one worker and a tiny buffer pool (the issue's recipes): clients that write without ever reading must not freeze the worker's other clients.
set -uo pipefail

# shellcheck source=tests/echo/lib.bash
. "$(dirname "$0")/echo/lib.bash"

export ECHOTEST_OP_TIMEOUT=$((3 * slow))

# recipe NON_READERS OPTIONS...: a server with one worker and OPTIONS; NON_READERS
# clients push 64 KiB blocks without reading until the server stops taking bytes,
# then a new client must get its echo within the op timeout.
recipe() {
	local n=$1 rc=0
	shift
	start_server srv --threads 1 --no-udp "$@"
	timeout -k 5 $((40 * slow)) python3 "$echo_dir/starve.py" 127.0.0.1 "$server_port" "$n" \
		>"$tmp/starve.out" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		cat "$tmp/starve.out" >&2
		show srv
		fail "with $* and $n clients that never read, a new client was not served (status $rc)"
	fi
	stop_server srv "$server_pid"
	note "ok: $*, $n non-readers: $(tail -n 1 "$tmp/starve.out")"
}

recipe 1 --buffers 1
recipe 2 --buffers 2 --max-held 1
recipe 1 --buffers 4 --buffer-size 1k --max-held 4096
recipe 4 --buffers 4
echo "PASS"
