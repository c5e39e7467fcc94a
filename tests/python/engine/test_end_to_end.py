"""End to end: the seeded Samba domain → the engine (service.start_sync) → the local tenant over HTTPS.

The tests run in file order on one lab: the first sync, then deltas on top of it.
"""

from __future__ import annotations

import ldap3
import pytest

from dirsync import service
from dirsync_lab.testdomain.seed import BULK_COUNT, GROUPS, MAIL_DOMAIN, USERS, bulk_dn, dn

from .conftest import BULK, CORP, LEAVERS

pytestmark = pytest.mark.samba

ENG = f"OU=Engineering,OU=People,{CORP}"
SECURITY_GROUPS = [k for k, g in GROUPS.items() if g["groupType"] < 0]


def test_first_sync_writes_every_user_and_group_with_mapped_attributes_then_nothing(lab):
    result = lab.sync()
    assert result["status"] == "success", result
    assert result["mode"] == "full"
    users, groups = lab.users(), lab.groups()
    anchors = {key: lab.anchor(dn(key)) for key in [*USERS, *GROUPS, "pat", "chloe"]}
    assert set(users) == {anchors[k] for k in USERS}
    assert set(groups) == {anchors[k] for k in SECURITY_GROUPS}

    alice = users[anchors["alice"]]
    assert alice["onPremisesImmutableId"] == anchors["alice"]
    assert {k: alice[k] for k in ("displayName", "givenName", "surname", "jobTitle", "department",
                                  "companyName", "officeLocation", "streetAddress", "city", "state",
                                  "postalCode", "country", "usageLocation", "businessPhones", "mobilePhone",
                                  "faxNumber", "employeeId", "userPrincipalName", "mail", "mailNickname",
                                  "accountEnabled")} == {
        "displayName": "Alice Anderson", "givenName": "Alice", "surname": "Anderson",
        "jobTitle": "Head of Engineering", "department": "Engineering", "companyName": "DirSync Test Ltd",
        "officeLocation": "Building 1, Room 101", "streetAddress": "1 Main Street", "city": "Springfield",
        "state": "IL", "postalCode": "62701", "country": "United States", "usageLocation": "US",
        "businessPhones": ["+1 217 555 0101"], "mobilePhone": "+1 217 555 0199",
        "faxNumber": "+1 217 555 0102", "employeeId": "E1001", "userPrincipalName": f"aanderson@{MAIL_DOMAIN}",
        "mail": f"aanderson@{MAIL_DOMAIN}", "mailNickname": "aanderson", "accountEnabled": True}
    assert alice["onPremisesExtensionAttributes"]["extensionAttribute15"] == "ext15-alice"
    assert users[anchors["wang"]]["displayName"] == "王小明"
    assert users[anchors["dana"]]["accountEnabled"] is False
    assert lab.manager(users[anchors["jose"]]["id"]) == alice["id"]
    assert lab.manager(users[anchors["olga"]]["id"]) == users[anchors["jose"]]["id"]

    ids = {a: o["id"] for a, o in {**users, **groups}.items()}
    for key in SECURITY_GROUPS:
        # Members that are synced: users and nested groups; "bulk" (the bulk users) is out of scope here.
        wanted = {ids[anchors[m]] for m in GROUPS[key]["members"] if m != "bulk" and anchors[m] in ids}
        assert lab.members(groups[anchors[key]]["id"]) == wanted, key
    assert lab.members(groups[anchors["staff"]]["id"]) == {ids[anchors["engineering"]], ids[anchors["sales"]]}

    skipped = {s["dn"]: s["reason"] for s in result["skipped"]}
    assert set(skipped) == {dn("newsletter"), dn("pat"), dn("chloe")}
    assert "distribution group" in skipped[dn("newsletter")] and "contact" in skipped[dn("pat")]
    assert result["counts"]["skipped"] == 3

    writes = lab.writes()
    again = lab.sync()
    assert again["status"] == "success" and again["mode"] == "delta" and again["changes"] == []
    assert lab.writes() == writes


def _new_user(conn, sam: str, ou: str = ENG, **attrs) -> str:
    user_dn = f"CN={sam},{ou}"
    conn.add(user_dn, "user", {"sAMAccountName": sam, "userPrincipalName": f"{sam}@{MAIL_DOMAIN}",
                               "displayName": sam.title(), "userAccountControl": 514, **attrs})
    assert conn.result["result"] == 0, conn.result
    return user_dn


def _new_user_in_new_group(conn, sam: str, group: str) -> tuple[str, str]:
    user_dn, group_dn = _new_user(conn, sam), f"CN={group},{ENG}"
    conn.add(group_dn, "group", {"sAMAccountName": group, "groupType": -2147483646, "member": [user_dn]})
    assert conn.result["result"] == 0, conn.result
    return user_dn, group_dn


def test_every_kind_of_change_reaches_the_tenant_after_one_run(lab):
    conn = lab.ldap()
    added = _new_user(conn, "newhire")
    conn.modify(dn("olga"), {"title": [(ldap3.MODIFY_REPLACE, ["Head of Sales"])]})
    conn.modify_dn(dn("siobhan"), "CN=Siobhan OBrien")
    renamed = f"CN=Siobhan OBrien,{ENG}"
    conn.modify(renamed, {"displayName": [(ldap3.MODIFY_REPLACE, ["Siobhán O'Brien-Murphy"])]})
    conn.modify_dn(bulk_dn(1), "CN=bulkuser0001", new_superior=ENG)           # into scope
    conn.modify_dn(dn("orjan"), "CN=Orjan", new_superior=LEAVERS)              # out of scope
    conn.modify(dn("wang"), {"userAccountControl": [(ldap3.MODIFY_REPLACE, [514])]})   # disable
    conn.modify(dn("dana"), {"userAccountControl": [(ldap3.MODIFY_REPLACE, [512])]})   # enable
    conn.delete(dn("doe"))
    conn.modify(dn("sales"), {"member": [(ldap3.MODIFY_DELETE, [dn("olga")])]})
    conn.modify(dn("engineering"), {"member": [(ldap3.MODIFY_ADD, [added])]})
    conn.unbind()
    anchor = {k: lab.anchor(dn(k)) for k in ("olga", "wang", "dana", "sales", "engineering", "alice")}
    anchor["newhire"], anchor["siobhan"] = lab.anchor(added), lab.anchor(renamed)
    anchor["bulk1"] = lab.anchor(f"CN=bulkuser0001,{ENG}")
    anchor["orjan"] = lab.anchor(f"CN=Orjan,{LEAVERS}")
    before = lab.users()
    doe = next(a for a, u in before.items() if u["userPrincipalName"].startswith("jdoe@"))

    result = lab.sync()
    assert result["status"] == "success", result
    assert result["mode"] == "delta"
    users, groups = lab.users(), lab.groups()
    assert users[anchor["newhire"]]["accountEnabled"] is False
    assert users[anchor["olga"]]["jobTitle"] == "Head of Sales"
    assert users[anchor["siobhan"]]["displayName"] == "Siobhán O'Brien-Murphy"
    assert users[anchor["siobhan"]]["id"] == before[anchor["siobhan"]]["id"]  # renamed, not re-created
    assert anchor["bulk1"] in users
    assert anchor["orjan"] not in users and anchor["orjan"] in lab.deleted_users()
    assert users[anchor["wang"]]["accountEnabled"] is False
    assert users[anchor["dana"]]["accountEnabled"] is True
    assert doe not in users and doe in lab.deleted_users()
    assert users[anchor["olga"]]["id"] not in lab.members(groups[anchor["sales"]]["id"])
    assert users[anchor["newhire"]]["id"] in lab.members(groups[anchor["engineering"]]["id"])
    assert result["counts"]["deleted"] == 2 and result["counts"]["added"] == 2


def test_preview_writes_nothing_and_shows_exactly_the_plan_of_the_next_run(lab):
    conn = lab.ldap()
    _new_user(conn, "previewed")
    conn.modify(dn("alice"), {"department": [(ldap3.MODIFY_REPLACE, ["R&D"])]})
    conn.modify(dn("engineering"), {"member": [(ldap3.MODIFY_DELETE, [dn("wang")])]})
    conn.unbind()
    users_before, groups_before, writes = lab.users(), lab.groups(), lab.writes()
    history = len(service.sync_history(home=lab.home))

    preview = lab.sync(preview=True)
    assert preview["status"] == "success" and preview["preview"] is True
    assert (lab.users(), lab.groups(), lab.writes()) == (users_before, groups_before, writes)
    assert len(service.sync_history(home=lab.home)) == history  # a preview is not a run

    real = lab.sync()
    key = lambda c: (c["action"], c["anchor"], c.get("ref", ""))  # noqa: E731
    assert sorted(real["changes"], key=key) == sorted(preview["plan"], key=key)
    assert {c["action"] for c in real["changes"]} == {"add", "update", "removeMember"}


def test_a_upn_conflict_with_a_cloud_only_user_fails_that_user_alone_until_it_is_resolved(lab):
    upn = f"clash@{MAIL_DOMAIN}"
    cloud_only = lab.add_cloud_only_user(upn, "cloudclash")
    conn = lab.ldap()
    clash = _new_user(conn, "clash")
    other = _new_user(conn, "bystander")
    conn.unbind()

    result = lab.sync()
    assert result["status"] == "completed-export-errors"
    [error] = result["errors"]
    assert error["dn"] == clash and "UPN conflict" in error["reason"] and cloud_only in error["reason"]
    assert "SoftMatch" in error["fix"]
    assert lab.anchor(other) in lab.users()
    assert lab.graph.get(f"{lab.graph.base}/users/{cloud_only}", timeout=60).json()["displayName"] == \
        "Cloud-only Clash"  # not DirSync's: untouched

    assert lab.graph.delete(f"{lab.graph.base}/users/{cloud_only}", timeout=60).status_code == 204
    retry = lab.sync()  # nothing changed in AD: the failed user is retried from the state
    assert retry["status"] == "success" and retry["counts"]["added"] == 1
    assert lab.users()[lab.anchor(clash)]["userPrincipalName"] == upn


def test_deletes_over_the_threshold_stop_the_run_until_the_threshold_is_raised_or_deletes_allowed(lab):
    conn = lab.ldap()
    # The bulk group's 1,600 memberships are not what this test is about: keep it out of scope.
    conn.modify(dn("bulk"), {"extensionAttribute15": [(ldap3.MODIFY_REPLACE, ["NoSync"])]})
    lab.configure(exclude_ous=[LEAVERS])
    brought_in = lab.sync()  # a scope change: a full run
    assert brought_in["status"] == "success" and brought_in["mode"] == "full"
    assert brought_in["counts"]["added"] == BULK_COUNT - 1  # bulkuser0001 moved in earlier
    leaving = [bulk_dn(n) for n in range(2, 602)]
    for user_dn in leaving:
        conn.modify_dn(user_dn, user_dn.split(",")[0], new_superior=LEAVERS)
    conn.unbind()
    in_cloud = len(lab.users())

    stopped = lab.sync()
    assert stopped["status"] == "stopped-deletion-threshold-exceeded"
    assert "600 objects" in stopped["message"] and "500" in stopped["message"]
    assert stopped["counts"]["deleted"] == 0 and len(lab.users()) == in_cloud

    lab.configure(threshold=600, percentage=100)  # 600 of some 1,600 is past the 10 % too
    raised = lab.sync()
    assert raised["status"] == "success" and raised["counts"]["deleted"] == 600
    assert len(lab.users()) == in_cloud - 600
    lab.configure(threshold=500)

    conn = lab.ldap()  # back in, and out once more: this time the deletes are allowed once
    for user_dn in leaving:
        conn.modify_dn(f"{user_dn.split(',')[0]},{LEAVERS}", user_dn.split(",")[0], new_superior=BULK)
    assert lab.sync()["counts"]["restored"] == 600  # from deleted items, not created anew
    for user_dn in leaving:
        conn.modify_dn(user_dn, user_dn.split(",")[0], new_superior=LEAVERS)
    conn.unbind()
    assert lab.sync()["status"] == "stopped-deletion-threshold-exceeded"
    allowed = lab.sync(allow_deletes=True)
    assert allowed["status"] == "success" and allowed["counts"]["deleted"] == 600
    assert lab.sync()["changes"] == []


def test_a_staging_mode_run_does_not_count_as_the_last_sync(lab):
    synced = lab.sync()
    assert synced["status"] == "success" and not synced["staging"]
    conn = lab.ldap()
    conn.modify(dn("alice"), {"department": [(ldap3.MODIFY_REPLACE, ["Staged"])]})
    conn.unbind()
    lab.configure(staging_mode=True)
    try:
        staged = lab.sync()
        assert staged["status"] == "success" and staged["staging"] is True
        assert [c["action"] for c in staged["plan"]] == ["update"]
        report = service.test_sync(home=lab.home)
        # The staging run wrote nothing to the cloud: the last sync is still the run before it.
        assert report["lastSyncTime"] == synced["endTime"]
        assert report["lastRun"].run_id == staged["runId"] and report["lastRun"].staging
        assert report["pendingChanges"] == {"update": 1}
    finally:
        lab.configure(staging_mode=False)


def test_a_user_and_a_group_back_in_scope_are_restored_with_their_ids_and_memberships_until_purged(lab):
    conn = lab.ldap()
    user_dn, group_dn = _new_user_in_new_group(conn, "comeback", "Returners")
    conn.modify(dn("engineering"), {"member": [(ldap3.MODIFY_ADD, [user_dn])]})
    assert lab.sync()["status"] == "success"
    user, group = lab.anchor(user_dn), lab.anchor(group_dn)
    first = lab.users()[user]["id"], lab.groups()[group]["id"]

    def leave_and_return(meanwhile=lambda: None) -> dict:
        for moved in (user_dn, group_dn):  # out of scope: an excluded OU
            conn.modify_dn(moved, moved.split(",")[0], new_superior=LEAVERS)
        gone = lab.sync()
        assert gone["status"] == "success" and gone["counts"]["deleted"] == 2, gone
        assert user not in lab.users() and group not in lab.groups()
        meanwhile()
        for moved in (user_dn, group_dn):
            conn.modify_dn(f"{moved.split(',')[0]},{LEAVERS}", moved.split(",")[0], new_superior=ENG)
        back = lab.sync()
        assert back["status"] == "success", back
        return back

    back = leave_and_return()
    assert (back["counts"]["restored"], back["counts"]["added"]) == (2, 0)
    users, groups = lab.users(), lab.groups()
    assert (users[user]["id"], groups[group]["id"]) == first  # the same cloud objects
    assert users[user]["id"] in lab.members(groups[group]["id"])
    assert users[user]["id"] in lab.members(groups[lab.anchor(dn("engineering"))]["id"])

    # After the retention period (a tenant setting, here 0 s) deleted items are purged: created anew.
    try:
        again = leave_and_return(lambda: lab.tenant.configure(deleted_item_retention_seconds=0))
    finally:
        lab.tenant.configure(deleted_item_retention_seconds=30 * 24 * 3600)
    conn.unbind()
    assert (again["counts"]["restored"], again["counts"]["added"]) == (0, 2)
    users, groups = lab.users(), lab.groups()
    assert users[user]["id"] != first[0] and groups[group]["id"] != first[1]
    assert users[user]["id"] in lab.members(groups[group]["id"])
    assert users[user]["id"] in lab.members(groups[lab.anchor(dn("engineering"))]["id"])


def test_with_the_group_anchor_property_refused_users_still_sync_and_each_group_names_the_cause_and_fix(lab):
    conn = lab.ldap()
    user_dn, group_dn = _new_user_in_new_group(conn, "anchorless", "WaitingRoom")
    conn.modify(dn("olga"), {"title": [(ldap3.MODIFY_REPLACE, ["Chief Sales Officer"])]})
    conn.unbind()
    user, group = lab.anchor(user_dn), lab.anchor(group_dn)
    # Graph refuses an app's extensionProperties unless the app owns its registration (Application.ReadWrite.OwnedBy).
    lab.tenant.set_faults(refuse_path="extensionProperties", refuse_status=403)
    try:
        result = lab.sync()
    finally:
        lab.tenant.set_faults()
    assert result["status"] == "completed-export-errors", result
    users = lab.users()
    assert user in users and users[lab.anchor(dn("olga"))]["jobTitle"] == "Chief Sales Officer"
    [error] = [e for e in result["errors"] if e["anchor"] == group]
    assert "Authorization_RequestDenied" in error["reason"] and "owner" in error["fix"]
    assert error["code"] == "DirSync.GroupAnchorUnavailable" and len(result["errors"]) == 1
    assert "Users were synchronized" in result["message"] and "Owners" in result["message"]
    assert group not in lab.groups()

    healed = lab.sync()  # the fix made: the group and its member follow
    assert healed["status"] == "success", healed
    assert healed["counts"]["added"] == 1
    assert lab.users()[user]["id"] in lab.members(lab.groups()[group]["id"])
