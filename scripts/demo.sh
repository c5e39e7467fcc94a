#!/usr/bin/env bash
# The main job on a new machine: sets up (scripts/setup.sh), starts the demo lab — a seeded Samba AD
# domain and the local Microsoft 365 tenant, holding only its administrators — then, in pwsh, runs the
# configuration wizard without prompts (page 1 signs the lab's administrator in with a device code and
# DirSync creates its own app), synchronizes with Start-OnlineCoexistenceSync, verifies with
# Test-CoexistenceSync, and finally shows what is in the tenant. Everything lives in .demo/ in this checkout.
#   --keep   leave the lab running afterwards (stop it with: bash scripts/demo.sh --stop)
# DIRSYNC_DEMO_SKIP_SETUP=1 skips scripts/setup.sh (a second checkout must not re-point the system-wide install).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
demo="$here/.demo"
# The lab of this checkout (lab/dirsync_lab), with this checkout's dirsync.
lab() { PYTHONPATH="$here/lab:$here/python${PYTHONPATH:+:$PYTHONPATH}" /usr/bin/python3 -m dirsync_lab "$@"; }
stop() {
  if [ -f "$demo/home/dirsync.json" ]; then
    dirsync schedule set --home "$demo/home" --enabled off >/dev/null 2>&1 || true
  fi
  [ -d "$demo/lab" ] && lab down --dir "$demo/lab"
  rm -rf "$demo"
}
case "${1:-}" in
  --stop) stop; exit 0 ;;
  --keep|"") ;;
  *) echo "usage: bash scripts/demo.sh [--keep | --stop]" >&2; exit 2 ;;
esac

[ "${DIRSYNC_DEMO_SKIP_SETUP:-}" = 1 ] || bash scripts/setup.sh --no-wizard
export PATH="$PATH:$HOME/.dotnet/tools"
stop  # a fresh lab each time
printf '\033[1m==> Starting the demo lab: a Samba AD domain and the local Microsoft 365 tenant\033[0m\n'
lab up --dir "$demo/lab" >/dev/null
[ "${1:-}" = "--keep" ] || trap stop EXIT

# The wizard's first page signs the lab's administrator in with a device code: the lab approves it as the
# administrator at the sign-in page would (dirsync-lab approve), and DirSync creates its own app.
lab approve --dir "$demo/lab" --timeout 600 >/dev/null &
approver=$!
pwsh -NoProfile -NonInteractive -File scripts/demo.ps1 -Lab "$demo/lab" -DirSyncHome "$demo/home" || {
  status=$?; kill "$approver" 2>/dev/null || true; exit "$status"; }
wait "$approver"
printf '\n\033[1m==> What Microsoft 365 (the local tenant) holds now\033[0m\n'
lab show --dir "$demo/lab"
if [ "${1:-}" = "--keep" ]; then
  printf '\nThe lab is still running. Explore it: DIRSYNC_HOME=%s ./DirSyncConfigShell\n' "$demo/home"
  printf 'Stop it: bash scripts/demo.sh --stop\n'
fi
