#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Quick start, part two: installs what is missing, builds the release preset, runs all tests.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=${JOBS:-$(nproc)}

tools/setup-deps.sh
cmake --preset release -DCORING_WERROR="${CORING_WERROR:-OFF}"
cmake --build --preset release -j "$jobs"
ctest --preset release -j "$jobs" "$@"
