#!/usr/bin/env bash
# The DirSync benchmark: bash bench/run.sh [--sizes 1000,10000,100000] [--repeats 3] [--skip PARTS] [--out FILE]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
PYTHONPATH="$here/python:$here/lab:$here${PYTHONPATH:+:$PYTHONPATH}" exec /usr/bin/python3 -m bench "$@"
