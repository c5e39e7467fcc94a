"""Installs as administrators install (issue 17): the wheels (dirsync and the lab, dirsync-lab) into a venv
and the module package with Install-PSResource into a fresh HOME; then, with no checkout on any path and no
DIRSYNC_*/PYTHONNET_* variable, the installed module runs the installed dirsync on its own, the installed
launcher opens the DirSync shell, and the demo runs from the installed copies."""
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from dirsync.schedule import scheduler

ROOT = Path(__file__).resolve().parents[2]
PWSH = shutil.which("pwsh") or str(Path.home() / ".dotnet/tools/pwsh")

pytestmark = pytest.mark.skipif(not Path(PWSH).exists(), reason="needs pwsh: run scripts/setup.sh")


class Installed:
    """A fresh HOME with the wheels in HOME/venv and the module installed for the current user."""

    def __init__(self, home: Path):
        self.home, self.venv = home, home / "venv"
        self.module_base = home / ".local/share/powershell/Modules/DirSync/0.1.0"
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("DIRSYNC_", "PYTHONNET_")) and k not in ("PYTHONPATH", "PSModulePath")}
        self.env["HOME"] = str(home)
        # An activated venv on root's usual PATH (samba is in /usr/sbin); pwsh where setup.sh installs it.
        self.env["PATH"] = f"{self.venv / 'bin'}:{Path(PWSH).parent}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    def run(self, command: list[str], timeout: float = 120, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(command, cwd=self.home, env=self.env, input=stdin, capture_output=True, text=True,
                              timeout=timeout)

    def pwsh(self, script: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return self.run([PWSH, "-NoProfile", "-NonInteractive", "-Command", script], timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    subprocess.run(["bash", str(ROOT / "scripts/package.sh")], check=True, capture_output=True, timeout=300)
    wheels = [str(next((ROOT / "dist").glob(f"{name}-*.whl"))) for name in ("dirsync", "dirsync_lab")]
    home = tmp_path_factory.mktemp("home")
    copy = Installed(home)
    # System site packages: Debian's ldap3, msal, requests... are the dependencies here.
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", str(copy.venv)], check=True, timeout=120)
    # --ignore-installed: this machine's editable install of the checkout is visible through the system site.
    subprocess.run([str(copy.venv / "bin/python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--ignore-installed", *wheels], check=True, timeout=120, env=copy.env)
    registered = copy.pwsh(f"""
$ErrorActionPreference = 'Stop'
Register-PSResourceRepository -Name Local -Uri {json.dumps(str(ROOT / 'dist'))} -Trusted
Install-PSResource DirSync -Repository Local -Scope CurrentUser
""")
    assert registered.returncode == 0, registered.stderr
    return copy


def test_installed_wheel_and_module_answer_without_any_environment_variable(installed):
    script = """
$ErrorActionPreference = 'Stop'
Import-Module DirSync
$answer = try { Get-CoexistenceConfiguration | Out-String } catch { $_.FullyQualifiedErrorId }
$gil = [Python.Runtime.Py]::GIL()
try { $file = [Python.Runtime.Py]::Import('dirsync').GetAttr('__file__').ToString() } finally { $gil.Dispose() }
[pscustomobject]@{ Answer = $answer; Module = (Get-Module DirSync).Path; Dirsync = $file } | ConvertTo-Json
"""
    run = installed.pwsh(script)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["Answer"].startswith("DirSync.NotConfigured"), result
    assert result["Module"].startswith(str(installed.module_base)), result
    assert result["Dirsync"].startswith(str(installed.venv)), result


def test_the_installed_launcher_opens_the_dirsync_shell(installed):
    # What an administrator types at the prompt it opens, then leaves.
    typed = "Get-Command -Module DirSync | ForEach-Object Name\n(Get-Module DirSync).ModuleBase\nexit\n"
    run = installed.run([PWSH, "-NoExit", "-NoLogo", "-File", str(installed.module_base / "Start-DirSyncConfigShell.ps1")],
                        stdin=typed)
    assert run.returncode == 0, run.stderr
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", run.stdout)  # the console's cursor-mode codes
    assert "DirSync Configuration Shell" in screen
    for cmdlet in ("Start-OnlineCoexistenceSync", "Test-CoexistenceSync", "Start-CoexistenceConfigurationWizard"):
        assert re.search(rf"(?m)^{cmdlet}\s*$", screen), screen
    assert re.search(rf"(?m)^{re.escape(str(installed.module_base))}\s*$", screen), screen


def _field(screen: str, label: str) -> str:
    """The value of `label` in the last Format-List block that shows it."""
    values = re.findall(rf"(?m)^{re.escape(label)}\s*: (.*)$", screen)
    assert values, f"{label} not shown:\n{screen}"
    return values[-1].strip()


@pytest.mark.samba
def test_the_demo_runs_from_the_installed_copies(installed):
    if shutil.which("samba", path=installed.env["PATH"]) is None:
        pytest.skip("needs Samba: run scripts/setup.sh")
    folder = installed.home / "demo"
    lab = installed.venv / "bin/dirsync-lab"
    try:
        demo = installed.run([str(lab), "demo", "--dir", str(folder), "--keep"], timeout=900)
        screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", demo.stdout)
        assert demo.returncode == 0, f"{screen}\n{demo.stderr}"
        # The installed module, not the checkout's powershell/.
        assert f"DirSync module 0.1.0 from {installed.module_base}" in screen
        # Start-OnlineCoexistenceSync, then Test-CoexistenceSync.
        assert _field(screen, "Status") == "success", screen
        in_scope, in_cloud = int(_field(screen, "ObjectsInScope")), int(_field(screen, "ObjectsInCloud"))
        assert in_scope > 0 and in_cloud == in_scope, screen
        assert _field(screen, "LastRunStatus") == "success"
        assert _field(screen, "ObjectsInError") == "0"
        assert re.search(r"Microsoft 365 \(local tenant\): [1-9]\d* users", screen), screen
        # The schedule the wizard registered runs the installed dirsync: it is the copy that ran the wizard.
        shown = installed.run([str(installed.venv / "bin/dirsync"), "schedule", "show", "--json",
                               "--home", str(folder / "home")])
        assert shown.returncode == 0, shown.stderr
        command = json.loads(shown.stdout)["command"]
        assert f"PYTHONPATH={installed.venv}/lib/" in command and str(ROOT) not in command, command
        assert f"Explore it: DIRSYNC_HOME={folder / 'home'} pwsh -NoExit -File " \
               f"{installed.module_base / 'Start-DirSyncConfigShell.ps1'}" in screen
    finally:
        stopped = installed.run([str(lab), "demo", "--stop", "--dir", str(folder)])
    assert stopped.returncode == 0, stopped.stderr
    assert not folder.exists()
    assert scheduler().registered_command(folder / "home") is None  # the demo leaves no schedule behind
