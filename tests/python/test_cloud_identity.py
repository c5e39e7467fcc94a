"""The wizard's first page, as the original's: an administrator signs in and DirSync makes its own cloud
identity — one app registration, its service principal, a certificate made here, exactly DirSync's Graph
application permissions — against the demo's lab: the Samba domain and a local tenant that holds nothing
but its administrators (and the tests' reader). The device code is approved through the tenant, as the
administrator at its sign-in page would; the browser flow runs in a real headless Chromium."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import webbrowser
from pathlib import Path

import pytest

from dirsync import config, schedule, secrets, service, wizard
from dirsync.bridge import plain
from dirsync.cloud.auth import TokenProvider
from dirsync.cloud.certificate import Certificate
from dirsync.cloud.graph import make_session
from dirsync.errors import AuthenticationError, NotConfiguredError, PermissionDeniedError
from dirsync.events import Events
from dirsync_lab import demo
from dirsync_lab.tenant import DIRSYNC_PERMISSIONS, LocalTenant

from hardening.test_secrets import leaks

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.samba


@pytest.fixture(scope="module")
def lab(bare_lab):
    folder, facts = bare_lab
    tenant = LocalTenant.attach(folder / "tenant", facts["tenant"]["authorityHost"])
    # Faster than Entra's defaults, still not at once: device code polls each second, and what the wizard
    # creates through Graph signs in only two seconds later.
    tenant.configure(device_code_interval=1, identity_replication_seconds=2)
    yield folder, facts, tenant
    tenant.stop()


class Approver(threading.Thread):
    """The administrator at the tenant's sign-in page, typing the code the wizard shows (its notice
    event, or the line the `dirsync configure` process prints)."""

    def __init__(self, folder: Path, who: str = "administrator", decline: bool = False):
        super().__init__(daemon=True)
        self.folder, self.who, self.decline = folder, who, decline
        self.code: str | None = None
        self.failure: Exception | None = None
        self.shown = threading.Event()

    def notice(self, message: str) -> None:
        match = re.search(r"enter the code (\S+)", message)
        if match:
            self.code = match.group(1)
            self.shown.set()

    def run(self) -> None:
        try:
            if not self.shown.wait(60):
                raise TimeoutError("The wizard showed no device code to type.")
            demo.approve(self.folder, who=self.who, code=self.code, timeout=60, decline=self.decline)
        except Exception as exc:  # noqa: BLE001 - reported by the test that started it
            self.failure = exc


def answers(facts: dict, home: Path, **more) -> dict:
    t, ad = facts["tenant"], facts["activeDirectory"]
    return dict(authority_host=t["authorityHost"], graph_endpoint=t["graphEndpoint"], tenant_ca_file=t["caFile"],
                domain_controller=ad["server"], domain_controller_ca_file=ad["caFile"], admin_user=ad["adminUser"],
                admin_password=ad["adminPassword"], use_device_code=True, sync_now=False, home=str(home),
                sign_in_timeout=60) | more


def run_wizard(lab, home: Path, *, who: str = "administrator", decline: bool = False, approve: bool = True,
               seen: list | None = None, **more) -> dict:
    folder, facts, _ = lab
    approver = Approver(folder, who, decline)
    if approve:
        approver.start()

    def sink(event: dict) -> None:
        if event["kind"] == "notice":
            approver.notice(event["message"])
        if seen is not None:
            seen.append(json.dumps(event))
    events = Events(sink)
    try:
        return plain(wizard.configure_with_answers(**answers(facts, home, **more), events=events))
    finally:
        if approve:
            approver.join(70)
            assert approver.failure is None, approver.failure


def reader(lab):
    return demo.graph_session(lab[0])


def dirsync_apps(lab) -> list[dict]:
    session, graph = reader(lab)
    with session:
        apps = session.get(f"{graph}/applications").json()["value"]
    return [a for a in apps if (a.get("uniqueName") or "").startswith("dirsync-")]


def app_of(lab, home: Path) -> list[dict]:
    unique = f"dirsync-{config.installation_id_for(home)}"
    return [a for a in dirsync_apps(lab) if a["uniqueName"] == unique]


def granted(lab, app_id: str) -> set[str]:
    session, graph = reader(lab)
    with session:
        sp = session.get(f"{graph}/servicePrincipals(appId='{app_id}')").json()
        graph_sp = session.get(f"{graph}/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')").json()
        names = {r["id"]: r["value"] for r in graph_sp["appRoles"]}
        assignments = session.get(f"{graph}/servicePrincipals/{sp['id']}/appRoleAssignments").json()["value"]
        owners = session.get(f"{graph}/applications(appId='{app_id}')/owners").json()["value"]
    assert sp["id"] in {o["id"] for o in owners}, "the app must own its registration (group anchor)"
    return {names[a["appRoleId"]] for a in assignments}


def thumbprints(app: dict) -> list[str]:
    return [base64.b64decode(k["customKeyIdentifier"]).hex().upper() for k in app["keyCredentials"]]


def signs_in(facts: dict, home: Path, certificate: Certificate) -> bool:
    cert_file = home.parent / f"{certificate.thumbprint}.pem"
    cert_file.write_text(certificate.cert_pem)
    settings = config.update(config.load(home), {"tenant": {"certificateFile": str(cert_file)}}).tenant
    session = make_session(settings)
    try:
        TokenProvider(settings, certificate.key_pem or "", session).token()
        return True
    except AuthenticationError:
        return False
    finally:
        session.close()


def assert_nothing_saved(home: Path) -> None:
    assert not (home / "dirsync.json").exists()
    assert not (home / "secrets").exists() or not any((home / "secrets").iterdir())
    with pytest.raises(NotConfiguredError):
        config.load(home)


# --- refusals: each says why and what to do; nothing is made in the tenant, nothing saved -----------------
def test_an_administrator_without_the_role_is_refused_by_name_and_nothing_is_made(lab, tmp_path):
    with pytest.raises(PermissionDeniedError) as caught:
        run_wizard(lab, tmp_path / "home", who="appAdministrator")
    assert "Privileged Role Administrator" in caught.value.message and "Global Administrator" in caught.value.message
    assert "-ClientId" in caught.value.fix
    assert app_of(lab, tmp_path / "home") == []
    assert_nothing_saved(tmp_path / "home")


def test_a_sign_in_cancelled_at_the_sign_in_page_makes_and_saves_nothing(lab, tmp_path):
    with pytest.raises(AuthenticationError) as caught:
        run_wizard(lab, tmp_path / "home", decline=True)
    assert "cancelled" in caught.value.message and caught.value.fix
    assert app_of(lab, tmp_path / "home") == []
    assert_nothing_saved(tmp_path / "home")


def test_a_sign_in_nobody_finishes_times_out_and_saves_nothing(lab, tmp_path):
    seen: list = []
    with pytest.raises(AuthenticationError) as caught:
        run_wizard(lab, tmp_path / "home", approve=False, sign_in_timeout=2, seen=seen)
    assert "timed out" in caught.value.message
    notices = [json.loads(e)["message"] for e in seen if json.loads(e)["kind"] == "notice"]
    assert notices and "enter the code" in notices[0]  # where to go and what to type
    assert_nothing_saved(tmp_path / "home")


def test_a_tenant_whose_conditional_access_blocks_device_code_sign_in_is_named_with_the_way_out(lab, tmp_path):
    tenant = lab[2]
    tenant.configure(blocked_sign_in_flows=["device_code"])
    try:
        with pytest.raises(AuthenticationError) as caught:
            run_wizard(lab, tmp_path / "home")
    finally:
        tenant.configure(blocked_sign_in_flows=[])
    assert "Conditional Access" in caught.value.message and "browser" in caught.value.fix
    assert app_of(lab, tmp_path / "home") == []
    assert_nothing_saved(tmp_path / "home")


def test_what_if_signs_in_lists_what_it_would_make_and_makes_nothing(lab, tmp_path):
    result = run_wizard(lab, tmp_path / "home", what_if=True)
    actions = [(s["action"], s["target"]) for s in result["whatIf"]]
    assert actions[0][0] == "create" and "app registration" in actions[0][1]
    assert {t for a, t in actions if a == "grant"} == set(DIRSYNC_PERMISSIONS)
    assert result["signedInAs"] == lab[1]["administrator"]["userPrincipalName"]
    assert app_of(lab, tmp_path / "home") == []
    assert_nothing_saved(tmp_path / "home")


# --- the identity: made once, found again, rotated ------------------------------------------------------
def _unschedule(home: Path) -> None:
    """The wizard registers the schedule in the real crontab: a test's home must not stay there."""
    if (home / "dirsync.json").exists():
        schedule.change(enabled=False, home=str(home))


@pytest.fixture(autouse=True)
def _no_schedule_left(tmp_path):
    yield
    _unschedule(tmp_path / "home")


@pytest.fixture(scope="module")
def configured(lab, tmp_path_factory):
    """A home the wizard configured from a tenant holding only its administrators; (home, result, seen)."""
    home = tmp_path_factory.mktemp("identity") / "home"
    seen: list = []
    result = run_wizard(lab, home, seen=seen, sync_now=True)
    yield home, result, seen
    _unschedule(home)


def test_from_a_tenant_holding_only_an_administrator_the_wizard_makes_one_app_and_the_first_sync_succeeds(
        lab, configured):
    home, result, _ = configured
    assert result["syncResult"]["status"] == "success", result["syncResult"]
    apps = app_of(lab, home)
    assert len(apps) == 1
    app = apps[0]
    identity = result["cloudIdentity"]
    assert identity["created"] and identity["appId"] == app["appId"] == config.load(home).tenant.client_id
    assert app["signInAudience"] == "AzureADMyOrg" and app["displayName"].startswith("DirSync (")
    assert thumbprints(app) == [identity["certificateThumbprint"]]
    assert granted(lab, app["appId"]) == set(DIRSYNC_PERMISSIONS)


def test_what_if_on_a_configured_installation_lists_the_rotation_and_changes_nothing(lab, configured):
    home, result, _ = configured
    before = app_of(lab, home)
    steps = run_wizard(lab, home, what_if=True)["whatIf"]
    assert [s["action"] for s in steps] == ["add", "remove"]  # the app, its grants and owner are as they should be
    assert steps[1]["target"] == f"certificate {result['cloudIdentity']['certificateThumbprint']}"
    assert app_of(lab, home) == before


def test_no_token_or_administrator_credential_is_on_disk_or_in_any_output(lab, configured):
    home, result, seen = configured
    issued = lab[2].issued_user_tokens()
    named = {f"{kind} {n}": token for kind, tokens in issued.items() for n, token in enumerate(tokens)}
    assert any(k.startswith("refreshTokens") for k in named), "the administrator's sign-in issued tokens"
    named["the tenant administrator's password"] = lab[1]["administrator"]["password"]
    named["the Enterprise Admin password"] = lab[1]["activeDirectory"]["adminPassword"]
    for path in home.rglob("*"):
        if path.is_file():
            assert leaks(path.read_bytes(), named) == [], path
    for blob in seen + [json.dumps(result)]:
        assert leaks(blob.encode(), named) == [], blob[:200]


def test_rerunning_the_wizard_keeps_one_app_and_rotates_the_certificate(lab, configured):
    home, first, _ = configured
    old = Certificate(Path(config.load(home).tenant.certificate_file).read_text(),
                      secrets.load_secret(home, secrets.TENANT_CERTIFICATE_KEY))
    again = run_wizard(lab, home)
    assert again["cloudIdentity"]["appId"] == first["cloudIdentity"]["appId"] and not again["cloudIdentity"]["created"]
    apps = app_of(lab, home)
    assert len(apps) == 1
    assert thumbprints(apps[0]) == [again["cloudIdentity"]["certificateThumbprint"]] != [old.thumbprint]
    assert not signs_in(lab[1], home, old)
    assert service.start_sync(home=home).status == "success"


def test_update_credential_rotates_the_certificate_as_the_app_itself(lab, configured):
    home, _, _ = configured
    old = Certificate(Path(config.load(home).tenant.certificate_file).read_text(),
                      secrets.load_secret(home, secrets.TENANT_CERTIFICATE_KEY))
    what_if = plain(service.update_credential(home, what_if=True))
    assert [s["action"] for s in what_if["whatIf"]] == ["add", "remove"]
    result = service.update_credential(home)
    assert result["removedThumbprints"] == [old.thumbprint] != [result["certificateThumbprint"]]
    assert thumbprints(app_of(lab, home)[0]) == [result["certificateThumbprint"]]
    assert not signs_in(lab[1], home, old)
    assert service.start_sync(home=home).status == "success"


def test_test_sync_warns_the_set_number_of_days_before_the_certificate_expires(lab, configured):
    home, _, _ = configured
    report = service.test_sync(home)
    assert report["credentialExpires"] and not any("certificate" in r for r in report["reasons"])
    service.change_settings(str(home), credential_expiry_warning_days=365)  # the certificate lasts a year
    try:
        reasons = service.test_sync(home)["reasons"]
    finally:
        service.change_settings(str(home), credential_expiry_warning_days=30)
    assert any("expires on" in r and "Update-CoexistenceCredential" in r for r in reasons), reasons


def test_a_wizard_killed_after_it_made_the_app_is_completed_by_the_next_not_duplicated(lab, tmp_path):
    folder, facts, _ = lab
    home = tmp_path / "home"
    t, ad = facts["tenant"], facts["activeDirectory"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    approver = Approver(folder)
    approver.start()
    wizard_process = subprocess.Popen(
        [sys.executable, "-m", "dirsync.cli", "configure", "--device-code", "--authority-host", t["authorityHost"],
         "--graph-endpoint", t["graphEndpoint"], "--tenant-ca-file", t["caFile"], "--domain-controller", ad["server"],
         "--dc-ca-file", ad["caFile"], "--admin-user", ad["adminUser"], "--admin-password-stdin", "--no-sync-now",
         "--home", str(home)], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env=env, text=True)
    wizard_process.stdin.write(ad["adminPassword"] + "\n")
    wizard_process.stdin.close()
    threading.Thread(target=lambda: [approver.notice(line) for line in wizard_process.stderr], daemon=True).start()
    deadline = time.monotonic() + 90
    while not app_of(lab, home) and time.monotonic() < deadline and wizard_process.poll() is None:
        time.sleep(0.1)
    assert wizard_process.poll() is None, "the wizard ended before it made the app"
    wizard_process.send_signal(signal.SIGKILL)  # while it waits for the new app to replicate
    wizard_process.wait(10)
    approver.join(70)
    made = app_of(lab, home)
    assert len(made) == 1
    assert_nothing_saved(home)

    result = run_wizard(lab, home)
    assert result["cloudIdentity"]["appId"] == made[0]["appId"]
    assert len(app_of(lab, home)) == 1 and len(app_of(lab, home)[0]["keyCredentials"]) == 1
    assert granted(lab, made[0]["appId"]) == set(DIRSYNC_PERMISSIONS)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium: run scripts/setup.sh")
def test_the_browser_sign_in_through_a_real_headless_chromium_makes_the_app(lab, tmp_path, monkeypatch):
    _, facts, _ = lab
    # MSAL opens the sign-in page with Python's webbrowser, which runs $BROWSER: here the Chromium driver,
    # in the background (with "&"), as a browser is while MSAL's loopback listener waits for its redirect.
    monkeypatch.setenv("BROWSER", f"node {ROOT / 'tests/browser/sign-in.mjs'} %s &")
    monkeypatch.setattr(webbrowser, "_tryorder", None)  # webbrowser reads $BROWSER once, at its first use
    monkeypatch.setenv("DIRSYNC_SIGNIN_USER", facts["administrator"]["userPrincipalName"])
    monkeypatch.setenv("DIRSYNC_SIGNIN_PASSWORD", facts["administrator"]["password"])
    result = run_wizard(lab, tmp_path / "home", approve=False, use_device_code=False, sign_in_timeout=120)
    assert result["cloudIdentity"]["created"]
    assert len(app_of(lab, tmp_path / "home")) == 1
    assert config.load(tmp_path / "home").tenant.client_id == result["cloudIdentity"]["appId"]


def test_dirsync_configure_what_if_signs_in_with_the_code_it_prints_and_changes_nothing(lab, tmp_path):
    folder, facts, _ = lab
    home = tmp_path / "home"
    t = facts["tenant"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    approver = Approver(folder)
    approver.start()
    # stdout to a file: the thread below must be stderr's only reader (communicate() would read it too,
    # and take the line with the code from the approver now and then).
    with open(tmp_path / "stdout.txt", "w") as stdout:
        process = subprocess.Popen(
            [sys.executable, "-m", "dirsync.cli", "configure", "--device-code", "--what-if", "--authority-host",
             t["authorityHost"], "--graph-endpoint", t["graphEndpoint"], "--tenant-ca-file", t["caFile"],
             "--home", str(home)], stdout=stdout, stderr=subprocess.PIPE, env=env, text=True)
    threading.Thread(target=lambda: [approver.notice(line) for line in process.stderr], daemon=True).start()
    process.wait(120)
    out = (tmp_path / "stdout.txt").read_text()
    approver.join(70)
    assert approver.failure is None, approver.failure
    assert process.returncode == 0, out
    assert f"Signed in as {facts['administrator']['userPrincipalName']}; nothing was changed." in out
    assert re.search(r"What if: create app registration 'DirSync \(", out)
    assert all(f"What if: grant {name}:" in out for name in DIRSYNC_PERMISSIONS)
    assert app_of(lab, home) == []
    assert_nothing_saved(home)
