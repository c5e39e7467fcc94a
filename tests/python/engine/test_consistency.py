"""The first sync of the seeded domain plus 500 groups, through Graph's replication delay and `after_commit`
faults (5xx and reset connections that strike after the write) at once: it ends `success`, with exactly
one cloud object per anchor, complete membership, and every create whose answer was lost recovered, not
sent twice (issue 12, "No duplicate, ever" and "Replication delay")."""

from __future__ import annotations

import time

import pytest

from dirsync_lab.testdomain.seed import GROUPS, USERS, dn

from .conftest import CORP

pytestmark = pytest.mark.samba

MANY = f"OU=Many,{CORP}"
EXTRA_GROUPS = 500
SECURITY_GROUPS = [k for k, g in GROUPS.items() if g["groupType"] < 0]
SEEDED_USERS = sorted(USERS)


def extra_dn(i: int) -> str:
    return f"CN=Many {i:03d},{MANY}"


def expected_members(i: int) -> list[str]:
    """A seeded user and the group made just before: both ends of many links are created in the same run."""
    return [dn(SEEDED_USERS[i % len(SEEDED_USERS)]), *([extra_dn(i - 1)] if i else [])]


@pytest.fixture(scope="module")
def many_groups(lab):
    conn = lab.ldap()
    conn.add(MANY, "organizationalUnit")
    for i in range(EXTRA_GROUPS):
        assert conn.add(extra_dn(i), "group", {"sAMAccountName": f"many{i:03d}", "groupType": -2147483646,
                                               "member": expected_members(i)}), conn.result
    conn.unbind()
    return lab


def test_first_sync_through_replication_delay_and_lost_answers_makes_one_object_per_anchor(many_groups):
    lab = many_groups
    lab.tenant.reset()
    lab.tenant.set_faults(error_rate=0.04, reset_rate=0.03, after_commit=0.7, retry_after=0.05,
                          replication_delay_ms=1500, seed=1212)
    started = time.monotonic()
    result = lab.sync()
    elapsed = time.monotonic() - started
    server = lab.tenant.stats()
    lab.tenant.set_faults()  # and every object is seen from now on, for the checks

    assert result["status"] == "success", (result["message"], result["errors"][:5])
    # Exactly one cloud object per anchor (users() and groups() assert it) and every object there.
    users, groups = lab.users(), lab.groups()
    anchor = {d: lab.anchor(d) for d in [*(dn(k) for k in [*USERS, *SECURITY_GROUPS]),
                                         *(extra_dn(i) for i in range(EXTRA_GROUPS))]}
    assert set(users) == {anchor[dn(k)] for k in USERS}
    assert set(groups) == {anchor[dn(k)] for k in SECURITY_GROUPS} | {anchor[extra_dn(i)]
                                                                      for i in range(EXTRA_GROUPS)}
    assert len(lab.get_all("groups", **{"$select": "id"})) == len(groups)  # no group without its anchor
    # Complete membership, links made while both ends were still replicating.
    ids = {a: o["id"] for a, o in {**users, **groups}.items()}
    for i in range(EXTRA_GROUPS):
        assert lab.members(ids[anchor[extra_dn(i)]]) == {ids[anchor[m]] for m in expected_members(i)}, i
    # The faults struck after writes, and each create whose answer was lost was found, not sent again.
    lost = server.get("lost_create_answers", 0)
    assert lost > 0 and result["counts"]["recoveredCreates"] == lost, (lost, result["counts"])
    print(f"\nfirst sync of {len(users)} users and {len(groups)} groups in {elapsed:.1f} s; "
          f"{lost} creates recovered; tenant {server}")
