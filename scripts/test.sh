#!/usr/bin/env bash
# Sets up this machine (scripts/setup.sh), then lints (scripts/lint.sh) and runs every test: pytest, then Pester.
# Exits non-zero when any test fails. Extra arguments go to pytest (e.g. -k config).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
bash scripts/setup.sh --no-wizard || exit 1
export PATH="$PATH:$HOME/.dotnet/tools"

status=0
bash scripts/lint.sh || status=1
printf '\033[1m==> pytest\033[0m\n'
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/python "$@" || status=1
printf '\033[1m==> Pester\033[0m\n'
pwsh -NoProfile -NonInteractive -File tests/run-pester.ps1 || status=1
exit $status
