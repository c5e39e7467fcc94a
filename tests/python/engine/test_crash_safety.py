"""Crash safety, end to end: the sync process is killed at random points of its export, then run again.
Each time the tenant must end exactly as Active Directory says: every object once, no change lost.

The seed is random per run and printed on failure; DIRSYNC_CRASH_SEED replays one.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import ldap3
import pytest

from dirsync.state.store import StateStore
from dirsync_lab.testdomain.seed import dn

from .conftest import CORP, LEAVERS

pytestmark = pytest.mark.samba

PEOPLE = f"OU=People,{CORP}"
ENG = f"OU=Engineering,{PEOPLE}"
CHILD = Path(__file__).with_name("sync_child.py")
KILLS = 10
EXPORT = "Exporting to Microsoft 365"


def _sync_killed_at(lab, kill_at: int) -> bool:
    """Run the sync in a child process and SIGKILL it once `kill_at` export results are committed.
    False when the run finished first."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.Popen([sys.executable, str(CHILD), str(lab.home)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        for line in proc.stdout:
            event = json.loads(line)
            if event["kind"] == "progress" and event["activity"] == EXPORT:
                if event["done"] >= kill_at:
                    proc.kill()  # the child waits for our answer, so it dies mid-export
                    return True
                proc.stdin.write("\n")
                proc.stdin.flush()
            if event["kind"] == "result":
                return False
        raise AssertionError(f"the sync process ended without a result (exit code {proc.wait()})")
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stdin.close()


def _change_directory(conn, round_: int, rng: random.Random, previous: list[str]) -> list[str]:
    """A batch of every kind of change: adds with memberships, updates, a delete, a move out, a removal."""
    added = []
    for n in range(6):
        user_dn = f"CN=crash{round_}-{n},{ENG}"
        conn.add(user_dn, "user", {"sAMAccountName": f"crash{round_}-{n}", "displayName": f"Crash {round_} {n}",
                                   "userPrincipalName": f"crash{round_}-{n}@dirsync.test",
                                   "userAccountControl": 514, "title": "New"})
        conn.modify(dn("engineering"), {"member": [(ldap3.MODIFY_ADD, [user_dn])]})
        added.append(user_dn)
    for key in rng.sample(["alice", "jose", "wang", "olga", "dana", "siobhan"], 2):
        conn.modify(dn(key), {"title": [(ldap3.MODIFY_REPLACE, [f"Title of round {round_}"])]})
    if previous:
        conn.delete(previous[0])
        conn.modify_dn(previous[1], previous[1].split(",")[0], new_superior=LEAVERS)
        conn.modify(dn("engineering"), {"member": [(ldap3.MODIFY_DELETE, [previous[2]])]})
        conn.modify(previous[3], {"userAccountControl": [(ldap3.MODIFY_REPLACE, [512])]})
    return added


def _assert_tenant_matches_directory(lab) -> None:
    conn = lab.ldap()
    conn.search(PEOPLE, "(&(objectCategory=person)(objectClass=user))", attributes=[
        "objectGUID", "displayName", "title", "userAccountControl"])
    expected = {lab.anchor(e.entry_dn): {k: (v[0] if v else None) for k, v in e.entry_attributes_as_dict.items()}
                for e in conn.entries}
    conn.search(dn("engineering"), "(objectClass=group)", ldap3.BASE, attributes=["member"])
    eng_members = {lab.anchor(m) for m in conn.entries[0].member.values if m.endswith(PEOPLE)}
    conn.unbind()
    users = lab.users()  # asserts one cloud object per anchor
    assert set(users) == set(expected)
    for anchor, entry in expected.items():
        cloud = users[anchor]
        assert cloud["displayName"] == entry["displayName"]
        assert cloud["jobTitle"] == entry.get("title")
        assert cloud["accountEnabled"] == (not int(entry["userAccountControl"]) & 2)
    eng = lab.groups()[lab.anchor(dn("engineering"))]
    assert lab.members(eng["id"]) == {users[a]["id"] for a in eng_members}
    assert len(lab.get_all("users", **{"$select": "id"})) == len(users)  # nothing stray either
    with StateStore(lab.home) as store:
        assert store.integrity_check() == []


def test_killing_the_sync_during_export_loses_nothing_and_duplicates_nothing(lab):
    seed = int(os.environ.get("DIRSYNC_CRASH_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    print(f"crash-safety seed {seed}")  # shown by pytest when the test fails
    assert lab.sync()["status"] == "success"
    kills, previous, round_ = 0, [], 0
    while kills < KILLS:
        round_ += 1
        assert round_ <= 3 * KILLS, f"too few runs could be killed during export (seed {seed})"
        conn = lab.ldap()
        previous = _change_directory(conn, round_, rng, previous)
        conn.unbind()
        kill_at = rng.randint(1, 20)
        if _sync_killed_at(lab, kill_at):
            kills += 1
        rerun = lab.sync()
        assert rerun["status"] == "success", (seed, kill_at, rerun)
        _assert_tenant_matches_directory(lab)
    with StateStore(lab.home) as store:
        crashed = [r for r in store.runs() if "ended unexpectedly" in r.message]
    assert len(crashed) == kills  # each killed run is in the history as stopped-error
