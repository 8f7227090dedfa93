#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Quick start, part one: installs what is missing, builds the release preset, and runs the
# main job: coring-echo-server on loopback, driven by coring-echo-client for a few seconds.
#
# Usage: tools/run-demo.sh [coring-echo-client load options]
#   default: --connections 50 --size 64 --duration 5
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=${JOBS:-$(nproc)}

tools/setup-deps.sh
cmake --preset release
cmake --build --preset release -j "$jobs"

bin=build/release/tools
work=$(mktemp -d "${TMPDIR:-/tmp}/coring-demo.XXXXXX")
server_pid=
cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

echo
echo "== $bin/coring-probe (what this kernel offers)"
"$bin/coring-probe" || true

echo
echo "== $bin/echo_server/coring-echo-server --port 0 (loopback, every worker)"
"$bin/echo_server/coring-echo-server" --port 0 --port-file "$work/port" --grace 2 &
server_pid=$!
for _ in $(seq 100); do
	[ -s "$work/port" ] && break
	kill -0 "$server_pid" 2>/dev/null || { echo "the echo server did not start" >&2; exit 1; }
	sleep 0.05
done
[ -s "$work/port" ] || { echo "the echo server did not start in 5 s" >&2; exit 1; }
port=$(cat "$work/port")

args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--connections 50 --size 64 --duration 5)
echo
echo "== $bin/echo_client/coring-echo-client --port $port ${args[*]}"
rc=0
"$bin/echo_client/coring-echo-client" --host 127.0.0.1 --port "$port" "${args[@]}" || rc=$?

echo
echo "== stopping the server (SIGTERM: it prints its totals)"
kill -TERM "$server_pid"
wait "$server_pid" || rc=$?
server_pid=
exit "$rc"
