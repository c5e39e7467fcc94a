"""Start-CoexistenceConfigurationWizard answered at its prompts, in a real pwsh under a pseudo-terminal,
configures DirSync exactly as the same answers given as parameters from a script; neither leaves the
Enterprise Admin password on disk."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import shutil
import subprocess
import termios
import time
from pathlib import Path

import pytest

from dirsync import schedule
from dirsync_lab import demo

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "powershell" / "DirSync.psd1"
PWSH = shutil.which("pwsh") or str(Path.home() / ".dotnet/tools/pwsh")

pytestmark = pytest.mark.skipif(not Path(PWSH).exists(), reason="needs pwsh: run scripts/setup.sh")


@pytest.fixture(scope="module")
def lab(demo_lab):
    return demo_lab


def _own_terminal() -> None:
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """A program on a pseudo-terminal, driven like a person at the keyboard."""

    def __init__(self, argv: list[str], env: dict):
        self.master, slave = pty.openpty()
        # As a terminal window does: the program leads a session whose controlling terminal is this one,
        # so that Ctrl+C typed here reaches it as SIGINT.
        self.process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True,
                                        preexec_fn=_own_terminal)
        os.close(slave)
        self.screen = ""

    def expect(self, pattern: str, timeout: float = 60) -> re.Match:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self._plain()):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.process.poll() is not None and not self._read(0):
                raise AssertionError(f"never saw {pattern!r}; the screen ends with:\n{self._plain()[-1500:]}")
            self._read(remaining)
        # What was matched is consumed, so the next prompt is looked for after it.
        match = re.search(pattern, self._plain())
        assert match is not None
        self.screen = self._plain()[match.end():]
        return match

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], min(timeout, 1))
        if not ready:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:  # the program closed the terminal
            return False
        text = data.decode(errors="replace")
        # pwsh asks where the cursor is (Device Status Report) and waits for the answer a terminal gives.
        for _ in range(text.count("\x1b[6n")):
            os.write(self.master, b"\x1b[1;1R")
        self.screen += text
        return bool(data)

    def _plain(self) -> str:
        return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r", "", self.screen)

    def type(self, text: str) -> None:
        os.write(self.master, (text + "\r").encode())

    def close(self) -> int:
        try:
            return self.process.wait(timeout=60)
        finally:
            os.close(self.master)


def answer_active_directory(terminal: Terminal, ad: dict) -> None:
    """Page 2 at its prompts: the domain controller, then the Enterprise Admin's credentials."""
    terminal.expect(r"\[Active Directory\] Domain controller: ")
    terminal.type(ad["server"])
    terminal.expect(r"User: ")
    terminal.type(ad["adminUser"])
    terminal.expect(r"Password for user .*: ")
    terminal.type(ad["adminPassword"])


def _advanced(facts: dict) -> str:
    """Where the local tenant and the lab's DC are: parameters the wizard does not prompt for."""
    t, ad = facts["tenant"], facts["activeDirectory"]
    return (f"-AuthorityHost '{t['authorityHost']}' -GraphEndpoint '{t['graphEndpoint']}' "
            f"-TenantCAFile '{t['caFile']}' -DomainControllerCAFile '{ad['caFile']}'")


def test_the_wizard_at_its_prompts_and_from_a_script_configure_the_same(lab, tmp_path):
    folder, facts = lab
    t, ad = facts["tenant"], facts["activeDirectory"]
    prompted_home, scripted_home = tmp_path / "prompted", tmp_path / "scripted"
    env = {**os.environ, "TERM": "xterm", "DIRSYNC_HOME": str(prompted_home)}
    try:
        terminal = Terminal([PWSH, "-NoProfile", "-NoLogo", "-Command",
                             f"Import-Module '{MODULE}'; Start-CoexistenceConfigurationWizard {_advanced(facts)} | "
                             "Format-List; exit"], env)
        terminal.expect(r"How does DirSync get its cloud identity\?[\s\S]*\(default is \"S\"\): ")
        terminal.type("U")  # the app the lab registered, as an organisation that registers its own
        terminal.expect(r"\[Microsoft 365\] Tenant ID: ")
        terminal.type(t["tenantId"])
        terminal.expect(r"Application \(client\) ID: ")
        terminal.type(t["clientId"])
        terminal.expect(r"How does DirSync sign in\?[\s\S]*\(default is \"C\"\): ")
        terminal.type("C")
        terminal.expect(r"Certificate file \(PEM\): ")
        terminal.type(t["certificateFile"])
        terminal.expect(r"Private key file \(PEM\): ")
        terminal.type(t["certificateKeyFile"])
        answer_active_directory(terminal, ad)
        terminal.expect(r"Enable Exchange hybrid deployment\?[\s\S]*\(default is \"N\"\): ")
        terminal.type("")
        terminal.expect(r"Synchronize directories now\?[\s\S]*\(default is \"Y\"\): ")
        terminal.type("N")
        terminal.expect(r"ServiceAccount\s*: MSOL_[0-9a-f]{12}@dirsync\.test")
        assert terminal.close() == 0

        script = (f"Import-Module '{MODULE}'; $admin = [pscredential]::new('{ad['adminUser']}', "
                  f"(ConvertTo-SecureString $env:TEST_ADMIN_PASSWORD -AsPlainText -Force)); "
                  f"Start-CoexistenceConfigurationWizard -TenantId '{t['tenantId']}' -ClientId '{t['clientId']}' "
                  f"-CertificateFile '{t['certificateFile']}' -CertificateKeyFile '{t['certificateKeyFile']}' "
                  f"-DomainController '{ad['server']}' -EnterpriseAdminCredential $admin -ExchangeHybrid $false "
                  f"-SynchronizeNow $false {_advanced(facts)} | Out-Null")
        scripted = subprocess.run([PWSH, "-NoProfile", "-NonInteractive", "-Command", script], capture_output=True,
                                  text=True, timeout=120, env={**env, "DIRSYNC_HOME": str(scripted_home),
                                                               "TEST_ADMIN_PASSWORD": ad["adminPassword"]})
        assert scripted.returncode == 0, scripted.stderr

        prompted, from_script = (json.loads((home / "dirsync.json").read_text())
                                 for home in (prompted_home, scripted_home))
        for saved in (prompted, from_script):  # each home is its own installation, with its own account
            assert saved["activeDirectory"].pop("serviceAccount") == f"MSOL_{saved.pop('installationId')}@dirsync.test"
        assert prompted == from_script
        assert prompted["tenant"]["credentialType"] == "certificate"
        for home in (prompted_home, scripted_home):
            for path in home.rglob("*"):
                if path.is_file():
                    assert ad["adminPassword"].encode() not in path.read_bytes(), path
    finally:
        for home in (prompted_home, scripted_home):
            if (home / "dirsync.json").exists():
                schedule.change(enabled=False, home=str(home))


def test_the_wizard_in_a_non_interactive_session_names_the_parameter_it_needs(lab, tmp_path):
    folder, facts = lab
    run = subprocess.run([PWSH, "-NoProfile", "-NonInteractive", "-Command",
                          f"Import-Module '{MODULE}'; Start-CoexistenceConfigurationWizard -TenantId x"],
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "DIRSYNC_HOME": str(tmp_path)})
    assert run.returncode != 0
    assert "Give -UseDeviceCode or -ClientId" in re.sub(r"\x1b\[[0-9;]*m|\s+", " ", run.stdout + run.stderr)
    assert not (tmp_path / "dirsync.json").exists()


def test_at_the_prompt_an_administrator_signs_in_with_the_code_on_screen_and_dirsync_makes_its_app(
        bare_lab, tmp_path):
    folder, facts = bare_lab
    ad = facts["activeDirectory"]
    home = tmp_path / "home"
    env = {**os.environ, "TERM": "xterm", "DIRSYNC_HOME": str(home)}
    env.pop("DISPLAY", None)  # a server without a browser: the sign-in is by device code
    env.pop("BROWSER", None)
    try:
        terminal = Terminal([PWSH, "-NoProfile", "-NoLogo", "-Command",
                             f"Import-Module '{MODULE}'; Start-CoexistenceConfigurationWizard {_advanced(facts)} "
                             "-ExchangeHybrid $false -SynchronizeNow $false | Format-List; exit"], env)
        terminal.expect(r"How does DirSync get its cloud identity\?[\s\S]*\(default is \"S\"\): ")
        terminal.type("")
        answer_active_directory(terminal, ad)
        # The code, as the administrator reads it off the screen.
        code = terminal.expect(r"enter the code (\S+) to authenticate").group(1)
        assert demo.approve(folder, code=code, timeout=30) == code
        terminal.expect(r"CloudIdentity\s*: DirSync \(", timeout=180)
        terminal.expect(r"ServiceAccount\s*: MSOL_[0-9a-f]{12}@dirsync\.test")
        assert terminal.close() == 0
        saved = json.loads((home / "dirsync.json").read_text())
        assert saved["tenant"]["credentialType"] == "certificate" and saved["tenant"]["clientId"]
    finally:
        if (home / "dirsync.json").exists():
            schedule.change(enabled=False, home=str(home))


def test_setup_at_a_terminal_offers_the_wizard_on_an_unconfigured_machine(tmp_path):
    env = {**os.environ, "TERM": "xterm", "DIRSYNC_HOME": str(tmp_path)}
    terminal = Terminal(["bash", str(ROOT / "scripts" / "setup.sh")], env)
    terminal.expect(r"Start the configuration wizard now\? \[Y/n\] ", timeout=300)
    terminal.type("")
    # the wizard's first page, in the DirSync shell
    terminal.expect(r"How does DirSync get its cloud identity\?[\s\S]*\(default is \"S\"\): ")
    terminal.process.kill()
    terminal.close()
    assert not (tmp_path / "dirsync.json").exists()


def test_ctrl_c_stops_a_running_sync_and_the_history_says_so(lab, tmp_path):
    from dirsync import service, wizard
    folder, facts = lab
    t, ad = facts["tenant"], facts["activeDirectory"]
    wizard.configure(tenant={k: t[k] for k in ("tenantId", "clientId", "authorityHost", "graphEndpoint", "caFile",
                                               "certificateFile")} | {"credentialType": "certificate"},
                     active_directory={"server": ad["server"], "caFile": ad["caFile"]},
                     admin_user=ad["adminUser"], admin_password=ad["adminPassword"],
                     certificate_key_file=t["certificateKeyFile"], sync_now=False, home=str(tmp_path))
    try:
        # The whole seeded directory: 1,600 bulk users keep the export busy long enough to interrupt.
        env = {**os.environ, "TERM": "xterm", "DIRSYNC_HOME": str(tmp_path)}
        terminal = Terminal([PWSH, "-NoProfile", "-NoLogo", "-Command",
                             f"Import-Module '{MODULE}'; Start-OnlineCoexistenceSync; 'not reached'"], env)
        terminal.expect(r"Exporting to Microsoft 365", timeout=120)  # Write-Progress, while the call runs
        os.write(terminal.master, b"\x03")
        terminal.close()
        assert "not reached" not in terminal._plain()
        last = service.sync_history(last=1, home=str(tmp_path))[0].to_dict()
        assert last["status"] == "stopped-error" and "Stopped by the administrator" in last["message"]
        # The lock went with it, and what was left is what the next run will do.
        rest = service.start_sync(preview=True, home=str(tmp_path)).to_dict()
        assert rest["status"] == "success" and rest["plan"]
    finally:
        schedule.change(enabled=False, home=str(tmp_path))


def test_the_wizard_checks_the_dcs_certificate_before_the_admin_password_and_keeps_every_answer(lab, tmp_path):
    """An untrusted DC certificate and a mistyped Enterprise Admin password are each asked for again, at
    once and alone: nothing typed before has to be typed again."""
    folder, facts = lab
    t, ad = facts["tenant"], facts["activeDirectory"]
    env = {**os.environ, "TERM": "xterm", "DIRSYNC_HOME": str(tmp_path)}
    tenant = (f"-TenantId '{t['tenantId']}' -ClientId '{t['clientId']}' -CertificateFile '{t['certificateFile']}' "
              f"-CertificateKeyFile '{t['certificateKeyFile']}' -AuthorityHost '{t['authorityHost']}' "
              f"-GraphEndpoint '{t['graphEndpoint']}' -TenantCAFile '{t['caFile']}'")
    try:
        terminal = Terminal([PWSH, "-NoProfile", "-NoLogo", "-Command",
                             f"Import-Module '{MODULE}'; Start-CoexistenceConfigurationWizard {tenant} "
                             "-ExchangeHybrid $false -SynchronizeNow $false | Format-List; exit"], env)
        terminal.expect(r"\[Active Directory\] Domain controller: ")
        terminal.type(ad["server"])
        # No CA given: the certificate is not trusted, and the wizard says so before asking for a password.
        terminal.expect(r"WARNING: .*certificate is not trusted")
        terminal.expect(r"CA certificate that issued .*\(PEM file\): ")
        assert "Password" not in terminal.screen and "User:" not in terminal.screen
        terminal.type(ad["caFile"])
        terminal.expect(r"User: ")
        terminal.type(ad["adminUser"])
        terminal.expect(r"Password for user .*: ")
        terminal.type("not-the-password")
        terminal.expect(r"WARNING: .*rejected the user name or password")
        terminal.expect(r"User: ")  # only the credentials again
        terminal.type(ad["adminUser"])
        terminal.expect(r"Password for user .*: ")
        terminal.type(ad["adminPassword"])
        terminal.expect(r"ServiceAccount\s*: MSOL_[0-9a-f]{12}@dirsync\.test")
        assert terminal.close() == 0
        saved = json.loads((tmp_path / "dirsync.json").read_text())
        assert saved["activeDirectory"]["caFile"] == ad["caFile"] and saved["tenant"]["tenantId"] == t["tenantId"]
    finally:
        if (tmp_path / "dirsync.json").exists():
            schedule.change(enabled=False, home=str(tmp_path))


def test_dirsync_configure_checks_the_dcs_certificate_before_asking_for_the_admin_password(lab, tmp_path):
    folder, facts = lab
    t, ad = facts["tenant"], facts["activeDirectory"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in ("python", "lab"))}
    run = subprocess.run(
        ["/usr/bin/python3", "-m", "dirsync.cli", "configure", "--json", "--home", str(tmp_path),
         "--tenant-id", t["tenantId"], "--client-id", t["clientId"], "--certificate-file", t["certificateFile"],
         "--certificate-key-file", t["certificateKeyFile"], "--domain-controller", ad["server"],
         "--admin-user", ad["adminUser"], "--no-sync-now"],  # no --dc-ca-file, and no password on offer
        capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=120)
    assert run.returncode != 0
    assert "certificate is not trusted" in run.stdout + run.stderr
    assert "password is needed" not in run.stdout + run.stderr
    assert not (tmp_path / "dirsync.json").exists()
