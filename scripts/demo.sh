#!/usr/bin/env bash
# The main job on a new machine: sets up (scripts/setup.sh), then runs the demo (`dirsync-lab demo`:
# lab/dirsync_lab/demo.py and demo.ps1) with this checkout's lab, dirsync and module. It starts the demo
# lab — a seeded Samba AD domain and the local Microsoft 365 tenant, holding only its administrators —
# then, in pwsh, runs the configuration wizard without prompts (page 1 signs the lab's administrator in
# with a device code and DirSync creates its own app), synchronizes with Start-OnlineCoexistenceSync,
# verifies with Test-CoexistenceSync, and finally shows what is in the tenant. Everything lives in .demo/.
#   --keep   leave the lab running afterwards (stop it with: bash scripts/demo.sh --stop)
# DIRSYNC_DEMO_SKIP_SETUP=1 skips scripts/setup.sh (a second checkout must not re-point the system-wide install).
# From installed copies, with no checkout: dirsync-lab demo --dir DIR (docs/install.md).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
lab() { PYTHONPATH="$here/lab:$here/python${PYTHONPATH:+:$PYTHONPATH}" /usr/bin/python3 -m dirsync_lab "$@"; }
case "${1:-}" in
  --stop) lab demo --stop --dir "$here/.demo"; exit 0 ;;
  --keep|"") ;;
  *) echo "usage: bash scripts/demo.sh [--keep | --stop]" >&2; exit 2 ;;
esac

[ "${DIRSYNC_DEMO_SKIP_SETUP:-}" = 1 ] || bash scripts/setup.sh --no-wizard
export PATH="$PATH:$HOME/.dotnet/tools"
lab demo --dir "$here/.demo" --module "$here/powershell/DirSync.psd1" "$@"
