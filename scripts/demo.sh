#!/usr/bin/env bash
# The main job on a new machine: sets up (scripts/setup.sh), then shows DirSync at work in a demo home
# folder (.demo/ in this checkout) with the cmdlets in pwsh and with the dirsync command.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
bash scripts/setup.sh
export PATH="$PATH:$HOME/.dotnet/tools"
export DIRSYNC_HOME="$here/.demo"
mkdir -p "$DIRSYNC_HOME"
[ -f "$DIRSYNC_HOME/dirsync.json" ] || /usr/bin/python3 -c 'from dirsync import config; config.save(config.Configuration())'

printf '\033[1m==> pwsh: Get-CoexistenceConfiguration\033[0m\n'
pwsh -NoProfile -NonInteractive -Command "Import-Module '$here/powershell/DirSync.psd1'; Get-CoexistenceConfiguration"
printf '\033[1m==> dirsync config show\033[0m\n'
dirsync config show
