"""GraphTarget, the engine's Target, against the local tenant: what each op does and how it is reported."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from dirsync.cloud.writer import marker_text, random_password
from dirsync.engine.ports import ActiveServer, CloudOp
from dirsync.events import Events
from dirsync.vocabulary import CloudAction, Outcome
from dirsync_lab.tenant import DIRSYNC_PERMISSIONS, LocalTenant

from .conftest import unique


def create_user(target, domain, anchor=None, upn=None):
    nick = unique()
    op = CloudOp("create", "user", anchor=anchor or unique("anchor"), properties={
        "accountEnabled": True, "displayName": nick, "mailNickname": nick,
        "userPrincipalName": upn or f"{nick}@{domain}", "usageLocation": "US"})
    [result] = target.apply([op])
    return result


def test_verified_domains(target):
    assert {"contoso.com", "contoso.onmicrosoft.com"} <= set(target.verified_domains())


def test_users_are_found_by_anchor_exactly_and_by_upn(target, domain):
    created = create_user(target, domain, anchor="AbC+/=")
    assert created.outcome == "created" and created.cloud_id
    # The directory compares case-insensitively; base64 anchors differ by case, so the connector does not.
    found = target.find_by_anchors("user", ["AbC+/=", "abc+/=", "missing"])
    assert list(found) == ["AbC+/="] and found["AbC+/="].cloud_id == created.cloud_id
    upn = created.op.properties["userPrincipalName"]
    assert target.find_user_by_upn(upn.upper()).anchor == "AbC+/="
    assert target.find_user_by_upn(f"nobody@{domain}") is None


def test_groups_carry_their_anchor_in_the_apps_extension_property(target, graph, cert_app):
    app, _ = cert_app
    [group] = target.apply([CloudOp("create", "group", anchor="G+1==", properties={
        "displayName": "Sales", "mailNickname": unique("sales")})])
    assert group.outcome == "created"
    assert target.group_anchor_property == f"extension_{app.app_id.replace('-', '')}_dirSyncAnchor"
    assert target.find_by_anchors("group", ["G+1=="])["G+1=="].cloud_id == group.cloud_id
    got = graph.get(f"{graph.base}/groups/{group.cloud_id}", params={"$select": target.group_anchor_property})
    assert got.json()[target.group_anchor_property] == "G+1=="


def test_the_active_server_marker_is_kept_on_the_apps_own_registration(target, graph, cert_app):
    app, _ = cert_app
    prop = f"extension_{app.app_id.replace('-', '')}_dirSyncActiveServer"
    server = ActiveServer(unique("server"), "host-" + "h" * 300, "2026-01-02T03:04:05.000Z")
    target.mark_active(server)  # registers the extension on first use, then sets it on the app
    found = target.active_server()
    assert (found.server_id, found.last_run) == (server.server_id, server.last_run)
    assert server.host.startswith(found.host) and len(marker_text(server)) == 256  # shortened to fit, not refused
    raw = graph.get(f"{graph.base}/applications(appId='{app.app_id}')", params={"$select": prop})
    assert json.loads(raw.json()[prop])["serverId"] == server.server_id
    written = graph.patch(f"{graph.base}/applications(appId='{app.app_id}')", json={prop: "not DirSync's"})
    assert written.status_code == 204, written.text
    assert target.active_server().server_id == "unknown"  # a value DirSync did not write is never "no marker"


def test_groups_are_looked_up_with_eq_or_as_documented_for_extensions_and_in_is_refused(target, graph):
    prop = target.group_anchor_property
    refused = graph.get(f"{graph.base}/groups", params={"$filter": f"{prop} in ('a','b')"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "Request_UnsupportedQuery")
    assert graph.get(f"{graph.base}/groups", params={"$filter": f"{prop} eq 'a' or {prop} eq 'b'"}).ok


def test_a_refused_group_anchor_property_is_a_group_anchor_error_with_the_fix(tenant, cert_app, client_cert):
    from dirsync.cloud.writer import GraphTarget
    from dirsync.errors import GroupAnchorError
    app, cert_file = cert_app
    # A new connector has no cached property name: it asks for it, as every run does.
    fresh = GraphTarget(tenant.tenant_settings(app, "certificate", cert_file), client_cert.key_pem)
    tenant.set_faults(refuse_path="extensionProperties", refuse_status=403)
    with pytest.raises(GroupAnchorError) as caught:
        fresh.find_by_anchors("group", ["G+1=="])
    assert "403 Authorization_RequestDenied" in caught.value.message and "Owners" in caught.value.fix
    assert fresh.find_by_anchors("user", ["nobody"]) == {}  # users do not need it
    fresh.close()


def test_membership_manager_update_and_delete(target, graph, domain):
    alice, bob = create_user(target, domain), create_user(target, domain)
    [group] = target.apply([CloudOp("create", "group", anchor=unique("g"), properties={
        "displayName": "Team", "mailNickname": unique("team")})])
    ops = [CloudOp(CloudAction.add_member, "group", group.op.anchor, group.cloud_id, ref_id=alice.cloud_id),
           CloudOp(CloudAction.add_member, "group", group.op.anchor, group.cloud_id, ref_id=bob.cloud_id),
           CloudOp(CloudAction.set_manager, "user", alice.op.anchor, alice.cloud_id, ref_id=bob.cloud_id),
           CloudOp("update", "user", alice.op.anchor, alice.cloud_id, properties={"department": "Sales"})]
    assert [r.outcome for r in target.apply(ops)] == ["updated"] * 4
    members = graph.get(f"{graph.base}/groups/{group.cloud_id}/members").json()["value"]
    assert {m["id"] for m in members} == {alice.cloud_id, bob.cloud_id}
    assert graph.get(f"{graph.base}/users/{alice.cloud_id}/manager").json()["id"] == bob.cloud_id
    assert graph.get(f"{graph.base}/users/{alice.cloud_id}?$select=department").json()["department"] == "Sales"
    # Adding a member again leaves the wanted state in place: reported as done, not as a failure.
    [again] = target.apply([ops[0]])
    assert again.outcome == "updated"
    removals = [CloudOp(CloudAction.remove_member, "group", group.op.anchor, group.cloud_id, ref_id=bob.cloud_id),
                CloudOp(CloudAction.remove_manager, "user", alice.op.anchor, alice.cloud_id),
                CloudOp("delete", "user", bob.op.anchor, bob.cloud_id)]
    assert [r.outcome for r in target.apply(removals)] == ["updated", "updated", "deleted"]
    [gone] = target.apply([removals[2]])
    assert (gone.outcome, gone.error_code) == (Outcome.not_found, "Request_ResourceNotFound")


def test_a_upn_held_by_another_object_is_a_conflict(target, domain):
    first = create_user(target, domain)
    second = create_user(target, domain, upn=first.op.properties["userPrincipalName"])
    assert (second.outcome, second.error_code) == ("conflict", "Request_BadRequest")
    assert "userPrincipalName already exists" in second.message


def test_a_create_sent_twice_is_reported_created_once(target, domain):
    # What a lost answer looks like to the connector: the same create (same anchor) arrives again.
    first = create_user(target, domain)
    [again] = target.apply([first.op])
    assert (again.outcome, again.cloud_id) == ("created", first.cloud_id)


def test_the_initial_password_is_strong_and_never_shown(tenant, target, graph, domain):
    shown = []
    target.graph.events = Events(shown.append)
    tenant.set_faults(throttle_next=1, retry_after=0.01)  # make the connector talk about its retries
    created = create_user(target, domain)
    assert created.outcome == "created" and shown
    passwords = [random_password() for _ in range(50)]
    assert all(len(p) == 24 and any(c.isdigit() for c in p) and any(c.isupper() for c in p) for p in passwords)
    assert len(set(passwords)) == 50
    assert "password" not in json.dumps(shown).lower() and "password" not in repr(created).lower()
    # The tenant accepted it (it checks complexity) and, like Graph, never gives it back.
    got = graph.get(f"{graph.base}/users/{created.cloud_id}", params={"$select": "passwordProfile"})
    assert got.json()["passwordProfile"] is None


def test_delta_reports_changes_and_removals(target, graph, domain):
    link = None
    page = graph.get(f"{graph.base}/users/delta").json()
    while "@odata.nextLink" in page:
        page = graph.get(page["@odata.nextLink"]).json()
    link = page["@odata.deltaLink"]
    changed, removed = create_user(target, domain), create_user(target, domain)
    list(target.apply([CloudOp("delete", "user", removed.op.anchor, removed.cloud_id)]))  # sent as iterated
    delta = graph.get(link).json()
    by_id = {item["id"]: item for item in delta["value"]}
    assert by_id[changed.cloud_id]["userPrincipalName"] == changed.op.properties["userPrincipalName"]
    assert by_id[removed.cloud_id]["@removed"] == {"reason": "changed"}  # restorable from deletedItems
    assert graph.get(delta["@odata.deltaLink"]).json()["value"] == []


def test_paging_follows_next_links(target, graph, domain):
    for _ in range(3):
        create_user(target, domain)
    everyone = list(target.graph.pages("users", params={"$top": "2", "$select": "id"}))
    count = graph.get(f"{graph.base}/users/$count", headers={"ConsistencyLevel": "eventual"}).text
    assert len(everyone) == int(count) and len({u["id"] for u in everyone}) == len(everyone)


def test_state_survives_a_restart_and_the_ca_stays(tmp_path):
    with LocalTenant(tmp_path) as first:
        ca = first.ca_file.read_bytes()
        tenant_id = first.tenant_id
        first.add_domain("fabrikam.com")
    with LocalTenant(tmp_path) as second:
        assert (second.tenant_id, second.ca_file.read_bytes()) == (tenant_id, ca)
        app = second.register_app(secret=True, permissions=DIRSYNC_PERMISSIONS)
        from dirsync.cloud.writer import GraphTarget
        target = GraphTarget(second.tenant_settings(app, "secret"), app.secret)
        assert "fabrikam.com" in target.verified_domains()
        target.close()


def test_the_cli_registers_an_app_with_a_generated_certificate(tenant, tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    out = subprocess.run([sys.executable, "-m", "dirsync_lab", "tenant", "register-app", "--data",
                          str(tenant.data_dir), "--generate-certificate", str(tmp_path),
                          *(f"--permission={p}" for p in DIRSYNC_PERMISSIONS)],
                         capture_output=True, text=True, check=True, env=env)
    registered = json.loads(out.stdout)
    assert registered["tenantId"] == tenant.tenant_id and "clientSecret" not in registered
    from dirsync.cloud.writer import GraphTarget
    settings = tenant.tenant_settings(type("App", (), {"app_id": registered["clientId"]})(), "certificate",
                                      registered["certificateFile"])
    target = GraphTarget(settings, (tmp_path / "client.key").read_text())
    assert target.verified_domains()
    target.close()


def test_deleted_users_and_groups_are_found_in_deleted_items_restored_and_purged_after_retention(
        tenant, target, graph, domain):
    alice = create_user(target, domain)
    [group] = target.apply([CloudOp("create", "group", anchor=unique("g"), properties={
        "displayName": "Team", "mailNickname": unique("team")})])
    list(target.apply([CloudOp(CloudAction.add_member, "group", group.op.anchor, group.cloud_id,
                               ref_id=alice.cloud_id)]))
    list(target.apply([CloudOp(CloudAction.delete, "user", alice.op.anchor, alice.cloud_id),
                       CloudOp(CloudAction.delete, "group", group.op.anchor, group.cloud_id)]))
    # Security groups go to deleted items too (https://learn.microsoft.com/graph/api/group-delete), anchor kept.
    listed = graph.get(f"{graph.base}/directory/deletedItems/microsoft.graph.group",
                       params={"$select": f"id,{target.group_anchor_property}"}).json()["value"]
    assert {"id": group.cloud_id, target.group_anchor_property: group.op.anchor} in [
        {k: v for k, v in g.items() if k != "deletedDateTime"} for g in listed]
    users = target.find_by_anchors("user", [alice.op.anchor])
    groups = target.find_by_anchors("group", [group.op.anchor])
    assert (users[alice.op.anchor].cloud_id, users[alice.op.anchor].deleted) == (alice.cloud_id, True)
    assert (groups[group.op.anchor].cloud_id, groups[group.op.anchor].deleted) == (group.cloud_id, True)
    results = list(target.apply([
        CloudOp(CloudAction.restore, "user", alice.op.anchor, alice.cloud_id, properties={"jobTitle": "Back"}),
        CloudOp(CloudAction.restore, "group", group.op.anchor, group.cloud_id)]))
    assert [(r.outcome, r.cloud_id) for r in results] == [
        (Outcome.restored, alice.cloud_id), (Outcome.restored, group.cloud_id)]
    got = graph.get(f"{graph.base}/users/{alice.cloud_id}", params={"$select": "jobTitle"}).json()
    assert got["jobTitle"] == "Back"
    assert not target.find_by_anchors("user", [alice.op.anchor])[alice.op.anchor].deleted
    # After the retention period (a tenant setting) deleted items are gone for good.
    list(target.apply([CloudOp(CloudAction.delete, "user", alice.op.anchor, alice.cloud_id)]))
    tenant.configure(deleted_item_retention_seconds=0)
    try:
        assert target.find_by_anchors("user", [alice.op.anchor]) == {}
    finally:
        tenant.configure(deleted_item_retention_seconds=30 * 24 * 3600)
    [gone] = target.apply([CloudOp(CloudAction.restore, "user", alice.op.anchor, alice.cloud_id)])
    assert gone.outcome == Outcome.not_found


def members_of(graph, group_id: str) -> set[str]:
    return {m["id"] for m in graph.get(f"{graph.base}/groups/{group_id}/members",
                                       params={"$top": "999"}).json()["value"]}


def add_members(group, users) -> list[CloudOp]:
    return [CloudOp(CloudAction.add_member, "group", group.op.anchor, group.cloud_id, ref_id=u.cloud_id)
            for u in users]


def test_a_group_of_45_is_created_with_its_members_in_3_writes(tenant, target, graph, domain):
    users = [create_user(target, domain) for _ in range(45)]
    assert target.group_anchor_property  # registered on first use: a write of its own, not counted here
    writes = tenant.stats()["writes"]
    [group] = target.apply([CloudOp("create", "group", anchor=unique("g"), members=tuple(
        u.cloud_id for u in users[:20]), properties={"displayName": "Big", "mailNickname": unique("big")})])
    assert group.outcome == "created" and group.members == tuple(u.cloud_id for u in users[:20])
    results = list(target.apply(add_members(group, users[20:])))
    # The create with 20 members, then PATCH /groups/{id} with 20 and with 5 (group-update).
    assert tenant.stats()["writes"] - writes == 3
    assert [r.outcome for r in results] == ["updated"] * 25
    assert members_of(graph, group.cloud_id) == {u.cloud_id for u in users}


def test_a_combined_write_refused_for_one_member_already_there_ends_with_all_members(tenant, target, graph, domain):
    users = [create_user(target, domain) for _ in range(20)]
    [group] = target.apply([CloudOp("create", "group", anchor=unique("g"), members=(users[7].cloud_id,),
                                    properties={"displayName": "Some", "mailNickname": unique("some")})])
    writes = tenant.stats()["writes"]
    results = list(target.apply(add_members(group, users)))
    # Graph refuses the PATCH as a whole ("One or more added object references already exist"); each member
    # is then added on its own, and the one already there is the wanted state.
    assert tenant.stats()["writes"] - writes == 1 + 20
    assert [(r.outcome, r.message) for r in results] == [("updated", "")] * 20
    assert members_of(graph, group.cloud_id) == {u.cloud_id for u in users}


def test_members_not_yet_replicated_are_added_once_they_are_seen(tenant, cert_app, client_cert, graph, domain):
    from dataclasses import replace

    from dirsync.cloud.writer import GraphTarget

    from .conftest import FAST
    app, cert_file = cert_app
    patient = GraphTarget(tenant.tenant_settings(app, "certificate", cert_file), client_cert.key_pem,
                          policy=replace(FAST, replication_window=3.0), write_quota=(1_000_000, 150.0))
    tenant.set_faults(replication_delay_ms=1500, seed=7)
    users = [create_user(patient, domain) for _ in range(25)]
    # Created with members not seen yet: refused as a whole, so created without them, which then wait.
    [group] = patient.apply([CloudOp("create", "group", anchor=unique("g"), members=tuple(
        u.cloud_id for u in users[:20]), properties={"displayName": "New", "mailNickname": unique("new")})])
    assert (group.outcome, group.members) == ("created", ())
    waited = patient.stats.wait_seconds
    results = list(patient.apply(add_members(group, users)))
    tenant.set_faults()
    patient.close()
    assert [(r.outcome, r.message) for r in results] == [("updated", "")] * 25
    assert patient.stats.wait_seconds > waited  # the delay struck the members' writes and was waited out
    assert members_of(graph, group.cloud_id) == {u.cloud_id for u in users}
