#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the release preset with bench/ enabled and runs coring-runtime-bench (Markdown on stdout).
#
# usage: bench/run.sh [coring-runtime-bench options, e.g. --quick, --json, --runs 9]
# Environment: CORING_BENCH_BUILD_DIR  build directory (default: the preset's build/release)
# Build output and progress go to stderr, so `bench/run.sh > results.md` keeps only the tables.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

configure=(cmake --preset release -DCORING_BUILD_BENCH=ON)
build_dir=build/release
if [ -n "${CORING_BENCH_BUILD_DIR:-}" ]; then
	build_dir=$CORING_BENCH_BUILD_DIR
	configure+=(-B "$build_dir")
fi

"${configure[@]}" >&2
cmake --build "$build_dir" --target coring-runtime-bench >&2

exec "$build_dir/bench/coring-runtime-bench" "$@"
