#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs the echo comparison (compare.py) with Debian's /usr/bin/python3, which has uvloop and matplotlib.
#
# usage: bench/echo/compare.sh [--quick] [compare.py options; --help lists them]
# compare.py builds what it needs, starts and stops every server itself (also on Ctrl-C),
# prints the Markdown tables on stdout and the progress on stderr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ ! -x /usr/bin/python3 ]; then
	echo "compare.sh: /usr/bin/python3 not found (tools/setup-deps.sh --bench installs it)" >&2
	exit 1
fi
exec /usr/bin/python3 "$here/compare.py" "$@"
