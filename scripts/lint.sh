#!/usr/bin/env bash
# Lint: flake8 and the type checker (pyright) over python/, lab/ and bench/, then the PowerShell check (every script parses,
# every exported cmdlet has an approved verb: tests/powershell/Lint.Tests.ps1). The tools come from
# scripts/setup.sh. Exits non-zero on any finding.
# Their settings: .flake8, pyrightconfig.json.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
export PATH="$PATH:$HOME/.dotnet/tools"

status=0
printf '\033[1m==> flake8\033[0m\n'
flake8 python/ lab/ bench/ || status=1
printf '\033[1m==> pyright\033[0m\n'
node_modules/.bin/pyright --pythonpath /usr/bin/python3 || status=1
printf '\033[1m==> PowerShell: parse, approved verbs\033[0m\n'
pwsh -NoProfile -NonInteractive -File tests/run-pester.ps1 -Path tests/powershell/Lint.Tests.ps1 || status=1
exit $status
