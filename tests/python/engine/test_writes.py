"""Fewest writes (issue 15): a group's members go MEMBERS_PER_WRITE to a write, in the create of a new group
and by PATCH /groups/{id} (members@odata.bind); the plan's writes and their time at the write quota are in
the run result before anything is written. Counted with the tenant's own `writes` counter."""

from __future__ import annotations

import pytest

from dirsync_lab.testdomain.seed import MAIL_DOMAIN

from .conftest import CORP

pytestmark = pytest.mark.samba

OU = f"OU=Writes,{CORP}"


def _add_users(conn, prefix: str, count: int) -> list[str]:
    dns = []
    for i in range(count):
        user_dn = f"CN={prefix}{i:02d},{OU}"
        assert conn.add(user_dn, "user", {"sAMAccountName": f"{prefix}{i:02d}", "displayName": f"{prefix} {i}",
                                          "userPrincipalName": f"{prefix}{i:02d}@{MAIL_DOMAIN}",
                                          "userAccountControl": 514}), conn.result
        dns.append(user_dn)
    return dns


@pytest.fixture(scope="module")
def synced(lab):
    """The seeded domain synced once, and an OU for the users and groups these tests add."""
    assert lab.sync()["status"] == "success"
    conn = lab.ldap()
    assert conn.add(OU, "organizationalUnit"), conn.result
    conn.unbind()
    return lab


def _ids(lab, *dns: str) -> dict[str, str]:
    cloud = {**lab.users(), **lab.groups()}
    return {d: cloud[lab.anchor(d)]["id"] for d in dns}


def test_a_new_group_of_45_new_users_takes_3_writes_for_its_memberships_as_the_preview_said(synced):
    lab = synced
    conn = lab.ldap()
    members = _add_users(conn, "big", 45)
    group = f"CN=Big,{OU}"
    assert conn.add(group, "group", {"sAMAccountName": "big", "groupType": -2147483646, "member": members})
    conn.unbind()

    preview = lab.sync(preview=True)
    # 45 user creates, the group's create with 20 members, then PATCHes of 20 and 5: at 3,000 writes per
    # 150 s, 48 writes take 2.4 s at least.
    assert (preview["plannedWrites"], preview["quotaSeconds"]) == (48, 2.4)
    writes = lab.writes()
    result = lab.sync()
    assert result["status"] == "success", (result["message"], result["errors"][:3])
    assert lab.writes() - writes == result["plannedWrites"] == 48
    assert result["counts"]["membershipChanges"] == 45 and result["counts"]["added"] == 46
    ids = _ids(lab, group, *members)
    assert lab.members(ids[group]) == {ids[m] for m in members}


def test_members_added_to_a_group_one_of_them_already_there_all_end_in_the_group_without_error(synced):
    lab = synced
    conn = lab.ldap()
    group = f"CN=Some,{OU}"
    assert conn.add(group, "group", {"sAMAccountName": "some", "groupType": -2147483646})
    users = _add_users(conn, "some", 20)
    conn.unbind()
    assert lab.sync()["status"] == "success"
    ids = _ids(lab, group, *users)
    # Someone added one of them in the cloud already: Graph refuses the PATCH of 20 as a whole for it.
    added = lab.graph.post(f"{lab.graph.base}/groups/{ids[group]}/members/$ref",
                           json={"@odata.id": f"{lab.graph.base}/directoryObjects/{ids[users[3]]}"})
    assert added.status_code == 204, added.text
    conn = lab.ldap()
    conn.modify(group, {"member": [("MODIFY_ADD", users)]})
    assert conn.result["result"] == 0, conn.result
    conn.unbind()

    result = lab.sync()
    assert result["status"] == "success" and result["errors"] == [], result["errors"][:3]
    assert result["plannedWrites"] == 1 and result["counts"]["membershipChanges"] == 20
    assert lab.members(ids[group]) == set(ids[u] for u in users)
    again = lab.sync()
    assert again["changes"] == [] and again["plannedWrites"] == 0
