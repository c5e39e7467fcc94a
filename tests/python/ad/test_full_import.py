"""A full import returns every seeded in-scope object with its attributes, and no never-sync object."""

from __future__ import annotations

import pytest

from ad_helpers import admin_source, anchor_of, settings_for
from dirsync.ad.connection import connect, raw_entries
from dirsync.ad.reader import MEMBER_RANGE, READ_ATTRIBUTES, extended_dn
from dirsync.engine.ports import SourceObject
from dirsync_lab.testdomain import ADMIN_USER, BASE_DN, seed

pytestmark = pytest.mark.samba


@pytest.fixture(scope="module")
def imported(seeded_domain):
    run = admin_source(seeded_domain).full_import()
    objects = list(run)
    assert all(isinstance(o, SourceObject) for o in objects)
    return run, {o.dn: o for o in objects}


def expected_values(value) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def test_every_seeded_user_and_contact_arrives_with_its_attributes(seeded_domain, imported):
    _, by_dn = imported
    for key, spec in {**seed.USERS, **seed.CONTACTS}.items():
        obj = by_dn[seed.dn(key)]
        assert obj.kind == ("contact" if key in seed.CONTACTS else "user")
        assert obj.anchor == anchor_of(seeded_domain, seed.dn(key))
        for name, value in spec["attrs"].items():
            got = obj.attrs.get(name.lower())
            want = expected_values(value)
            assert (sorted(got) if len(want) > 1 else got) == sorted(want), f"{key}.{name}"
        assert obj.first("cn") == spec["cn"]


def test_unicode_and_long_values_arrive_unchanged(imported):
    _, by_dn = imported
    wang = by_dn[seed.dn("wang")]
    assert wang.first("displayname") == "王小明" and wang.first("l") == "北京"
    assert by_dn[seed.dn("olga")].first("sn") == "Петрова"
    long = by_dn[seed.dn("long")]
    assert long.first("description") == seed.LONG_DESCRIPTION and len(long.first("description")) == 1024
    assert len(long.first("displayname")) == 256
    assert by_dn["CN=Doe\\, John,OU=Sales,OU=People,OU=Corp,DC=dirsync,DC=test"].first("cn") == "Doe, John"


def test_manager_and_managed_by_are_anchors(seeded_domain, imported):
    _, by_dn = imported
    for key, spec in seed.USERS.items():
        manager = by_dn[seed.dn(key)].attrs.get("manager")
        assert manager == ([anchor_of(seeded_domain, seed.dn(spec["manager"]))] if spec["manager"] else None)
    staff = by_dn[seed.dn("staff")]
    assert staff.attrs["managedby"] == [by_dn[seed.dn("alice")].anchor]


def test_groups_have_complete_membership_including_nested_groups_and_the_big_group(imported):
    _, by_dn = imported
    anchor = {dn: o.anchor for dn, o in by_dn.items()}
    for key, spec in seed.GROUPS.items():
        group = by_dn[seed.dn(key)]
        want = {anchor[seed.dn(m)] for m in spec["members"] if m != "bulk"}
        if "bulk" in spec["members"]:
            want |= {anchor[seed.bulk_dn(n)] for n in range(1, seed.BULK_COUNT + 1)}
        assert group.kind == "group" and group.members == want, key
        assert group.first("grouptype") == str(spec["groupType"])
    assert len(by_dn[seed.dn("bulk")].members) == seed.BULK_COUNT + 1 > 1500


def test_no_never_sync_object_and_nothing_else_is_imported(imported):
    _, by_dn = imported
    names = {o.first("samaccountname") for o in by_dn.values()}
    for never in ("krbtgt", "Administrator", "Guest", "Domain Users", "Domain Admins", seed.SERVICE_ACCOUNT,
                  f"{seed.COMPUTER}$", "DC1$"):
        assert never not in names
    expected = len(seed.USERS) + len(seed.CONTACTS) + len(seed.GROUPS) + seed.BULK_COUNT
    assert len(by_dn) == expected


def test_full_import_leaves_a_watermark_from_which_a_quiet_delta_returns_nothing(seeded_domain, imported):
    run, _ = imported
    assert run.mode == "full" and run.watermark
    delta = admin_source(seeded_domain).delta_import(run.watermark)
    assert delta.mode == "dirsync"
    assert list(delta) == []
    assert delta.watermark


def test_the_readers_own_entry_decoding_reads_what_ldap3_reads(seeded_domain):
    # The reader's connections decode search entries themselves (connection.RawEntries): every entry of
    # the domain, with the reader's attributes and extended DNs (binary GUIDs and photos, values past
    # 127 bytes, 1,500 members of one range), must come out as ldap3's own raw values.
    def entries(conn) -> list[dict]:
        found = []
        for entry in conn.extend.standard.paged_search(BASE_DN, "(objectClass=*)", attributes=list(READ_ATTRIBUTES),
                                                       controls=[extended_dn()], paged_size=1000, generator=True):
            if entry["type"] == "searchResEntry":
                attrs = entry.get("attrs") or {k.lower(): v for k, v in entry["raw_attributes"].items()}
                found.append((entry["dn"], attrs))
        return found

    theirs = entries(seeded_domain.connect())
    ours = entries(raw_entries(connect(settings_for(seeded_domain), ADMIN_USER, seeded_domain.admin_password)))
    assert len(ours) > seed.BULK_COUNT and ours == theirs
    assert any(len(attrs.get(f"member;range=0-{MEMBER_RANGE - 1}", [])) == MEMBER_RANGE for _, attrs in ours)
