"""The `dirsync` command, for a shell without pwsh: the administrator's workflow against the demo lab
(a real Samba domain and the local tenant), with --json for scripts and exit codes for schedulers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from pathlib import Path

import ldap3
import pytest

from dirsync import schedule
from dirsync.state.store import STATE_FILE_NAME
from dirsync_lab.tenant import LocalTenant
from dirsync_lab.testdomain import BASE_DN, SambaDomain

SOURCE = os.path.join(os.path.dirname(__file__), "..", "..", "python")
BULK, SALES = f"OU=Bulk,OU=Corp,{BASE_DN}", f"OU=Sales,OU=People,OU=Corp,{BASE_DN}"

@pytest.fixture(scope="module")
def lab(demo_lab, tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    yield demo_lab[1], home
    if (home / "dirsync.json").exists():
        schedule.change(enabled=False, home=str(home))


def dirsync(home, *args, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.path.abspath(SOURCE), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "dirsync.cli", *args, "--home", str(home)], input=stdin,
                          capture_output=True, text=True, env=env, timeout=300)


def test_configure_creates_the_service_account_without_keeping_the_admin_password(lab):
    facts, home = lab
    t, ad = facts["tenant"], facts["activeDirectory"]
    done = dirsync(home, "configure", "--json", "--tenant-id", t["tenantId"], "--client-id", t["clientId"],
                   "--certificate-file", t["certificateFile"], "--certificate-key-file", t["certificateKeyFile"],
                   "--authority-host", t["authorityHost"], "--graph-endpoint", t["graphEndpoint"],
                   "--tenant-ca-file", t["caFile"], "--domain-controller", ad["server"], "--dc-ca-file", ad["caFile"],
                   "--admin-user", ad["adminUser"], "--admin-password-stdin", "--no-sync-now",
                   stdin=ad["adminPassword"] + "\n")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["serviceAccount"]["user"] == f"MSOL_{result['configuration']['installationId']}@dirsync.test"
    assert result["schedule"]["enabled"] and result["syncResult"] is None
    assert ad["adminPassword"] not in done.stdout + done.stderr
    for path in home.rglob("*"):
        if path.is_file():
            assert ad["adminPassword"].encode() not in path.read_bytes(), path


def test_sync_history_and_test_for_scripts(lab):
    _, home = lab
    assert dirsync(home, "config", "set", "--exclude-ou", BULK).returncode == 0
    run = dirsync(home, "sync", "--json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["status"] == "success" and result["counts"]["added"] > 10
    preview = json.loads(dirsync(home, "sync", "--dry-run", "--json").stdout)
    assert preview["preview"] and preview["plan"] == []
    history = json.loads(dirsync(home, "history", "--last", "1", "--json").stdout)
    assert [r["runId"] for r in history] == [result["runId"]]  # a preview is not a run
    # Off, so that health does not depend on whether this machine runs a cron daemon (hardening/test_health.py).
    assert dirsync(home, "schedule", "set", "--enabled", "off").returncode == 0
    tested = dirsync(home, "test", "--json")
    report = json.loads(tested.stdout)
    assert report["healthy"] and report["objectsInCloud"] == report["objectsInScope"]
    assert tested.returncode == 0


def test_people_get_tables_and_verbose_lines(lab):
    _, home = lab
    run = dirsync(home, "sync", "--verbose")
    assert run.returncode == 0
    assert "success" in run.stdout and "added" in run.stdout
    assert "VERBOSE: Import (dirsync)" in run.stderr
    assert "success" in dirsync(home, "history").stdout


def test_a_preview_shows_the_writes_of_its_plan_and_the_run_makes_as_many(lab, demo_lab):
    folder, facts = demo_lab
    _, home = lab
    ad = facts["activeDirectory"]
    conn = SambaDomain(Path(folder) / "dc").connect(ad["adminUser"], ad["adminPassword"])
    for sam in ("jdoe", "oovergard"):  # two users' titles: one PATCH each
        conn.search(BASE_DN, f"(sAMAccountName={sam})", attributes=["title"])
        conn.modify(conn.entries[0].entry_dn, {"title": [(ldap3.MODIFY_REPLACE, [f"Title of {sam}, changed"])]})
        assert conn.result["result"] == 0, conn.result
    conn.unbind()

    preview = dirsync(home, "sync", "--dry-run")
    assert preview.returncode == 0, preview.stderr
    # 2 writes at 3,000 per 150 s: 0.1 s
    assert "Plan: 2 writes to Microsoft 365, at least 0 s at its write quota" in preview.stdout
    tenant = LocalTenant.attach(Path(folder) / "tenant", facts["tenant"]["authorityHost"])
    before = tenant.stats().get("writes", 0)
    run = dirsync(home, "sync")
    assert run.returncode == 0, run.stderr
    assert "Plan: 2 writes to Microsoft 365" in run.stdout
    assert tenant.stats().get("writes", 0) - before == 2  # the tenant's own counter
    assert "Plan:" not in dirsync(home, "sync").stdout  # nothing to write, nothing said


def test_a_run_stopped_by_the_threshold_exits_1_and_allow_deletes_lets_it_through(lab):
    _, home = lab
    assert dirsync(home, "config", "set", "--exclude-ou", BULK, "--exclude-ou", SALES,
                   "--deletion-threshold", "1").returncode == 0
    stopped = dirsync(home, "sync", "--json")
    assert stopped.returncode == 1
    assert json.loads(stopped.stdout)["status"] == "stopped-deletion-threshold-exceeded"
    allowed = dirsync(home, "sync", "--allow-deletes", "--json")
    assert allowed.returncode == 0
    assert json.loads(allowed.stdout)["counts"]["deleted"] > 1


def test_bad_input_exits_2_and_changes_nothing(lab):
    _, home = lab
    before = (home / "dirsync.json").read_bytes()
    bad = dirsync(home, "config", "set", "--exclude-ou", "Staff")
    assert bad.returncode == 2 and "'Staff' is not a distinguished name" in bad.stderr
    assert dirsync(home, "schedule", "set", "--interval-minutes", "5").returncode == 2
    assert (home / "dirsync.json").read_bytes() == before


def test_a_second_active_home_exits_1_naming_the_first_and_take_over_switches(lab, tmp_path):
    _, home = lab
    second = tmp_path / "second"
    shutil.copytree(home, second, ignore=shutil.ignore_patterns(f"{STATE_FILE_NAME}*", "*.lock"))
    refused = dirsync(second, "sync", "--json")
    assert refused.returncode == 1, refused.stderr
    result = json.loads(refused.stdout)
    assert result["status"] == "stopped-another-active-server" and "dirsync sync --take-over" in result["message"]
    taken = dirsync(second, "sync", "--take-over", "--json")
    assert taken.returncode == 0, taken.stderr
    assert json.loads(taken.stdout)["counts"]["added"] == 0
    assert json.loads(dirsync(home, "sync", "--json").stdout)["status"] == "stopped-another-active-server"
    assert dirsync(home, "sync", "--take-over", "--json").returncode == 0  # the first home is the active one again
