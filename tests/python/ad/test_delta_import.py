"""Each kind of change made through LDAP appears in the next delta, by DirSync and by the
uSNChanged fallback alike; a delta with no change returns nothing."""

from __future__ import annotations

import json

import ldap3
import pytest

from ad_helpers import READER_PASSWORD, add_plain_reader, admin_source, settings_for
from dirsync.ad.reader import MEMBER_RANGE, READ_BATCH, ActiveDirectorySource
from dirsync.engine.ports import SourceObject, Tombstone
from dirsync.events import Events
from dirsync_lab.testdomain import ADMIN_USER, BASE_DN, seed

pytestmark = pytest.mark.samba
NEW_USER_DN = f"CN=Nadia Neu,OU=Engineering,OU=People,OU=Corp,{BASE_DN}"


def make_changes(conn: ldap3.Connection) -> None:
    conn.add(NEW_USER_DN, "user", {"sAMAccountName": "nneu", "givenName": "Nadia", "sn": "Neu",
                                   "userPrincipalName": "nneu@dirsync.test", "userAccountControl": 544})
    conn.modify(seed.dn("alice"), {"title": [(ldap3.MODIFY_REPLACE, ["Chief Technology Officer"])]})
    conn.modify_dn(seed.dn("jose"), "CN=José Müller-Schmidt")                                      # rename
    conn.modify_dn(seed.dn("orjan"), "CN=Ørjan Øvergård", new_superior=f"OU=Leavers,OU=Corp,{BASE_DN}")  # move
    conn.modify(seed.dn("siobhan"), {"userAccountControl": [(ldap3.MODIFY_REPLACE, [seed.DISABLED])]})
    conn.delete(seed.dn("dana"))
    conn.modify(seed.dn("sales"), {"member": [(ldap3.MODIFY_ADD, [seed.dn("wang")]),
                                              (ldap3.MODIFY_DELETE, [seed.dn("doe")])]})


def summary(items) -> dict:
    """What a delta says, by anchor, in a form both import modes can be compared on."""
    out = {}
    for item in items:
        if isinstance(item, Tombstone):
            out[item.anchor] = "deleted"
        else:
            out[item.anchor] = (item.kind, item.dn, item.first("title"), item.first("useraccountcontrol"),
                                item.members)
    return out


@pytest.fixture
def scenario(fresh_domain):
    """Full imports, then the changes, then a delta from each watermark: once by DirSync, once by
    uSNChanged polling (the same admin account, so both may see deleted objects)."""
    sources = {"dirsync": admin_source(fresh_domain),
               "usn": ActiveDirectorySource(settings_for(fresh_domain), ADMIN_USER, fresh_domain.admin_password,
                                            delta_mode="usn")}
    before = {}
    for mode, source in sources.items():
        run = source.full_import()
        before[mode] = {o.dn: o for o in run}
        before[mode]["watermark"] = run.watermark
    conn = fresh_domain.connect()
    make_changes(conn)
    conn.unbind()
    deltas = {}
    for mode, source in sources.items():
        run = source.delta_import(before[mode]["watermark"])
        deltas[mode] = (run, list(run))
    return fresh_domain, sources, before, deltas


def test_every_kind_of_change_appears_in_the_dirsync_delta(scenario):
    _, _, before, deltas = scenario
    run, items = deltas["dirsync"]
    assert run.mode == "dirsync"
    by_dn = {i.dn: i for i in items if isinstance(i, SourceObject)}
    old = before["dirsync"]
    assert NEW_USER_DN in by_dn and by_dn[NEW_USER_DN].first("samaccountname") == "nneu"               # add
    assert by_dn[seed.dn("alice")].first("title") == "Chief Technology Officer"                     # modify
    renamed = by_dn[f"CN=José Müller-Schmidt,{seed.SALES},{BASE_DN}"]                              # rename
    assert renamed.anchor == old[seed.dn("jose")].anchor
    moved = by_dn[f"CN=Ørjan Øvergård,OU=Leavers,OU=Corp,{BASE_DN}"]                                  # move
    assert moved.anchor == old[seed.dn("orjan")].anchor
    assert by_dn[seed.dn("siobhan")].first("useraccountcontrol") == str(seed.DISABLED)               # disable
    assert Tombstone in {type(i) for i in items}
    assert old[seed.dn("dana")].anchor in {i.anchor for i in items if isinstance(i, Tombstone)}      # delete
    sales = by_dn[seed.dn("sales")]                                                                   # members
    assert old[seed.dn("wang")].anchor in sales.members
    assert old[seed.dn("doe")].anchor not in sales.members
    # Nothing unchanged is reported.
    assert seed.dn("olga") not in by_dn and seed.dn("bulk") not in by_dn


def test_usn_polling_finds_the_same_changes_as_dirsync(scenario):
    _, _, _, deltas = scenario
    run, items = deltas["usn"]
    assert run.mode == "usn"
    assert summary(items) == summary(deltas["dirsync"][1])
    assert len(summary(items)) == 7


def test_a_delta_after_a_delta_with_no_change_returns_nothing(scenario):
    _, sources, _, deltas = scenario
    for mode, source in sources.items():
        run = source.delta_import(deltas[mode][0].watermark)
        assert (run.mode, list(run)) == (mode, [])


def test_a_watermark_from_another_domain_controller_gives_a_full_import(scenario):
    _, sources, _, deltas = scenario
    mark = json.loads(deltas["dirsync"][0].watermark)
    mark["dc"] = "00000000-0000-0000-0000-000000000001"
    events = []
    source = sources["dirsync"]
    source.events = Events(events.append)
    run = source.delta_import(json.dumps(mark))
    assert run.mode == "full"
    # the seeded objects, plus Nadia, less Dana
    assert len(list(run)) == len(seed.USERS) + len(seed.CONTACTS) + len(seed.GROUPS) + seed.BULK_COUNT
    assert any("another domain controller" in e.get("message", "") for e in events)


def test_an_account_without_the_right_falls_back_to_usn_polling_and_warns_what_it_cannot_see(fresh_domain):
    # Like AD, Samba lists CN=Deleted Objects only to privileged accounts, so this account's deltas
    # carry every change but deletions, and the warnings say so and how to fix it.
    upn = add_plain_reader(fresh_domain)
    events = []
    source = ActiveDirectorySource(settings_for(fresh_domain), upn, READER_PASSWORD, events=Events(events.append))
    mark = source.full_import()
    list(mark)
    conn = fresh_domain.connect()
    conn.delete(seed.dn("dana"))
    conn.modify(seed.dn("alice"), {"title": [(ldap3.MODIFY_REPLACE, ["CTO"])]})
    conn.unbind()
    run = source.delta_import(mark.watermark)
    items = list(run)
    assert run.mode == "usn" and [i.dn for i in items] == [seed.dn("alice")]
    warnings = [e["message"] for e in events if e["kind"] == "warning"]
    assert any("Replicating Directory Changes" in w and fresh_domain.address in w for w in warnings)
    assert any("Deleted Objects" in w and fresh_domain.address in w and "List Contents" in w for w in warnings)


def test_a_delta_of_more_changed_objects_than_one_read_batch_gives_each_whole_once(fresh_domain):
    # DirSync gives only what changed; the reader reads the changed objects again, READ_BATCH to a
    # search. Over several batches, with a rename, a move and a deletion among the changes, the delta
    # holds each changed object once and whole, as uSNChanged polling (which searches the objects
    # themselves) finds them.
    sources = {"dirsync": admin_source(fresh_domain),
               "usn": ActiveDirectorySource(settings_for(fresh_domain), ADMIN_USER, fresh_domain.admin_password,
                                            delta_mode="usn")}
    marks = {}
    for mode, source in sources.items():
        run = source.full_import()
        list(run)
        marks[mode] = run.watermark
    changed = [seed.bulk_dn(n) for n in range(1, 2 * READ_BATCH + 51)]
    conn = fresh_domain.connect()
    for dn in changed:
        conn.modify(dn, {"title": [(ldap3.MODIFY_REPLACE, ["Batched"])]})
    renamed, moved, deleted = changed[READ_BATCH], changed[2 * READ_BATCH + 7], changed[3]
    conn.modify_dn(renamed, "CN=Bulk Renamed")
    conn.modify_dn(moved, "CN=Bulk Moved", new_superior=f"OU=Leavers,OU=Corp,{BASE_DN}")
    conn.delete(deleted)
    conn.modify(seed.dn("bulk"), {"member": [(ldap3.MODIFY_DELETE, [changed[5]])]})
    conn.unbind()
    deltas = {}
    for mode, source in sources.items():
        run = source.delta_import(marks[mode])
        deltas[mode] = list(run)
        assert run.mode == mode
    items = deltas["dirsync"]
    live = {i.dn: i for i in items if isinstance(i, SourceObject)}
    assert len(items) == len({i.anchor for i in items})  # each once
    users = [i for i in live.values() if i.kind == "user"]
    assert len(users) == len(changed) - 1
    assert all(u.first("title") == "Batched" and u.first("samaccountname") and u.first("cn") for u in users)
    assert f"CN=Bulk Renamed,OU=Bulk,OU=Corp,{BASE_DN}" in live
    assert f"CN=Bulk Moved,OU=Leavers,OU=Corp,{BASE_DN}" in live
    assert sum(isinstance(i, Tombstone) for i in items) == 1
    bulk = live[seed.dn("bulk")]  # read whole, past its first range of members
    assert bulk.members is not None and len(bulk.members) > MEMBER_RANGE
    assert live[changed[5]].anchor not in bulk.members
    assert summary(items) == summary(deltas["usn"])
