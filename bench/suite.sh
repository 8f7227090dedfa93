#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole benchmark suite in one command: installs what it needs, builds the release preset
# with bench/, runs coring-bench (Google Benchmark), the Go and asyncio peers, and the echo
# comparison, and writes every table and the plot to one directory.
#
# usage: bench/suite.sh [--quick] [--out DIR] [--no-setup]
#   --quick     a fraction of the work: shows that everything runs, measures nothing
#   --out DIR   where the results go (default: build/release/bench-suite)
#   --no-setup  do not run tools/setup-deps.sh --bench (it needs root or sudo for apt)
# Environment: CORING_BENCH_BUILD_DIR  build directory (default build/release)
# Takes about 20 minutes on 2 CPUs (a minute with --quick). Run it on a quiet machine: the
# figures are ratios against baselines measured in the same run, but load on the machine
# still shows up as spread.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

quick=0 setup=1 out=""
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--no-setup) setup=0 ;;
	--out)
		[ $# -ge 2 ] || { echo "suite.sh: --out needs a directory" >&2; exit 2; }
		out=$2
		shift
		;;
	-h | --help)
		sed -n '3,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "suite.sh: unknown argument '$1' (--help lists them)" >&2
		exit 2
		;;
	esac
	shift
done

build_dir=${CORING_BENCH_BUILD_DIR:-build/release}
out=${out:-$build_dir/bench-suite}
mkdir -p "$out"
log() { printf '[suite] %s\n' "$*" >&2; }

if [ "$setup" = 1 ]; then
	log "tools/setup-deps.sh --bench"
	tools/setup-deps.sh --bench >&2
fi

configure=(cmake --preset release -DCORING_BUILD_BENCH=ON)
[ -n "${CORING_BENCH_BUILD_DIR:-}" ] && configure+=(-B "$build_dir")
log "${configure[*]}"
"${configure[@]}" >&2
cmake --build "$build_dir" -j "$(nproc)" >&2

micro_args=(--benchmark_repetitions=3)
peer_args=(--runs 3 --rounds 2)
echo_args=(--runs 5)
if [ "$quick" = 1 ]; then
	micro_args=(--benchmark_min_time=0.05)
	peer_args=(--quick)
	echo_args=(--quick)
fi

# 1. coring-bench: every row, its baselines in the same binary and run.
log "coring-bench -> $out/micro.json"
"$build_dir/bench/micro/coring-bench" "${micro_args[@]}" \
	--benchmark_out="$out/micro.json" --benchmark_out_format=json | tee "$out/micro.txt" >&2

# 2. Peers: coring next to Go and asyncio/uvloop, per operation, with issue 6's targets
#    (including yield and the raw switch against boost.context from the same run).  It runs
#    coring's rows again, on purpose: its rounds alternate coring, Go and Python, so that a
#    slow spell of the machine hits every column alike (micro.json is one early sample).
log "bench/peers/compare.py -> $out/peers.md"
/usr/bin/python3 bench/peers/compare.py --build-dir "$build_dir" "${peer_args[@]}" \
	--out "$out/peers.json" >"$out/peers.md"

# 3. Echo comparison: every server pinned to CPU 0, coring-echo-client on CPU 1.
log "bench/echo/compare.sh -> $out/echo/"
bench/echo/compare.sh --build-dir "$build_dir" --out "$out/echo" "${echo_args[@]}" \
	>"$out/echo.md"

{
	echo "# coring benchmark suite: $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(nproc) CPUs"
	echo
	echo "## Micro-benchmarks next to their peers"
	echo
	cat "$out/peers.md"
	echo
	cat "$out/echo.md" # starts with its own "## Echo comparison" heading
} >"$out/summary.md"
log "wrote $out/summary.md (micro.txt, micro.json, peers.md, peers.json, echo.md, echo/)"
cat "$out/summary.md"
