"""Secrets: what DirSync keeps is readable only by the account that runs it, the Enterprise Admin
credentials are never kept, and no secret shows in any file, event, error or `--json` output of a full
scenario: the configuration wizard against the lab's DC and tenant, then synchronizations, some failing.
TLS verification is on by default, and turning it off for the DC warns at every run."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import ldap3
import pytest

from dirsync import config, secrets, service, wizard
from dirsync.bridge import plain
from dirsync.cloud import graph
from dirsync.events import Events
from dirsync.state.store import StateStore
from dirsync_lab.testdomain import ADMIN_USER, BASE_DN
from dirsync_lab.testdomain.seed import MAIL_DOMAIN

from engine.conftest import CORP

from listeners import SmtpServer, SyslogListener

from .conftest import FAST

SMTP_PASSWORD = "Smtp-Secr3t-of-the-scan"


def forms(secret: str) -> set[bytes]:
    """The ways a secret could leak into a file or an output: as text, in UTF-16 (AD's unicodePwd), in
    base64 and URL-safe base64, as JSON escapes it."""
    raw = secret.encode()
    found = {raw, secret.encode("utf-16-le"), json.dumps(secret)[1:-1].encode()}
    for data in (raw, secret.encode("utf-16-le")):
        found |= {base64.b64encode(data), base64.urlsafe_b64encode(data), base64.b64encode(data).rstrip(b"=")}
    return found


def leaks(blob: bytes, named: dict[str, str]) -> list[str]:
    return [name for name, secret in named.items() if any(form in blob for form in forms(secret))]


def edit(home: Path, **sections) -> None:
    current = config.load(home)
    config.save(replace(current, **{k: replace(getattr(current, k), **v) for k, v in sections.items()}), home)


def cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    return subprocess.run([sys.executable, "-m", "dirsync.cli", *args, "--json", "--verbose", "--home", str(home)],
                          capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def scenario(lab, tmp_path_factory):
    """The full scenario; returns (home, the secrets by name, every event, output and error seen)."""
    home = tmp_path_factory.mktemp("wizard") / "home"
    # The scope chosen beforehand (the wizard keeps it): the lab's, without its 1,600 bulk users.
    config.save(config.Configuration(sync=config.load(lab.home).sync), home)
    tenant = config.Configuration(tenant=config.load(lab.home).tenant).to_dict()["tenant"]
    app_secret = secrets.load_secret(lab.home, secrets.TENANT_CLIENT_SECRET)
    seen: list[bytes] = []
    events = Events(lambda e: seen.append(json.dumps(e, ensure_ascii=False).encode()))
    configured = plain(wizard.configure(  # the JSON form the cmdlet gets
        tenant=tenant, active_directory={"server": lab.domain.address, "port": 636, "caFile": lab.domain.ca_file,
                                         "baseDN": BASE_DN},
        admin_user=ADMIN_USER, admin_password=lab.domain.admin_password, client_secret=app_secret,
        schedule_enabled=False, sync_now=True, home=str(home), events=events))
    seen.append(json.dumps(configured).encode())
    assert configured["syncResult"]["status"] == "success", configured["syncResult"]
    named = {"Enterprise Admin password": lab.domain.admin_password, "app client secret": app_secret,
             "service account password": secrets.load_secret(home, secrets.AD_SERVICE_ACCOUNT_PASSWORD),
             "SMTP password": SMTP_PASSWORD}
    # What the runs tell goes out too: e-mail to a real SMTP server that takes the password, events to a syslog
    # socket. Both are scanned below with everything else.
    smtp = SmtpServer(tmp_path_factory.mktemp("smtp"), "dirsync-mailer", SMTP_PASSWORD).start()
    syslog = SyslogListener()
    service.change_settings(str(home), events, smtp_server="localhost", smtp_port=smtp.port,
                            smtp_username="dirsync-mailer", smtp_password=SMTP_PASSWORD, smtp_ca_file=smtp.ca_file,
                            notification_sender="dirsync@dirsync.test", notification_recipients=["admin@dirsync.test"],
                            system_log_address=syslog.address)

    conn = lab.ldap()
    conn.add(f"CN=Secret Scan,{CORP}", "user", {"sAMAccountName": "secretscan", "userAccountControl": 514,
                                                "userPrincipalName": f"secretscan@{MAIL_DOMAIN}"})
    conn.unbind()
    outputs = [cli(home, "sync"), cli(home, "history"), cli(home, "config", "show"), cli(home, "test")]

    # Failing runs: the DC unreachable, the tenant refusing the app's secret, the tenant failing every write.
    edit(home, active_directory={"port": 1})
    outputs.append(cli(home, "sync"))
    edit(home, active_directory={"port": 636})
    wrong = "Wr0ng-" + app_secret[::-1]
    named["a wrong client secret"] = wrong
    secrets.store_secret(home, secrets.TENANT_CLIENT_SECRET, wrong)
    outputs.append(cli(home, "sync"))
    secrets.store_secret(home, secrets.TENANT_CLIENT_SECRET, app_secret)
    conn = lab.ldap()
    conn.modify(f"CN=Secret Scan,{CORP}", {"title": [(ldap3.MODIFY_REPLACE, ["Changed"])]})
    conn.unbind()
    lab.tenant.set_faults(error_rate=1.0, after_commit=0.0, retry_after=0.01)
    try:
        with pytest.MonkeyPatch.context() as patch:  # short retry waits (see conftest.fast_retries)
            patch.setattr(graph, "RetryPolicy", lambda: FAST)
            failing = service.start_sync(home=home, events=events).to_dict()
    finally:
        lab.tenant.set_faults()
    seen.append(json.dumps(failing).encode())
    for out in outputs:
        seen += [out.stdout.encode(), out.stderr.encode()]
    smtp.stop()
    told = {"e-mail": len(smtp.raw), "system log": len(syslog.lines())}
    seen += smtp.raw + syslog.received
    syslog.close()
    statuses = [json.loads(o.stdout).get("status") or json.loads(o.stdout).get("error", {}).get("errorId")
                for o in outputs if o.stdout.strip().startswith("{")]
    return home, named, seen, statuses, failing, told


def test_the_scenario_ran_its_successes_and_its_failures(scenario):
    _, _, _, statuses, failing, told = scenario
    # Told by e-mail: a run stopped, then runs failing in a row. In the system log: the four runs after the
    # settings, one event each and one more for each of the three that stopped.
    assert told["e-mail"] >= 2 and told["system log"] >= 7
    assert statuses[0] == "success"
    assert "stopped-server-down" in statuses and "stopped-error" in statuses
    # Every Graph request fails: Microsoft 365 is not answering, which stops the run with no object blamed.
    assert failing["status"] == "stopped-server-down" and not failing["errors"]
    assert "stopped answering" in failing["message"]


def test_no_secret_in_any_file_of_the_dirsync_home(scenario):
    home, named, _, _, _, _ = scenario
    stored = {"service account password", "app client secret", "SMTP password"}
    for path in home.rglob("*"):
        if path.is_file():
            allowed = stored if path.parent.name == "secrets" else set()
            found = set(leaks(path.read_bytes(), named)) - allowed
            assert not found, f"{path} holds the {found}"


def test_no_secret_in_events_errors_or_json_output(scenario):
    _, named, seen, _, _, _ = scenario
    assert len(seen) > 20  # the events and outputs were captured
    for blob in seen:
        assert leaks(blob, named) == [], blob[:300]


def test_secrets_are_readable_only_by_the_account_and_the_admin_credentials_are_not_kept(scenario):
    home, named, _, _, _, _ = scenario
    folder = home / "secrets"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = sorted(p.name for p in folder.iterdir())
    assert files == sorted([secrets.AD_SERVICE_ACCOUNT_PASSWORD, secrets.TENANT_CLIENT_SECRET, secrets.SMTP_PASSWORD])
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.stat().st_uid == os.getuid()
    assert stat.S_IMODE((home / config.CONFIG_FILE_NAME).stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "dirsync-state.sqlite").stat().st_mode) == 0o600
    # A secret file others can read is refused, not used.
    path = folder / secrets.TENANT_CLIENT_SECRET
    path.chmod(0o644)
    try:
        with pytest.raises(Exception) as caught:
            secrets.load_secret(home, secrets.TENANT_CLIENT_SECRET)
        assert "chmod 600" in caught.value.fix and named["app client secret"] not in str(caught.value)
    finally:
        path.chmod(0o600)


def test_the_state_store_is_private_from_its_first_write(tmp_path):
    """Its write-ahead log holds the properties still to be written (names, phone numbers) and the errors."""
    with StateStore(tmp_path / "home") as store:
        store.begin_run("full", "manual")
        files = {p.name: stat.S_IMODE(p.stat().st_mode) for p in store.home.glob("dirsync-state.sqlite*")}
    assert set(files) == {"dirsync-state.sqlite", "dirsync-state.sqlite-wal", "dirsync-state.sqlite-shm"}
    assert set(files.values()) == {0o600}, files


def test_tls_is_verified_by_default_and_turning_it_off_for_the_dc_warns_at_every_run(scenario):
    home = scenario[0]
    assert config.Configuration().active_directory.verify_certificate is True
    assert config.load(home).active_directory.verify_certificate is True
    edit(home, active_directory={"verify_certificate": False})
    try:
        for _ in range(2):
            warnings = []
            service.start_sync(home=home, events=Events(lambda e: e["kind"] == "warning" and warnings.append(e)))
            assert any("Certificate verification is OFF" in w["message"] for w in warnings)
    finally:
        edit(home, active_directory={"verify_certificate": True})
    # Graph has no switch to turn verification off: without the tenant's CA the run stops, saying why.
    tenant_ca = config.load(home).tenant.ca_file
    edit(home, tenant={"ca_file": None})
    try:
        untrusted = service.start_sync(home=home).to_dict()
    finally:
        edit(home, tenant={"ca_file": tenant_ca})
    assert untrusted["status"] == "stopped-error" and "not trusted" in untrusted["message"]
