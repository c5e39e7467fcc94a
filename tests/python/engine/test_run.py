"""The sync run against in-memory ports: what an administrator sees in the tenant and in the result."""

from __future__ import annotations

import pytest

from dirsync.engine.mapping import SKIP_CONTACT, SKIP_DISTRIBUTION
from dirsync.engine.ports import CHANGES_LISTED, SourceObject
from dirsync.engine.run import RunOptions, run_sync
from dirsync.errors import ActiveServerUnknownError
from dirsync.events import Events
from dirsync.state.store import StateStore

from .fakes import BASE, STAFF, FakeDirectory, FakeTenant, Killed, configuration, group, user


@pytest.fixture
def world(tmp_path):
    alice = user("alice", givenName="Alice", sn="Smith", title="Engineer", l="Paris", c="FR",
                 telephoneNumber="+33 1 23", extensionAttribute3="cost-42")
    bob = user("bob", manager=alice.anchor)
    carol = user("carol", userPrincipalName="carol@contoso.local", userAccountControl="514")
    team = group("Team", members=[alice, bob])
    everyone = group("Everyone", members=[team, carol])
    directory = FakeDirectory(alice, bob, carol, team, everyone)
    return directory, FakeTenant(), tmp_path


def sync(world, config=None, **options):
    directory, tenant, home = world
    with StateStore(home) as store:
        result = run_sync(lambda: (directory, tenant), store, config or configuration(), RunOptions(**options),
                          Events())
        return result.to_dict()


def test_first_sync_writes_mapped_objects_and_membership_then_a_second_run_writes_nothing(world):
    directory, tenant, _ = world
    result = sync(world)
    assert result["status"] == "success"
    assert result["counts"]["added"] == 5
    alice = next(o for o in directory.objects.values() if o.first("samaccountname") == "alice")
    _, cloud = tenant.by_anchor(alice.anchor)
    assert cloud["onPremisesImmutableId"] == alice.anchor
    assert (cloud["givenName"], cloud["surname"], cloud["jobTitle"], cloud["city"]) == (
        "Alice", "Smith", "Engineer", "Paris")
    assert cloud["usageLocation"] == "FR" and cloud["businessPhones"] == ["+33 1 23"]
    assert cloud["onPremisesExtensionAttributes"]["extensionAttribute3"] == "cost-42"
    carol = tenant.find_user_by_upn("carol@contoso.onmicrosoft.com")  # unverified suffix → initial domain
    assert carol and tenant.objects[carol.cloud_id]["accountEnabled"] is False
    bob_id = tenant.find_user_by_upn("bob@contoso.com").cloud_id
    assert tenant.managers[bob_id] == tenant.by_anchor(alice.anchor)[0]
    team, everyone = (o for o in directory.objects.values() if o.kind == "group")
    assert tenant.member_anchors(everyone.anchor) == {team.anchor, carol_anchor(directory)}
    writes = tenant.writes
    second = sync(world)
    assert second["status"] == "success" and second["changes"] == []
    assert tenant.writes == writes


def carol_anchor(directory):
    return next(a for a, o in directory.objects.items() if o.first("samaccountname") == "carol")


def test_delta_update_sends_only_the_changed_properties(world):
    directory, tenant, _ = world
    sync(world)
    alice = next(o for o in directory.objects.values() if o.first("samaccountname") == "alice")
    directory.change(alice, title="Architect", useraccountcontrol="514")
    result = sync(world)
    assert result["mode"] == "delta"
    assert result["changes"] == [{"action": "update", "kind": "user", "anchor": alice.anchor, "dn": alice.dn,
                                  "properties": {"accountEnabled": False, "jobTitle": "Architect"}}]
    assert tenant.by_anchor(alice.anchor)[1]["accountEnabled"] is False


def test_moving_out_of_scope_deletes_and_manager_and_membership_follow(world):
    directory, tenant, _ = world
    sync(world)
    alice = next(o for o in directory.objects.values() if o.first("samaccountname") == "alice")
    bob = next(o for o in directory.objects.values() if o.first("samaccountname") == "bob")
    team = next(o for o in directory.objects.values() if o.first("samaccountname") == "Team")
    alice_id = tenant.by_anchor(alice.anchor)[0]
    directory.change(alice, dn=f"CN=alice,OU=Leavers,{BASE}")
    result = sync(world, configuration(exclude_ous=[f"OU=Leavers,{BASE}"]))
    assert result["counts"]["deleted"] == 1 and alice_id in tenant.deleted
    assert tenant.member_anchors(team.anchor) == {bob.anchor}
    # Back into scope: created again, and its group and its report link to it again.
    directory.change(alice, dn=f"CN=alice,{STAFF}")
    result = sync(world)
    assert result["counts"]["added"] == 1
    new_id = tenant.by_anchor(alice.anchor)[0]
    assert tenant.member_anchors(team.anchor) == {alice.anchor, bob.anchor}
    assert tenant.managers[tenant.by_anchor(bob.anchor)[0]] == new_id


def test_delete_in_source_removes_the_cloud_object_and_forgets_it(world):
    directory, tenant, home = world
    sync(world)
    carol = directory.objects[carol_anchor(directory)]
    directory.delete(carol)
    result = sync(world)
    assert result["counts"]["deleted"] == 1
    assert [o for o in tenant.deleted.values() if o["anchor"] == carol.anchor]
    with StateStore(home) as store:
        assert store.db.execute("SELECT count(*) FROM objects WHERE anchor=?", (carol.anchor,)).fetchone()[0] == 0
        assert store.integrity_check() == []


def test_threshold_stops_every_write_until_deletes_are_allowed(world):
    directory, tenant, _ = world
    sync(world)
    for obj in list(directory.objects.values()):
        if obj.kind == "user":
            directory.delete(obj)
    writes = tenant.writes
    stopped = sync(world, configuration(threshold=2))
    assert stopped["status"] == "stopped-deletion-threshold-exceeded"
    assert tenant.writes == writes and not tenant.deleted
    assert "3 objects" in stopped["message"] and "-AllowDeletes" in stopped["message"]
    assert sum(1 for c in stopped["plan"] if c["action"] == "delete") == 3
    again = sync(world, configuration(threshold=2))  # the deletes stay pending: still stopped
    assert again["status"] == "stopped-deletion-threshold-exceeded"
    allowed = sync(world, configuration(threshold=2), allow_deletes=True)
    assert allowed["status"] == "success" and allowed["counts"]["deleted"] == 3
    assert not tenant.users()


def test_an_ou_filter_mistake_stopped_by_the_threshold_deletes_nothing_once_the_filter_is_put_back(world):
    directory, tenant, _ = world
    sync(world, configuration(threshold=2))
    users = len(tenant.users())
    mistake = sync(world, configuration(threshold=2, exclude_ous=[STAFF]))
    assert mistake["status"] == "stopped-deletion-threshold-exceeded"
    put_back = sync(world, configuration(threshold=2))
    assert put_back["status"] == "success"
    assert put_back["counts"]["deleted"] == 0 and not tenant.deleted
    assert len(tenant.users()) == users


def test_preview_writes_nothing_and_shows_exactly_what_the_next_run_does(world):
    directory, tenant, home = world
    sync(world)
    alice = next(o for o in directory.objects.values() if o.first("samaccountname") == "alice")
    directory.change(alice, department="R&D")
    directory.put(user("dave"))
    directory.delete(directory.objects[carol_anchor(directory)])
    state_file = (home / "dirsync-state.sqlite")
    with StateStore(home) as store:
        before = store.db.execute("SELECT * FROM objects ORDER BY anchor").fetchall()
        before = [tuple(r) for r in before], store.watermark("active-directory")
    writes = tenant.writes
    preview = sync(world, preview=True)
    assert preview["preview"] is True and preview["runId"] is None
    assert tenant.writes == writes
    with StateStore(home) as store:
        after = [tuple(r) for r in store.db.execute("SELECT * FROM objects ORDER BY anchor")]
        assert (after, store.watermark("active-directory")) == before
        assert all(run.mode != "preview" for run in store.runs())
    assert state_file.exists()
    real = sync(world)
    key = lambda c: (c["action"], c["anchor"], c.get("ref", ""))
    assert sorted(preview["plan"], key=key) == sorted(real["changes"], key=key)
    assert {c["action"] for c in real["changes"]} == {"add", "update", "delete"}


def test_upn_conflict_with_a_cloud_only_user_is_a_per_object_error_that_clears_once_resolved(world):
    directory, tenant, _ = world
    squatter = tenant.add_cloud_user("bob@contoso.com", displayName="Cloud Bob")
    result = sync(world)
    assert result["status"] == "completed-export-errors"
    [error] = result["errors"]
    assert error["dn"].startswith("CN=bob,") and "UPN conflict" in error["reason"]
    assert squatter in error["reason"] and "SoftMatch" in error["fix"]
    assert result["counts"]["added"] == 4
    assert tenant.objects[squatter]["displayName"] == "Cloud Bob"  # not DirSync's: untouched
    del tenant.objects[squatter]
    again = sync(world)  # no change in AD: the failed object is retried from the state
    assert again["status"] == "success" and again["counts"]["added"] == 1
    bob = tenant.find_user_by_upn("bob@contoso.com")
    assert bob.anchor and tenant.managers[bob.cloud_id]


def test_soft_match_adopts_a_cloud_only_user_with_the_same_upn(world):
    directory, tenant, _ = world
    squatter = tenant.add_cloud_user("bob@contoso.com", displayName="Cloud Bob")
    result = sync(world, configuration(soft_match=True))
    assert result["status"] == "success" and result["counts"]["adopted"] == 1
    bob = next(o for o in directory.objects.values() if o.first("samaccountname") == "bob")
    assert tenant.by_anchor(bob.anchor)[0] == squatter
    assert tenant.objects[squatter]["displayName"] == "Bob"


def test_cloud_objects_dirsync_does_not_own_are_never_changed_or_deleted(world):
    directory, tenant, _ = world
    other = tenant.add_cloud_user("zoe@contoso.com", displayName="Zoe")
    sync(world)
    for obj in list(directory.objects.values()):
        directory.delete(obj)
    sync(world, allow_deletes=True)
    assert list(tenant.objects) == [other] and tenant.objects[other] == {
        "kind": "user", "anchor": None, "userPrincipalName": "zoe@contoso.com", "displayName": "Zoe"}


def test_contacts_and_distribution_groups_are_counted_and_reported_as_skipped(world):
    directory, tenant, _ = world
    contact = directory.put(SourceObject("Y29udGFjdA==", "contact", f"CN=Partner,{STAFF}", {"cn": ["Partner"]}))
    dl = directory.put(group("All-Staff", group_type=2, mail="all@contoso.com"))
    result = sync(world)
    skipped = {s["anchor"]: s["reason"] for s in result["skipped"]}
    assert skipped == {contact.anchor: SKIP_CONTACT, dl.anchor: SKIP_DISTRIBUTION}
    assert result["counts"]["skipped"] == 2 and result["counts"]["inScope"] == 5
    assert len(tenant.objects) == 5


def test_system_objects_and_excluded_objects_never_sync(world):
    directory, tenant, _ = world
    directory.put(user("krbtgt", ou=f"CN=Users,{BASE}"))
    directory.put(user("MSOL_0123abcd", ou=f"CN=Users,{BASE}"))
    directory.put(user("admin2", ou=f"CN=Users,{BASE}", isCriticalSystemObject="TRUE"))
    directory.put(user("hidden", extensionAttribute15="NoSync"))
    result = sync(world)
    assert result["counts"]["added"] == 5
    assert not any(tenant.find_user_by_upn(f"{n}@contoso.com") for n in ("krbtgt", "msol_0123abcd", "admin2", "hidden"))


def test_a_crash_between_a_create_and_its_commit_is_adopted_not_duplicated(world):
    directory, tenant, home = world
    tenant.kill_after = 2
    with pytest.raises(Killed):
        sync(world)
    tenant.kill_after = None
    result = sync(world)
    assert result["status"] == "success"
    assert len(tenant.objects) == 5 and result["counts"]["adopted"] >= 1
    for anchor in directory.objects:
        tenant.by_anchor(anchor)  # exactly one each
    with StateStore(home) as store:
        crashed, done = store.runs()[1].to_dict(), store.runs()[0].to_dict()
        assert crashed["status"] == "stopped-error" and "unexpectedly" in crashed["message"]
        assert done["status"] == "success"


def test_an_unreachable_domain_controller_stops_the_run_with_server_down(world):
    directory, tenant, home = world
    directory.down = True
    result = sync(world)
    assert result["status"] == "stopped-server-down" and "dc1.contoso.com" in result["message"]
    assert not tenant.objects
    with StateStore(home) as store:
        assert store.runs(1)[0].status == "stopped-server-down"


def test_a_staging_mode_run_is_recorded_as_staging_and_is_not_the_last_sync(world):
    directory, tenant, home = world
    synced = sync(world)
    directory.put(user("dave"))
    writes = tenant.writes
    staged = sync(world, configuration(staging_mode=True))
    assert staged["staging"] is True and [c["action"] for c in staged["plan"]] == ["add"]
    assert tenant.writes == writes
    with StateStore(home) as store:
        assert [run.staging for run in store.runs()] == [True, False]
        last = store.last_successful_run()
        assert (last.run_id, last.start_time, last.end_time) == (synced["runId"], synced["startTime"],
                                                                 synced["endTime"])


def test_a_second_active_home_on_the_same_tenant_is_refused_until_it_takes_over(world, tmp_path):
    directory, tenant, home = world
    first = sync(world)
    assert first["status"] == "success" and tenant.marker is not None
    marked, writes = tenant.marker, tenant.writes
    assert sync(world)["status"] == "success" and tenant.marker == marked  # nothing to do: nothing written

    second = (directory, tenant, tmp_path / "second")
    refused = sync(second)
    assert refused["status"] == "stopped-another-active-server" and refused["failed"]
    assert f"(server id {marked.server_id}," in refused["message"]
    assert tenant.writes == writes and tenant.marker == marked
    taken = sync(second, take_over=True)
    assert taken["status"] == "success" and taken["counts"]["added"] == 0 and taken["counts"]["deleted"] == 0
    assert tenant.marker.server_id != marked.server_id
    assert sync(second)["status"] == "success"
    assert sync(world)["status"] == "stopped-another-active-server"


def test_a_marker_that_cannot_be_read_warns_and_the_run_still_synchronizes(world):
    _, tenant, _ = world

    def refused():
        raise ActiveServerUnknownError("DirSync cannot read the active-server marker: 403", fix="Own the app.")
    tenant.active_server = refused
    result = sync(world)
    assert result["status"] == "success" and result["counts"]["added"] == 5
    assert "cannot read the active-server marker" in result["message"] and tenant.marker is None


def test_a_large_run_lists_its_first_changes_and_counts_them_all(tmp_path):
    people = [user(f"u{n:04}") for n in range(CHANGES_LISTED + 40)]
    world = (FakeDirectory(*people, group("All", members=people[:20])), FakeTenant(), tmp_path)
    result = sync(world)
    assert result["status"] == "success" and result["counts"]["added"] == CHANGES_LISTED + 41
    assert len(result["changes"]) == CHANGES_LISTED
    assert result["changesOmitted"] == CHANGES_LISTED + 41 + 20 - CHANGES_LISTED  # 20 memberships
    assert result["changes"][0]["action"] == "add" and len(world[1].objects) == CHANGES_LISTED + 41
    assert sync(world)["changesOmitted"] == 0
