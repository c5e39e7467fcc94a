#!/usr/bin/env bash
# Sets up everything DirSync needs on a new Debian machine, unattended; quick and harmless to re-run.
#   Debian packages (Python libraries, libpython, Samba for the test domain, cron for the schedule), PowerShell 7.6.9 as a .NET
#   global tool, pythonnet 3.2.1, Pester 5.7.1 and the Graph SDK probe's packages from NuGet, the lint tools (flake8 from Debian, pyright from npm into
#   node_modules/), chromium and playwright-core for the sign-in page's browser test, and DirSync and its lab installed for Debian's python3.
# Run as root (or with sudo available). Prints what it does; exits non-zero on the first failure.
# Run at a terminal on a machine where DirSync is not configured yet, it ends as the original setup did,
# by offering to start the configuration wizard (--no-wizard: never ask).
set -euo pipefail
offer_wizard=yes; [ "${1:-}" = "--no-wizard" ] && offer_wizard=no
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"

PWSH_VERSION=7.6.9
PYTHONNET_VERSION=3.2.1
PESTER_VERSION=5.7.1
debs=(python3 python3-pip python3-setuptools python3-build python3-ldap3 python3-msal python3-requests python3-rich
      python3-pytest python3-cryptography python3-hypothesis libpython3.11 samba samba-ad-dc samba-ad-provision python3-samba ldap-utils tmux cron
      flake8)
# Node.js and npm for pyright and playwright-core, from Debian unless a Node.js is there already (NodeSource's
# brings its own npm); chromium for the browser test of the local tenant's sign-in page.
command -v npm >/dev/null || debs+=(nodejs npm)
debs+=(chromium)

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }

missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  step "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The samba package starts its daemons on install; DirSync's tests run their own DCs on loopback only.
for svc in samba-ad-dc smbd nmbd winbind; do
  $sudo systemctl disable --now "$svc" >/dev/null 2>&1 || true
done

export PATH="$PATH:$HOME/.dotnet/tools"
if ! pwsh -NoProfile -Command '$PSVersionTable.PSVersion.ToString()' 2>/dev/null | grep -qx "$PWSH_VERSION"; then
  step "Installing PowerShell $PWSH_VERSION (dotnet global tool)"
  dotnet tool update --global PowerShell --version "$PWSH_VERSION" >/dev/null
fi

# pythonnet and Pester come from NuGet by exact version; a throwaway project downloads them.
nuget_root="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
runtime_dll="$nuget_root/pythonnet/$PYTHONNET_VERSION/lib/netstandard2.0/Python.Runtime.dll"
pester_dir="$nuget_root/pester/$PESTER_VERSION"
if [ ! -f "$runtime_dll" ] || [ ! -d "$pester_dir" ]; then
  step "Downloading pythonnet $PYTHONNET_VERSION and Pester $PESTER_VERSION from NuGet"
  tmp="$(mktemp -d)"
  cat > "$tmp/fetch.csproj" <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>
  <ItemGroup>
    <PackageDownload Include="pythonnet" Version="[$PYTHONNET_VERSION]" />
    <PackageDownload Include="Pester" Version="[$PESTER_VERSION]" />
  </ItemGroup>
</Project>
EOF
  dotnet restore "$tmp/fetch.csproj" >/dev/null
  rm -rf "$tmp"
fi
# Microsoft.Graph and Azure.Identity for the Graph SDK probe (tests/dotnet/GraphSdkProbe), from the same source;
# its test builds it, with the restore's output outside the work tree.
if [ ! -d "$nuget_root/microsoft.graph/6.10.0" ] || [ ! -d "$nuget_root/azure.identity/1.21.0" ]; then
  step "Downloading Microsoft.Graph and Azure.Identity from NuGet"
  tmp="$(mktemp -d)"
  dotnet restore "$here/tests/dotnet/GraphSdkProbe/GraphSdkProbe.csproj" --artifacts-path "$tmp" >/dev/null
  rm -rf "$tmp"
fi
# The module finds Python.Runtime.dll beside itself (powershell/lib, not tracked by git).
mkdir -p "$here/powershell/lib"
cp -f "$runtime_dll" "$here/powershell/lib/Python.Runtime.dll"
# Pester as a PowerShell module that Import-Module finds by name and version.
pester_target="$HOME/.local/share/powershell/Modules/Pester/$PESTER_VERSION"
if [ ! -f "$pester_target/Pester.psd1" ]; then
  step "Installing Pester $PESTER_VERSION as a PowerShell module"
  mkdir -p "$pester_target"
  src="$pester_dir"; [ -f "$src/tools/Pester.psd1" ] && src="$src/tools"
  cp -r "$src/." "$pester_target/"
fi

# The npm tools at the versions package-lock.json pins: pyright, the type checker of scripts/lint.sh, and
# playwright-core, which drives Debian's chromium through the local tenant's sign-in page (tests/browser/).
for tool in pyright playwright-core; do
  pinned="$(node -p "require('$here/package.json').devDependencies['$tool']")"
  installed="$(node -p "require('$here/node_modules/$tool/package.json').version" 2>/dev/null || true)"
  if [ "$installed" != "$pinned" ]; then
    step "Installing the npm tools of package.json (npm ci, into node_modules/)"
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    break
  fi
done

if ! /usr/bin/python3 -c 'import dirsync, sys; sys.exit(0 if dirsync.__file__.startswith(sys.argv[1]) else 1)' "$here/python" 2>/dev/null; then
  step "Installing DirSync (editable) for Debian's python3"
  /usr/bin/python3 -m pip install --quiet --break-system-packages --no-deps --no-build-isolation --no-index -e "$here" >/dev/null
fi
# The lab (local tenant, test domain, demo: dirsync-lab) is a package of its own, installed the same way.
if ! /usr/bin/python3 -c 'import dirsync_lab, sys; sys.exit(0 if dirsync_lab.__file__.startswith(sys.argv[1]) else 1)' "$here/lab" 2>/dev/null; then
  step "Installing the DirSync lab (editable) for Debian's python3"
  /usr/bin/python3 -m pip install --quiet --break-system-packages --no-deps --no-build-isolation --no-index -e "$here/lab" >/dev/null
fi
step "Setup complete: pwsh $PWSH_VERSION, pythonnet $PYTHONNET_VERSION, Pester $PESTER_VERSION, dirsync $(/usr/bin/python3 -c 'import dirsync; print(dirsync.__version__)')"

config_file="$(/usr/bin/python3 -c 'from dirsync import config; print(config.config_path())')"
if [ "$offer_wizard" = yes ] && [ -t 0 ] && [ -t 1 ] && [ ! -f "$config_file" ]; then
  read -r -p "DirSync is not configured on this machine yet. Start the configuration wizard now? [Y/n] " answer
  case "$answer" in
    [nN]*) echo "Later: open ./DirSyncConfigShell and run Start-CoexistenceConfigurationWizard." ;;
    *) exec "$here/DirSyncConfigShell" -Then Start-CoexistenceConfigurationWizard ;;
  esac
fi
