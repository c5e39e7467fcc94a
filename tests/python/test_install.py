"""Installs as administrators install (issue 17): the wheel into a venv and the module package with
Install-PSResource into a fresh HOME, then the installed module runs the installed dirsync on its own."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PWSH = shutil.which("pwsh") or str(Path.home() / ".dotnet/tools/pwsh")

pytestmark = pytest.mark.skipif(not Path(PWSH).exists(), reason="needs pwsh: run scripts/setup.sh")


def test_installed_wheel_and_module_answer_without_any_environment_variable(tmp_path):
    subprocess.run(["bash", str(ROOT / "scripts/package.sh")], check=True, capture_output=True, timeout=300)
    wheel = next((ROOT / "dist").glob("dirsync-*.whl"))
    home = tmp_path / "home"
    home.mkdir()
    venv = home / "venv"
    # System site packages: Debian's ldap3, msal, requests... are the dependencies here.
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DIRSYNC_", "PYTHONNET_")) and k not in ("PYTHONPATH", "PSModulePath")}
    env["HOME"] = str(home)
    env["PATH"] = f"{venv / 'bin'}:{Path(PWSH).parent}:/usr/bin:/bin"
    # --ignore-installed: this machine's editable install of the checkout is visible through the system site.
    subprocess.run([str(venv / "bin/python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--ignore-installed", str(wheel)], check=True, timeout=120, env=env)
    script = f"""
$ErrorActionPreference = 'Stop'
Register-PSResourceRepository -Name Local -Uri {json.dumps(str(ROOT / 'dist'))} -Trusted
Install-PSResource DirSync -Repository Local -Scope CurrentUser
Import-Module DirSync
$answer = try {{ Get-CoexistenceConfiguration | Out-String }} catch {{ $_.FullyQualifiedErrorId }}
$gil = [Python.Runtime.Py]::GIL()
try {{ $file = [Python.Runtime.Py]::Import('dirsync').GetAttr('__file__').ToString() }} finally {{ $gil.Dispose() }}
[pscustomobject]@{{ Answer = $answer; Module = (Get-Module DirSync).Path; Dirsync = $file }} | ConvertTo-Json
"""
    run = subprocess.run([PWSH, "-NoProfile", "-NonInteractive", "-Command", script], cwd=home, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["Answer"].startswith("DirSync.NotConfigured"), result
    assert result["Module"].startswith(str(home / ".local/share/powershell/Modules/DirSync")), result
    assert result["Dirsync"].startswith(str(venv)), result
