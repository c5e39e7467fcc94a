"""Issue 13, item 4: a typo in IncludeOUs must not delete every synchronized object. Against the real lab: a
seeded Samba AD DC, the local tenant over HTTPS, `dirsync config set` as the administrator types it and
service.start_sync as the cmdlets and the CLI run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dirsync as package
from dirsync import config
from dirsync_lab.testdomain import BASE_DN

SOURCE = str(Path(package.__file__).parent.parent)
CORP = f"OU=Corp,{BASE_DN}"
SALES = f"OU=Sales,OU=People,{CORP}"
ENGINEERING = f"OU=Engineering,OU=People,{CORP}"


def dirsync(lab, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": SOURCE}
    return subprocess.run([sys.executable, "-m", "dirsync.cli", *args, "--home", str(lab.home), "--json"],
                          capture_output=True, text=True, env=env, timeout=120)


def set_include_ous(lab, *ous: str) -> dict:
    shown = dirsync(lab, "config", "set", *[arg for ou in ous for arg in ("--include-ou", ou)])
    assert shown.returncode == 0, shown.stdout + shown.stderr
    return json.loads(shown.stdout)


def test_an_incomplete_or_misspelt_include_ou_is_refused_naming_it_and_nothing_is_saved(lab):
    before = config.config_path(lab.home).read_bytes()
    for typo, problem in (("OU=Staff", f"is not under the domain {BASE_DN}"),
                          (f"OU=Sals,OU=People,{CORP}", "does not exist in Active Directory")):
        refused = dirsync(lab, "config", "set", "--include-ou", typo)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        error = json.loads(refused.stdout)["error"]
        assert typo in error["message"] and problem in error["message"] and "Nothing was changed" in error["message"]
        assert "--include-ou" in error["fix"]
        assert config.config_path(lab.home).read_bytes() == before
    # An OU that is there is taken, in any spelling the directory accepts.
    assert set_include_ous(lab, SALES.lower())["sync"]["includeOUs"] == [SALES.lower()]
    assert set_include_ous(lab, "")["sync"]["includeOUs"] == []


def test_the_wrong_ou_stops_for_confirmation_and_once_corrected_the_objects_are_restored_with_their_ids(lab):
    assert lab.sync()["status"] == "success"
    users, groups = lab.users(), lab.groups()
    ids = {anchor: u["id"] for anchor, u in users.items()} | {anchor: g["id"] for anchor, g in groups.items()}
    synchronized = len(ids)
    assert 3 <= synchronized < 500  # a small directory: the absolute threshold of 500 cannot protect it

    # The administrator meant the whole domain, chose Sales: most objects would leave the scope.
    set_include_ous(lab, SALES)
    writes = lab.writes()
    stopped = lab.sync()
    assert stopped["status"] == "stopped-deletion-threshold-exceeded", stopped
    deleting = sum(1 for change in stopped["plan"] if change["action"] == "delete")
    assert deleting > synchronized // 10
    assert f"delete {deleting} of the {synchronized} synchronized objects" in stopped["message"]
    assert "threshold of 10 %" in stopped["message"] and "-AllowDeletes" in stopped["message"]
    assert lab.writes() == writes and len(lab.users()) == len(users)

    allowed = lab.sync(allow_deletes=True)  # "yes, I meant it": the objects go to deleted items
    assert allowed["status"] == "success" and allowed["counts"]["deleted"] == deleting
    assert len(lab.users()) + len(lab.groups()) == synchronized - deleting

    set_include_ous(lab, "")  # the typo corrected
    back = lab.sync()
    assert back["status"] == "success", back
    assert (back["counts"]["restored"], back["counts"]["added"]) == (deleting, 0)
    users, groups = lab.users(), lab.groups()
    assert {anchor: u["id"] for anchor, u in users.items()} | {anchor: g["id"] for anchor, g in groups.items()} == ids


def test_an_include_ou_renamed_since_it_was_set_stops_the_run_before_any_write(lab):
    set_include_ous(lab, ENGINEERING, SALES, f"OU=Groups,{CORP}")
    assert lab.sync()["status"] == "success"
    conn = lab.ldap()
    assert conn.modify_dn(SALES, "OU=Vertrieb"), conn.result  # Sales renamed in AD, the filter not told
    try:
        writes, in_cloud = lab.writes(), len(lab.users())
        stopped = lab.sync()
        assert stopped["status"] == "stopped-error", stopped
        assert SALES in stopped["message"] and "does not exist in Active Directory" in stopped["message"]
        assert "before reading or writing anything" in stopped["message"]
        assert stopped["counts"]["deleted"] == 0 and lab.writes() == writes and len(lab.users()) == in_cloud
    finally:
        conn.modify_dn(f"OU=Vertrieb,OU=People,{CORP}", "OU=Sales")
        conn.unbind()
        set_include_ous(lab, "")
