"""The demo lab: a seeded Samba AD domain and a local Microsoft 365 tenant, running in the background,
for the README's demo and for the PowerShell end-to-end tests.

    dirsync-lab up --dir DIR        start both; print as JSON what the wizard needs
    dirsync-lab approve --dir DIR   sign the lab's administrator in at the device code DirSync shows
    dirsync-lab show --dir DIR      list what is in the tenant now
    dirsync-lab down --dir DIR      stop both and remove DIR
    dirsync-lab demo --dir DIR      the README's demo: up, then the administrator's workflow in pwsh (demo.ps1)

The tenant gets the domain's mail domain as a verified domain and two administrators: admin@ (Privileged
Role Administrator: the wizard's first page signs in as it and DirSync makes its own app) and appadmin@
(Application Administrator: may consent to the wizard's delegated permissions, but not grant Microsoft
Graph's application permissions). With `with_app`, the tests' "bring your
own app" path, it also gets an app registration "DirSync" with a certificate (DIR/app/client.pem and
client.key), as an administrator would prepare in the Entra admin center. The domain's Enterprise Admin
is the test domain's Administrator.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

START_TIMEOUT = 60.0


def up(folder: Path, *, with_app: bool = False) -> dict:
    from dirsync.cloud.writer import random_password

    from .tenant import DIRSYNC_PERMISSIONS, READER_PERMISSIONS, LocalTenant, TenantProcess
    from .tenant.pki import make_client_certificate
    from .tenant.process import LAB_ADMIN_ROLE, LAB_APP_ADMIN_ROLE
    from .tenant.store import Store
    from .testdomain import SambaDomain
    from .testdomain.seed import MAIL_DOMAIN

    folder = folder.resolve()
    domain = SambaDomain.create(folder / "dc", seeded=True).facts()
    # Its own session and a log file: the tenant outlives this command, until down().
    tenant = TenantProcess.start(folder / "tenant", log=folder / "tenant" / "tenant.log", timeout=START_TIMEOUT)
    store = Store(folder / "tenant" / "tenant.db")
    app_facts: dict = {}
    try:
        store.add_domain(MAIL_DOMAIN, False)
        initial = next(d["name"] for d in store.domains() if d["is_initial"])
        if with_app:
            certificate = make_client_certificate("DirSync")
            app_folder = folder / "app"
            app_folder.mkdir(exist_ok=True)
            (app_folder / "client.pem").write_text(certificate.cert_pem)
            key = app_folder / "client.key"
            key.touch(mode=0o600)
            key.write_text(certificate.key_pem)
            app, _ = store.register_app("DirSync", with_secret=False, cert_pem=certificate.cert_pem,
                                        public_client=False, permissions=DIRSYNC_PERMISSIONS)
            app_facts = {"clientId": app["app_id"], "certificateFile": str(app_folder / "client.pem"),
                         "certificateKeyFile": str(key)}
        reader, reader_secret = store.register_app("Demo reader", with_secret=True, cert_pem=None, public_client=False,
                                                   permissions=READER_PERMISSIONS)
        tenant_id = store.tenant_id
    finally:
        store.close()
    people = {}
    admin_api = LocalTenant.attach(folder / "tenant", tenant.url)
    try:
        for name, user, role in (("administrator", "admin", LAB_ADMIN_ROLE),
                                 ("appAdministrator", "appadmin", LAB_APP_ADMIN_ROLE)):
            # Entra's password policy wants three of the four kinds of character: random_password has all four.
            upn, password = f"{user}@{initial}", random_password()
            admin_api.add_user(upn, password, roles=[role])
            people[name] = {"userPrincipalName": upn, "password": password, "role": role}
    finally:
        admin_api.stop()
    facts = {
        "tenant": {"tenantId": tenant_id, "authorityHost": tenant.url, "graphEndpoint": tenant.url,
                   "caFile": str(folder / "tenant" / "ca.pem"), **app_facts},
        # Who signs in on the wizard's first page (and one who lacks the role to grant permissions).
        **people,
        # An app to look at the tenant with (the tests' and the demo's Graph reader), not DirSync's.
        "reader": {"clientId": reader["app_id"], "clientSecret": reader_secret},
        "activeDirectory": {"server": domain["server"], "port": domain["port"], "caFile": domain["ca_file"],
                            "baseDN": domain["base_dn"], "adminUser": domain["admin_user"],
                            "adminPassword": domain["admin_password"]},
    }
    (folder / "lab.json").write_text(json.dumps(facts, indent=2))
    os.chmod(folder / "lab.json", 0o600)
    return facts


def approve(folder: Path, *, who: str = "administrator", code: str | None = None, timeout: float = 300.0,
            decline: bool = False) -> str:
    """Signs the lab's `who` in at device code `code` (or the newest that waits), as the person at the
    sign-in page would, or declines it; returns the code. TimeoutError when none came within `timeout` s."""
    from .tenant import LocalTenant

    facts = json.loads((folder / "lab.json").read_text())
    person = facts[who]
    tenant = LocalTenant.attach(folder / "tenant", facts["tenant"]["authorityHost"])
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            pending = [p["userCode"] for p in tenant.pending_device_codes()]
            if pending and (code is None or code in pending):
                code = code or pending[-1]
                if decline:
                    tenant.decline_device_code(code)
                else:
                    tenant.approve_device_code(code, person["userPrincipalName"], person["password"])
                return code
            time.sleep(0.2)  # a person looking at the screen; the wizard polls at the tenant's interval
    finally:
        tenant.stop()
    raise TimeoutError(f"No device code was waiting for sign-in within {timeout:g} s.")


def graph_session(folder: Path):
    """A Graph session of the lab's reader app: how the demo and the tests look into the tenant."""
    import msal
    import requests

    facts = json.loads((folder / "lab.json").read_text())
    tenant, reader = facts["tenant"], facts["reader"]
    session = requests.Session()
    session.trust_env = False
    session.verify = tenant["caFile"]
    app = msal.ConfidentialClientApplication(
        reader["clientId"], client_credential=reader["clientSecret"],
        authority=f"{tenant['authorityHost']}/{tenant['tenantId']}", instance_discovery=False, http_client=session)
    token = app.acquire_token_for_client([f"{tenant['graphEndpoint']}/.default"])["access_token"]
    session.headers["Authorization"] = f"Bearer {token}"
    return session, tenant["graphEndpoint"] + "/v1.0"


def _count(session, url: str) -> int:
    count, page = 0, session.get(url, params={"$select": "id", "$top": 999}).json()
    while True:
        count += len(page["value"])
        if "@odata.nextLink" not in page:
            return count
        page = session.get(page["@odata.nextLink"]).json()


def show(folder: Path, limit: int = 12) -> None:
    """What is in the tenant now: the users and groups DirSync wrote, as Microsoft 365 has them."""
    from rich.console import Console
    from rich.table import Table

    session, graph = graph_session(folder)
    with session:
        select = "displayName,userPrincipalName,accountEnabled,jobTitle,department,onPremisesImmutableId"
        users = session.get(f"{graph}/users", params={"$select": select, "$top": limit}).json()["value"]
        counts = {kind: _count(session, f"{graph}/{kind}") for kind in ("users", "groups")}
    table = Table(title=f"Microsoft 365 (local tenant): {counts['users']} users, {counts['groups']} groups; "
                        f"the first {len(users)} users", title_justify="left")
    for column in ("displayName", "userPrincipalName", "enabled", "jobTitle", "department", "immutableId"):
        table.add_column(column, overflow="ellipsis", no_wrap=True, max_width=26)
    for user in users:
        table.add_row(user["displayName"], user["userPrincipalName"], str(user["accountEnabled"]),
                      user.get("jobTitle") or "", user.get("department") or "", user.get("onPremisesImmutableId") or "")
    Console().print(table)


def down(folder: Path) -> None:
    from .tenant import stop_detached
    from .testdomain import SambaDomain

    stop_detached(folder / "tenant")
    if (folder / "dc").exists():
        SambaDomain(folder / "dc").remove()
    shutil.rmtree(folder, ignore_errors=True)


# --- the demo: the lab, then the administrator's workflow (demo.ps1) in pwsh ----------------------------

DEMO_SCRIPT = Path(__file__).with_name("demo.ps1")


class DemoError(Exception):
    """The demo cannot run: what was wrong and what to do."""


def _demo_folders(folder: Path) -> tuple[Path, Path]:
    """DIR/lab (the lab) and DIR/home (the demo's DirSync home). DIR holds nothing else: a fresh demo
    removes them, so it refuses a folder that holds anything of somebody else's."""
    folder = folder.resolve()
    if folder.exists():
        others = sorted(p.name for p in folder.iterdir() if p.name not in ("lab", "home"))
        if others:
            raise DemoError(f"{folder} holds more than a demo ({', '.join(others[:5])}): the demo would remove "
                            "its lab/ and home/ folders. Choose a new or empty folder for --dir.")
    return folder / "lab", folder / "home"


def stop_demo(folder: Path) -> None:
    """Ends a demo (`dirsync-lab demo --stop`): its schedule unregistered, its lab down, its folder removed."""
    from dirsync.errors import DirSyncError
    from dirsync.schedule import scheduler

    lab, home = _demo_folders(folder)
    if home.exists():  # the wizard registered a schedule for it
        try:
            scheduler().unregister(home)
        except DirSyncError:
            pass  # no scheduler on this machine: nothing was registered
    if lab.exists():
        down(lab)
    shutil.rmtree(home, ignore_errors=True)
    if folder.exists() and not any(folder.iterdir()):
        folder.rmdir()


def _pwsh() -> str:
    # setup.sh installs pwsh as a .NET global tool, in ~/.dotnet/tools.
    found = shutil.which("pwsh") or shutil.which("pwsh", path=str(Path.home() / ".dotnet/tools"))
    if not found:
        raise DemoError("pwsh (PowerShell 7.4 or later) was not found on PATH: install it (docs/install.md).")
    return found


def config_shell(module: str) -> Path:
    """The DirSync shell's launcher (Start-DirSyncConfigShell.ps1) of the module `module` (a name or a .psd1)."""
    if module.endswith(".psd1"):
        return Path(module).resolve().parent / "Start-DirSyncConfigShell.ps1"
    found = subprocess.run([_pwsh(), "-NoProfile", "-NonInteractive", "-Command",
                            f"(Get-Module -ListAvailable {module} | Select-Object -First 1).ModuleBase"],
                           capture_output=True, text=True, check=True).stdout.strip()
    return Path(found) / "Start-DirSyncConfigShell.ps1"


def run_demo(folder: Path, *, module: str = "DirSync", keep: bool = False) -> int:
    """The README's demo (`dirsync-lab demo`; `bash scripts/demo.sh` runs it for a checkout): a fresh lab,
    then in pwsh the wizard (the lab approves its device code as the administrator would), a sync and its
    verification with the DirSync module `module` (a name: the installed module; or a .psd1 path), then
    what the tenant holds. The lab stays up with `keep`. Returns pwsh's exit code."""
    from rich.console import Console

    from .tenant.process import lab_environment

    console = Console(highlight=False)
    lab, home = _demo_folders(folder)
    pwsh = _pwsh()
    stop_demo(folder)  # a fresh lab each time
    console.print("[bold]==> Starting the demo lab: a Samba AD domain and the local Microsoft 365 tenant[/bold]")
    try:
        up(lab)
        # The wizard's first page signs the lab's administrator in with a device code: the lab approves
        # it as the administrator at the sign-in page would, and DirSync creates its own app.
        approver = subprocess.Popen([sys.executable, "-m", "dirsync_lab", "approve", "--dir", str(lab),
                                     "--timeout", "600"], env=lab_environment(), stdout=subprocess.DEVNULL)
        status = 1
        try:
            status = subprocess.run([pwsh, "-NoProfile", "-NonInteractive", "-File", str(DEMO_SCRIPT),
                                     "-Lab", str(lab), "-DirSyncHome", str(home), "-Module", module]).returncode
        finally:
            if status != 0:
                approver.kill()
            approver.wait()
        if status != 0:
            return status
        if approver.returncode != 0:
            raise DemoError("The lab could not approve the wizard's device code (see its error above).")
        console.print("\n[bold]==> What Microsoft 365 (the local tenant) holds now[/bold]")
        show(lab)
    finally:
        if not keep:
            stop_demo(folder)
    return 0
