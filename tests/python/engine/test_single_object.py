"""One object now, and account expiry: the seeded Samba domain → service.start_sync → the local tenant.

The tests run in file order on one lab: a first sync, then runs of chosen objects and deltas on top of it.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import ldap3
import pytest

from dirsync import service
from dirsync.errors import IdentityAmbiguousError, IdentityNotFoundError, RunInProgressError
from dirsync.state.store import StateStore
from dirsync_lab.testdomain.seed import MAIL_DOMAIN, dn

pytestmark = pytest.mark.samba


def _filetime(moment: datetime) -> int:
    return int((moment - datetime(1601, 1, 1, tzinfo=timezone.utc)).total_seconds() * 10_000_000)


def _set(lab, key_dn: str, **values) -> None:
    conn = lab.ldap()
    conn.modify(key_dn, {name: [(ldap3.MODIFY_REPLACE, [value])] for name, value in values.items()})
    assert conn.result["result"] == 0, conn.result
    conn.unbind()


def _runs(lab) -> int:
    with StateStore(lab.home) as store:
        return len(store.runs())


def test_the_first_sync(lab):
    assert lab.sync()["status"] == "success"


def test_a_disabled_user_synced_by_sam_account_name_is_disabled_at_once_and_nothing_else_moves(lab):
    wang, olga = lab.anchor(dn("wang")), lab.anchor(dn("olga"))
    _set(lab, dn("wang"), userAccountControl=514)
    _set(lab, dn("olga"), title="Changed before the one-object sync")  # another change: for the next delta
    result = lab.sync(objects=["xwang"])
    assert result["status"] == "success", result
    assert result["mode"] == "object" and result["counts"]["updated"] == 1, result
    assert [c["dn"] for c in result["changes"]] == [dn("wang")]
    users = lab.users()
    assert users[wang]["accountEnabled"] is False
    assert users[olga]["jobTitle"] != "Changed before the one-object sync"

    delta = lab.sync()
    assert delta["mode"] == "delta", delta
    assert lab.users()[olga]["jobTitle"] == "Changed before the one-object sync"


def test_a_user_deleted_in_ad_and_named_by_its_old_dn_goes_to_deleted_items(lab):
    doe = lab.anchor(dn("doe"))
    conn = lab.ldap()
    conn.delete(dn("doe"))
    conn.unbind()
    result = lab.sync(objects=[dn("doe")])
    assert result["status"] == "success", result
    assert result["counts"]["deleted"] == 1 and result["counts"]["deletedInSource"] == 1, result
    assert doe not in lab.users() and doe in lab.deleted_users()


def test_a_user_named_by_upn_or_object_guid_is_synced_and_a_one_object_run_is_not_the_last_sync(lab):
    jose = lab.anchor(dn("jose"))
    last = service.test_sync(lab.home)["lastSyncTime"]
    _set(lab, dn("jose"), department="By UPN")
    assert lab.sync(objects=[f"jmuller@{MAIL_DOMAIN}"])["counts"]["updated"] == 1
    assert lab.users()[jose]["department"] == "By UPN"
    conn = lab.ldap()
    conn.search(dn("jose"), "(objectClass=*)", ldap3.BASE, attributes=["objectGUID"])
    guid = str(uuid.UUID(bytes_le=conn.response[0]["raw_attributes"]["objectGUID"][0]))
    conn.unbind()
    _set(lab, dn("jose"), department="By GUID")
    assert lab.sync(objects=[guid.upper()])["counts"]["updated"] == 1
    assert lab.users()[jose]["department"] == "By GUID"
    assert service.test_sync(lab.home)["lastSyncTime"] == last


def test_an_identity_that_names_nothing_or_two_objects_is_refused_and_no_run_is_recorded(lab):
    before = _runs(lab)
    with pytest.raises(IdentityNotFoundError, match="'nobody-here'"):
        lab.sync(objects=["nobody-here"])
    # Two deleted accounts that had the same sAMAccountName (AD keeps it on deleted objects) both answer to it.
    conn = lab.ldap()
    for _ in range(2):
        temp = dn("olga").replace("CN=", "CN=Temp ", 1)
        conn.add(temp, ["top", "person", "organizationalPerson", "user"], {"sAMAccountName": "tempworker"})
        assert conn.result["result"] == 0, conn.result
        conn.delete(temp)
    conn.unbind()
    with pytest.raises(IdentityAmbiguousError) as refused:
        lab.sync(objects=["tempworker"])
    assert "names 2 objects" in refused.value.message and "distinguishedName or objectGUID" in refused.value.fix
    assert _runs(lab) == before


def test_a_one_object_sync_while_a_run_holds_the_lock_is_refused_or_waits_and_loses_nothing(lab):
    olga = lab.anchor(dn("olga"))
    _set(lab, dn("olga"), department="Waited for")
    holder = StateStore(lab.home)
    holder.lock()
    try:
        with pytest.raises(RunInProgressError, match=r"process \d+ on"):
            lab.sync(objects=["opetrova"])
        waiting = threading.Event()
        outcome: dict = {}

        def sink(event: dict) -> None:
            if event["kind"] == "progress" and event["status"].startswith("Waiting:"):
                waiting.set()

        from dirsync.events import Events

        def run() -> None:
            outcome["result"] = service.start_sync(objects=["opetrova"], wait=True, events=Events(sink),
                                                   home=lab.home)
        worker = threading.Thread(target=run)
        worker.start()
        assert waiting.wait(60), "the sync did not say it was waiting for the lock"
        assert lab.users()[olga]["department"] != "Waited for"
    finally:
        holder.unlock()
        holder.close()
    worker.join(120)
    assert outcome["result"].status == "success"
    assert lab.users()[olga]["department"] == "Waited for"


def test_an_account_whose_expiry_passes_is_disabled_at_the_next_run_with_no_change_in_ad(lab):
    alice = lab.anchor(dn("alice"))
    soon = datetime.now(timezone.utc) + timedelta(seconds=3)
    _set(lab, dn("alice"), accountExpires=_filetime(soon))
    first = lab.sync()  # reads the change: the expiry is still ahead
    assert first["counts"]["expired"] == 0 and lab.users()[alice]["accountEnabled"] is True
    while datetime.now(timezone.utc) <= soon:  # the moment itself is what the test waits for
        time.sleep(0.1)
    result = lab.sync()
    assert result["status"] == "success", result
    assert result["counts"]["expired"] == 1 and result["counts"]["updated"] == 1, result
    assert lab.users()[alice]["accountEnabled"] is False
    assert lab.sync()["counts"]["expired"] == 0  # read once, not at every run

    _set(lab, dn("alice"), accountExpires=_filetime(datetime.now(timezone.utc) + timedelta(days=365)))
    assert lab.sync()["counts"]["updated"] == 1
    assert lab.users()[alice]["accountEnabled"] is True


def test_an_expiry_set_in_the_past_disables_at_the_next_run_and_never_enables_again(lab):
    jose = lab.anchor(dn("jose"))
    _set(lab, dn("jose"), accountExpires=_filetime(datetime.now(timezone.utc) - timedelta(days=1)))
    result = lab.sync()
    assert result["counts"]["expired"] == 1 and lab.users()[jose]["accountEnabled"] is False
    _set(lab, dn("jose"), accountExpires=0)  # 0: never expires
    lab.sync()
    assert lab.users()[jose]["accountEnabled"] is True


# --- Get-CoexistenceObject: explain an object -----------------------------------------------------------

def _explain(lab, identity: str) -> dict:
    [report] = [r.to_dict() for r in service.describe_objects([identity], home=lab.home)]
    return report


def test_an_in_scope_user_is_explained_with_its_rule_values_cloud_object_and_memberships(lab):
    report = _explain(lab, "xwang")
    assert report["dn"] == dn("wang") and report["inActiveDirectory"] and report["inScope"]
    assert report["scopeRule"].startswith("the whole domain") and "under no excluded OU" in report["scopeRule"]
    assert report["values"]["userPrincipalName"] == f"xwang@{MAIL_DOMAIN}"
    assert report["cloudState"] == "active" and report["cloudId"] == lab.users()[lab.anchor(dn("wang"))]["id"]
    assert report["wouldChange"] == {} and report["lastWritten"] and isinstance(report["lastRun"], int)
    groups = {m["dn"]: m for m in report["memberships"]}
    assert groups[dn("engineering")] == {"dn": dn("engineering"), "anchor": lab.anchor(dn("engineering")),
                                         "inActiveDirectory": True, "inCloud": True}
    assert report["manager"] == dn("alice")


def test_an_out_of_scope_user_names_the_excluded_ou_and_a_pending_change_shows_before_the_run(lab):
    from dirsync_lab.testdomain.seed import bulk_dn
    from .conftest import BULK
    report = _explain(lab, bulk_dn(2))
    assert not report["inScope"] and report["scopeRule"].lower() == f"under the excluded OU {BULK}".lower()
    assert report["cloudState"] == "absent" and report["wouldChange"] == {}
    _set(lab, dn("olga"), department="Pending department")
    assert _explain(lab, "opetrova")["wouldChange"] == {"department": "Pending department"}


def test_a_contact_is_explained_as_skipped_and_why(lab):
    report = _explain(lab, dn("pat"))
    assert report["kind"] == "contact" and report["inScope"] and report["cloudState"] == "absent"
    assert "organizational contacts" in report["skipReason"] and "Exchange Online" in report["skipReason"]


def test_a_user_in_export_error_is_explained_with_the_error_and_its_fix(lab):
    upn = f"clash2@{MAIL_DOMAIN}"
    lab.add_cloud_only_user(upn, "cloudclash2")
    conn = lab.ldap()
    clash = dn("wang").replace("CN=王小明", "CN=clash2")
    conn.add(clash, "user", {"sAMAccountName": "clash2", "userPrincipalName": upn, "userAccountControl": 514})
    assert conn.result["result"] == 0, conn.result
    conn.unbind()
    assert lab.sync(objects=["clash2"])["status"] == "completed-export-errors"
    report = _explain(lab, "clash2")
    assert report["lastResult"] == "error" and "UPN conflict" in report["lastError"]
    assert "SoftMatch" in report["lastFix"] and report["cloudState"] == "absent"
    assert report["wouldChange"]["userPrincipalName"] == upn


def test_the_dirsync_command_syncs_one_object_and_explains_it_and_refuses_an_unknown_one(lab, capsys):
    from dirsync import cli
    _set(lab, dn("olga"), department="From the command line")
    assert cli.main(["sync", "--object", "opetrova", "--json", "--home", str(lab.home)]) == 0
    run = json.loads(capsys.readouterr().out)
    assert run["mode"] == "object" and [c["dn"] for c in run["changes"]] == [dn("olga")]
    assert cli.main(["object", "show", "opetrova", "--json", "--home", str(lab.home)]) == 0
    [report] = json.loads(capsys.readouterr().out)
    assert report["values"]["department"] == "From the command line" and report["wouldChange"] == {}
    assert cli.main(["object", "show", "nobody-here", "--home", str(lab.home)]) == 2
    refused = capsys.readouterr().err
    assert "error: No user, group or contact" in refused and "'nobody-here'" in refused
