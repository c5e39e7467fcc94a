#!/usr/bin/env bash
# Builds what administrators install into dist/: the Python wheel (python3 -m build), the lab's wheel
# (dirsync-lab: the local tenant, the test domain and the demo, `dirsync-lab demo`) and the PowerShell
# module package DirSync.<version>.nupkg (Publish-PSResource to a local folder repository), which carries
# Python.Runtime.dll in lib/ and the DirSync shell's launcher, Start-DirSyncConfigShell.ps1 with
# DirSyncConfigShell.psc1. See docs/install.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
rm -rf dist build && mkdir -p dist
/usr/bin/python3 -m build --wheel --no-isolation --outdir dist . >/dev/null
/usr/bin/python3 -m build --wheel --no-isolation --outdir dist lab >/dev/null
rm -rf build lab/build  # setuptools' work folders
stage=$(mktemp -d); trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/DirSync"
cp -r powershell/. "$stage/DirSync/"
[ -f "$stage/DirSync/lib/Python.Runtime.dll" ] || { echo "powershell/lib/Python.Runtime.dll is missing: run scripts/setup.sh" >&2; exit 1; }
pwsh=$(command -v pwsh || echo "$HOME/.dotnet/tools/pwsh")
"$pwsh" -NoProfile -NonInteractive -Command "
  \$ErrorActionPreference = 'Stop'
  \$name = 'DirSyncPackage' + [guid]::NewGuid().ToString('N')
  Register-PSResourceRepository -Name \$name -Uri '$root/dist' -Trusted
  try { Publish-PSResource -Path '$stage/DirSync' -Repository \$name } finally { Unregister-PSResourceRepository -Name \$name }
"
ls dist
