"""The benchmark harness at a small N, so it cannot rot: it seeds, syncs and reports sane numbers.
No timing targets here (docs/benchmarks.md holds the measured ones)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))  # the bench package lives beside python/, not inside it

from bench.directory import expected_writes, group_count, manager_count, writes_bound  # noqa: E402
from bench.run import measure  # noqa: E402

pytestmark = pytest.mark.samba

if shutil.which("samba") is None or shutil.which("ldapsearch") is None:
    pytest.skip("Samba and ldap-utils are needed: run scripts/setup.sh", allow_module_level=True)

N = 100


def test_the_harness_measures_every_phase_of_a_small_directory(tmp_path):
    # A quota of 60 writes makes even 100 users meet the (time-scaled) throttling.
    r = measure(N, tmp_path, repeats=1, quota_limit=60)
    objects = N + group_count(N)

    assert r["import"]["objects"] == objects
    # ldapsearch also lists what DirSync reads and never syncs (krbtgt, built-in groups…)
    assert r["import"]["ldapsearch_entries"] > objects
    assert r["import"]["ratio"] > 0
    # no-change deltas by DirSync and by uSNChanged (the child refuses a delta that reads anything)
    assert len(r["import"]["no_change_delta"]["usn_s"]) == 1 and r["import"]["no_change_delta"]["ratio"] > 0

    initial = r["initial"]
    assert initial["status"] == "success" and initial["mode"] == "full"
    assert initial["counts"]["added"] == objects and initial["counts"]["membershipChanges"] == N
    # +3, on the first sync: the group anchor's extension property, the active-server marker's extension
    # property and the marker itself (guard.py)
    assert initial["tenant"]["writes"] == expected_writes(N) + 3
    assert 0.05 <= initial["requests_per_write"] < 1  # batched: at most 20 writes per request
    assert 0 < initial["peak_rss_mb"] < 1024

    for delta in r["delta0"]:
        assert delta["status"] == "success" and delta["changes"] == 0 and "writes" not in delta["tenant"]
    assert r["delta1"]["changed_in_ad"] == 1 and r["delta1"]["counts"]["updated"] == 1
    assert r["object"]["updated"] == 1 and r["object"]["deleted"] == 1  # one disabled, then deleted, user
    assert all(s > 0 for s in r["object"]["disable_s"] + r["object"]["delete_s"])

    throttled = r["throttled"]
    assert throttled["status"] == "success" and throttled["counts"]["errors"] == 0
    assert throttled["tenant"]["writes"] == initial["tenant"]["writes"]
    assert throttled["bound_s"] > 0 and throttled["export_ratio"] > 0 and throttled["documented_ratio"] > 0
    assert 0 < r["import"]["peak_rss_mb"] < 1024


def test_the_linked_directory_syncs_each_users_three_groups_and_manager_within_issue_15s_bound(tmp_path):
    # The parts that do not depend on the shape (the import, the deltas) are the test above's.
    r = measure(N, tmp_path, repeats=1, quota_limit=60, skip=frozenset({"import", "delta"}), shape="linked")
    groups, managers = group_count(N, "linked"), manager_count(N, "linked")
    assert (groups, managers) == (6, 90)  # 3 layers of 2 groups of 50; all but the top 10 have a manager

    initial = r["initial"]
    assert initial["status"] == "success" and initial["errors"] == []
    assert initial["counts"]["added"] == N + groups
    assert initial["counts"]["membershipChanges"] == 3 * N and initial["counts"]["managerChanges"] == managers
    # 100 users, 6 groups created with 20 members and given 30 more in 2 writes each, 90 managers (+3 as above)
    assert initial["tenant"]["writes"] == expected_writes(N, "linked") + 3 == 100 + 6 * 3 + 90 + 3
    # issue 15's bound: users + groups + managers + Σ⌈members / 20⌉
    assert r["writes_bound"] == writes_bound(N, "linked") == 100 + 6 + 90 + 6 * 3
    assert initial["writes_vs_bound"] == initial["tenant"]["writes"] / r["writes_bound"] <= 1.05

    throttled = r["throttled"]
    assert throttled["status"] == "success" and throttled["counts"]["errors"] == 0
    assert throttled["tenant"]["writes"] == initial["tenant"]["writes"]
    assert r["object"]["updated"] == 1 and r["object"]["deleted"] == 1


def test_seeding_leaves_no_samba_configuration_to_later_samba_tools(tmp_path):
    # Samba's loadparm setenv()s SMB_CONF_PATH; a test domain provisioned after the seeding, in the same
    # pytest process, then read the (since renamed) seeding folder's smb.conf and failed.
    import subprocess

    from bench.directory import _seed_offline
    from dirsync_lab import testdomain

    folder = tmp_path / "dc"
    testdomain._copy(testdomain._template(False), folder)
    _seed_offline(folder, 4)
    child = subprocess.run(["sh", "-c", 'printf %s "${SMB_CONF_PATH-}"'], capture_output=True, text=True)
    assert child.stdout == ""
