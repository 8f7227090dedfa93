#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Quick start, part one: installs what is missing, builds the release preset, runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=${JOBS:-$(nproc)}

tools/setup-deps.sh
cmake --preset release
cmake --build --preset release -j "$jobs"
echo
echo "== build/release/tools/coring-probe (what this kernel offers)"
build/release/tools/coring-probe || true
echo
echo "== build/release/tools/coring-demo $*"
exec build/release/tools/coring-demo "$@"
