"""Writes Microsoft 365 refuses for one property, against the real Samba DC and the local tenant: a disable
reaches the cloud even while the same user's new UPN is in conflict, two synced users that swap UPNs
converge (also when the run is killed in the middle), a conflict names its holder and the right fix, and a
rerun after a crash writes to the objects it adopts only what they lack.
"""

from __future__ import annotations

import itertools

import ldap3
import pytest

from dirsync.engine import planner
from dirsync.state.store import StateStore
from dirsync_lab.testdomain.seed import MAIL_DOMAIN

from engine import test_crash_safety as crash
from engine.conftest import CORP

WRITES = f"OU=ConflictingWrites,{CORP}"
ENABLED, DISABLED = 544, 546  # NORMAL_ACCOUNT | PASSWD_NOTREQD, and with ACCOUNTDISABLE
_serial = itertools.count(1)


@pytest.fixture(scope="module")
def writes_lab(lab):
    conn = lab.ldap()
    conn.add(WRITES, "organizationalUnit")
    conn.unbind()
    assert lab.sync()["status"] == "success"
    return lab


def _add_user(conn, prefix: str, **attrs) -> tuple[str, str]:
    """A new enabled user under OU=ConflictingWrites: (dn, upn). The UPN's prefix is not the sAMAccountName:
    Samba keeps each UPN from implying another user's sAMAccountName, which would forbid a swap."""
    sam = f"{prefix}{next(_serial)}"
    upn = f"u.{sam}@{MAIL_DOMAIN}"
    user_dn = f"CN={sam},{WRITES}"
    conn.add(user_dn, "user", {"sAMAccountName": sam, "userPrincipalName": upn, "displayName": sam,
                               "userAccountControl": ENABLED, **attrs})
    assert conn.result["result"] == 0, conn.result
    return user_dn, upn


def _modify(conn, user_dn: str, **attrs) -> None:
    conn.modify(user_dn, {k: [(ldap3.MODIFY_REPLACE, [v])] for k, v in attrs.items()})
    assert conn.result["result"] == 0, conn.result


def _swap_upns(conn, a: str, b: str) -> None:
    """A takes B's UPN and B takes A's, through a third value (the directory itself keeps them unique)."""
    upn_a, upn_b = (_read(conn, x, "userPrincipalName") for x in (a, b))
    _modify(conn, a, userPrincipalName=f"swapping-{next(_serial)}@{MAIL_DOMAIN}")
    _modify(conn, b, userPrincipalName=upn_a)
    _modify(conn, a, userPrincipalName=upn_b)


def _read(conn, user_dn: str, attr: str) -> str:
    conn.search(user_dn, "(objectClass=*)", ldap3.BASE, attributes=[attr])
    return str(conn.entries[0][attr].value)


def _cloud_only(lab, upn: str) -> str:
    response = lab.graph.post(f"{lab.graph.base}/users", json={
        "accountEnabled": True, "displayName": "Cloud-only holder", "mailNickname": upn.split("@")[0],
        "userPrincipalName": upn, "passwordProfile": {"password": "Cl0ud-only-Passw0rd!"}}, timeout=60)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_a_leaver_is_disabled_in_the_cloud_even_while_its_new_upn_is_taken(writes_lab):
    lab = writes_lab
    conn = lab.ldap()
    leaver, _ = _add_user(conn, "leaver")
    assert lab.sync()["status"] == "success"
    taken = f"taken{next(_serial)}@{MAIL_DOMAIN}"
    holder = _cloud_only(lab, taken)
    _modify(conn, leaver, userPrincipalName=taken, userAccountControl=str(DISABLED), title="Left")
    conn.unbind()

    result = lab.sync()
    cloud = lab.users()[lab.anchor(leaver)]
    assert cloud["accountEnabled"] is False  # the leaver cannot sign in any more
    assert result["status"] == "completed-export-errors"
    [error] = result["errors"]
    assert error["dn"] == leaver and "UPN conflict" in error["reason"] and holder in error["reason"]
    assert cloud["userPrincipalName"] != taken and cloud["jobTitle"] is None  # the rest waits for the UPN

    assert lab.graph.delete(f"{lab.graph.base}/users/{holder}", timeout=60).status_code == 204
    assert lab.sync()["status"] == "success"
    cloud = lab.users()[lab.anchor(leaver)]
    assert (cloud["userPrincipalName"], cloud["jobTitle"], cloud["accountEnabled"]) == (taken, "Left", False)


def test_two_synced_users_that_swap_upns_converge_in_one_run(writes_lab):
    lab = writes_lab
    conn = lab.ldap()
    (a, upn_a), (b, upn_b) = _add_user(conn, "swapa"), _add_user(conn, "swapb")
    assert lab.sync()["status"] == "success"
    _swap_upns(conn, a, b)
    conn.unbind()

    result = lab.sync()
    assert (result["status"], result["errors"]) == ("success", [])
    assert result["counts"]["updated"] == 2
    users = lab.users()
    assert (users[lab.anchor(a)]["userPrincipalName"], users[lab.anchor(b)]["userPrincipalName"]) == (upn_b, upn_a)
    writes = lab.writes()
    again = lab.sync()
    assert again["counts"]["updated"] == 0 and lab.writes() == writes  # settled: nothing written again


@pytest.mark.parametrize("kill_at", [1, 2, 3])
def test_a_upn_swap_killed_in_the_middle_converges_on_the_next_run(writes_lab, kill_at):
    lab = writes_lab
    conn = lab.ldap()
    (a, upn_a), (b, upn_b) = _add_user(conn, "killa"), _add_user(conn, "killb")
    assert lab.sync()["status"] == "success"
    _swap_upns(conn, a, b)
    conn.unbind()

    assert crash._sync_killed_at(lab, kill_at)  # 4 writes: both users moved aside, then both renamed
    rerun = lab.sync()
    assert (rerun["status"], rerun["errors"]) == ("success", [])
    users = lab.users()
    assert (users[lab.anchor(a)]["userPrincipalName"], users[lab.anchor(b)]["userPrincipalName"]) == (upn_b, upn_a)
    assert not [u for u in lab.get_all("users", **{"$select": "userPrincipalName"})
                if u["userPrincipalName"].startswith("dirsync-vacated-")]  # no one left aside


def test_a_conflict_with_a_synced_user_names_it_and_says_to_change_one_of_the_two_in_ad(writes_lab):
    lab = writes_lab
    domains = [d["name"] for o in lab.get_all("organization") for d in o["verifiedDomains"]]
    initial = next(d for d in domains if d.endswith(".onmicrosoft.com"))
    conn = lab.ldap()
    sam = f"twin{next(_serial)}"
    holder, _ = _add_user(conn, "holder", userPrincipalName=f"{sam}@{initial}")
    assert not [e for e in lab.sync()["errors"] if e["dn"] == holder]
    # Not verified in the tenant: Microsoft 365 gets sam@<initial domain>, the holder's UPN.
    claimant, _ = _add_user(conn, "claimant", userPrincipalName=f"{sam}@corp.example")

    result = lab.sync()
    [error] = [e for e in result["errors"] if e["dn"] == claimant]
    assert f"'{sam}@corp.example'" in error["reason"]  # as Active Directory has it
    assert f"{sam}@{initial}" in error["reason"] and holder in error["reason"]
    assert "Change the userPrincipalName of one of the two in Active Directory" in error["fix"]
    assert "delete" not in error["fix"].lower()
    _modify(conn, claimant, userPrincipalName=f"{sam}.2@corp.example")  # the fix, as it says
    conn.unbind()
    assert lab.sync()["status"] == "success"


def test_a_conflict_with_a_cloud_only_user_says_to_rename_or_delete_that_cloud_user(writes_lab):
    lab = writes_lab
    conn = lab.ldap()
    taken = f"cloudtaken{next(_serial)}@{MAIL_DOMAIN}"
    holder = _cloud_only(lab, taken)
    claimant, _ = _add_user(conn, "claim", userPrincipalName=taken)
    conn.unbind()
    result = lab.sync()
    [error] = [e for e in result["errors"] if e["dn"] == claimant]
    assert f"'{taken}'" in error["reason"] and holder in error["reason"] and "not synchronized" in error["reason"]
    assert "Rename or delete the cloud user" in error["fix"]
    assert lab.graph.delete(f"{lab.graph.base}/users/{holder}", timeout=60).status_code == 204
    assert lab.sync()["status"] == "success"


def test_a_rerun_after_a_crash_between_creates_and_their_commits_writes_only_what_is_missing(writes_lab):
    lab = writes_lab
    conn = lab.ldap()
    new = [_add_user(conn, "adopt", title="First")[0] for _ in range(6)]
    conn.unbind()
    assert crash._sync_killed_at(lab, 1)  # all six created in one $batch, one result committed
    with StateStore(lab.home) as store:
        [known] = [d for d in new if store.staged(lab.anchor(d)).cloud_id]
    changed = next(d for d in new if d != known)
    conn = lab.ldap()
    _modify(conn, changed, title="Second")  # changed in AD meanwhile: the one property to write
    conn.unbind()

    writes = lab.writes()
    rerun = lab.sync()
    assert rerun["status"] == "success"
    assert lab.writes() - writes == 1
    assert (rerun["counts"]["adopted"], rerun["counts"]["adoptedUnchanged"]) == (5, 4)
    users = lab.users()
    assert {d: users[lab.anchor(d)]["jobTitle"] for d in new} == {d: "Second" if d == changed else "First" for d in new}
    writes = lab.writes()
    assert lab.sync()["counts"]["updated"] == 0 and lab.writes() == writes


def test_the_temporary_upn_is_in_the_initial_domain_and_unique_per_user():
    first, second = planner.vacated_upn("a1", "contoso.onmicrosoft.com"), planner.vacated_upn("b2", "x")
    assert first.endswith("@contoso.onmicrosoft.com") and first != planner.vacated_upn("b2", "contoso.onmicrosoft.com")
    assert second == planner.vacated_upn("b2", "x")  # the same at every run: a rerun repeats it harmlessly
