"""The planner as a pure function: staged rows and cloud matches in, a plan out (no SQLite, no network)."""

from __future__ import annotations

from dirsync.engine.mapping import value_hash
from dirsync.engine.planner import (CloudMatches, Unmatchable, hard_match_anchors, hard_match_properties, make_plan,
                                    soft_match_upns, vacated_upn)
from dirsync.engine.ports import CloudObject, PendingWork, StagedLink, StagedObject
from dirsync.vocabulary import CHECK, PlanAction

ALICE = {"userPrincipalName": "alice@contoso.com", "displayName": "Alice", "jobTitle": "Engineer"}


def obj(anchor: str, kind: str = "user", *, cloud_id=None, pending=None, exported=None, **fields) -> StagedObject:
    return StagedObject(anchor, kind, f"CN={anchor},OU=Staff,DC=contoso,DC=com", in_scope=True, cloud_id=cloud_id,
                        pending=pending, exported=exported or {}, **fields)


def exported(properties: dict) -> dict:
    return {k: value_hash(v) for k, v in properties.items()}


def link(src: str, rel: str, dst: str, *, wanted: bool, exported: bool, kind: str = "group") -> StagedLink:
    return StagedLink(src, rel, dst, wanted, exported, kind, f"CN={src}", f"CN={dst}")


def pending(work=(), doomed=(), invalid=(), live=(), links=()) -> PendingWork:
    return PendingWork(list(work), list(doomed), list(invalid), frozenset(live), list(links))


def plan_of(work: PendingWork, matches: CloudMatches | None = None, soft_match: bool = False):
    return make_plan(work, matches or CloudMatches(), soft_match=soft_match)


def actions(plan) -> list[tuple]:
    return [(c.action, c.anchor, c.ref) for c in plan.changes]


def test_a_new_object_nobody_has_in_the_cloud_is_added_with_all_its_properties():
    plan = plan_of(pending(work=[obj("alice", pending=ALICE)]))
    [change] = plan.changes
    assert (change.action, change.kind, change.properties, change.cloud_id) == (PlanAction.add, "user", ALICE, None)


def test_a_new_object_whose_anchor_the_cloud_has_is_adopted_not_created_again():
    found = CloudObject("cloud-1", "user", "alice", "alice@contoso.com")
    plan = plan_of(pending(work=[obj("alice", pending=ALICE)]), CloudMatches(by_anchor={"alice": found}))
    [change] = plan.changes
    assert (change.action, change.cloud_id, change.properties) == (PlanAction.adopt, "cloud-1", ALICE)


def test_an_object_whose_anchor_waits_in_deleted_items_is_restored_with_its_properties_and_links():
    gone = CloudObject("cloud-1", "user", "alice", "alice@contoso.com", deleted=True)
    group = CloudObject("cloud-2", "group", "team", deleted=True)
    work = pending(work=[obj("alice", pending=ALICE), obj("team", "group", pending={"displayName": "Team"})],
                   links=[link("team", "member", "alice", wanted=True, exported=False)])
    plan = plan_of(work, CloudMatches(by_anchor={"alice": gone, "team": group}))
    assert [(c.action, c.anchor, c.cloud_id) for c in plan.changes[:2]] == [
        (PlanAction.restore, "alice", "cloud-1"), (PlanAction.restore, "team", "cloud-2")]
    assert plan.changes[0].properties == ALICE  # then updated to what AD says, as an adoption is
    assert actions(plan)[2:] == [(PlanAction.add_member, "team", "alice")]


def test_a_live_match_is_adopted_and_a_deleted_one_is_not_deleted_again():
    doomed = [obj("gone", pending_delete=True)]
    plan = plan_of(pending(doomed=doomed), CloudMatches(by_anchor={"gone": CloudObject("c1", "user", "gone",
                                                                                       deleted=True)}))
    assert plan.changes == [] and plan.forget == ["gone"]


def test_groups_that_cannot_be_looked_up_wait_with_the_fix_and_users_are_planned_as_usual():
    why = Unmatchable("DirSync cannot read its group anchor property", "Make the app its own owner.", "X")
    work = pending(work=[obj("alice", pending=ALICE), obj("team", "group", pending={"displayName": "Team"}),
                         obj("known", "group", cloud_id="c9", pending={"displayName": "Known"})],
                   doomed=[obj("old", "group", pending_delete=True)],
                   links=[link("team", "member", "alice", wanted=True, exported=False)])
    plan = make_plan(work, CloudMatches(), soft_match=False, unmatchable_groups=why)
    assert actions(plan) == [(PlanAction.add, "alice", None), (PlanAction.update, "known", None)]
    [error] = plan.errors
    assert (error.anchor, error.reason, error.fix, error.action) == ("team", why.reason, why.fix, PlanAction.add)
    assert plan.forget == []  # a doomed group the cloud may have is neither deleted nor forgotten


def test_soft_match_adopts_only_a_cloud_only_user_and_only_when_on():
    work = pending(work=[obj("alice", pending=ALICE)])
    cloud_only = CloudMatches(by_upn={"alice@contoso.com": CloudObject("cloud-9", "user", None)})
    anchored = CloudMatches(by_upn={"alice@contoso.com": CloudObject("cloud-8", "user", "someone-else")})
    adopted = plan_of(work, cloud_only, soft_match=True).changes[0]
    assert (adopted.action, adopted.cloud_id) == (PlanAction.adopt, "cloud-9")
    assert plan_of(work, anchored, soft_match=True).changes[0].action == PlanAction.add
    assert plan_of(work, cloud_only, soft_match=False).changes[0].action == PlanAction.add


def test_an_update_sends_only_the_properties_that_differ_from_what_was_exported():
    now = {**ALICE, "jobTitle": "Architect"}
    plan = plan_of(pending(work=[obj("alice", cloud_id="c1", pending=now, exported=exported(ALICE))]))
    [change] = plan.changes
    assert (change.action, change.properties, change.cloud_id) == (PlanAction.update, {"jobTitle": "Architect"}, "c1")


def test_pending_properties_the_cloud_already_has_settle_without_a_change():
    plan = plan_of(pending(work=[obj("alice", cloud_id="c1", pending=ALICE, exported=exported(ALICE))]))
    assert plan.changes == [] and plan.settled == ["alice"]


def test_deletes_act_on_the_known_or_the_hard_matched_cloud_object_and_the_rest_is_forgotten():
    doomed = [obj("known", cloud_id="c1", pending_delete=True), obj("matched", "group", pending_delete=True),
              obj("never", pending_delete=True, create_intent="2026-01-01T00:00:00.000Z")]
    matches = CloudMatches(by_anchor={"matched": CloudObject("c2", "group", "matched")})
    plan = plan_of(pending(doomed=doomed), matches)
    assert [(c.action, c.anchor, c.cloud_id) for c in plan.changes] == [
        (PlanAction.delete, "known", "c1"), (PlanAction.delete, "matched", "c2")]
    assert plan.forget == ["never"] and plan.deletes == 2


def test_membership_changes_between_objects_in_the_cloud_and_objects_added_in_the_same_plan():
    links = [link("team", "member", "bob", wanted=True, exported=False),
             link("team", "member", "carol", wanted=False, exported=True),
             link("team", "member", "new", wanted=True, exported=False),
             link("team", "member", "kept", wanted=True, exported=True)]
    work = pending(work=[obj("new", pending=ALICE)], live={"team", "bob", "carol", "kept"}, links=links)
    assert actions(plan_of(work))[1:] == [(PlanAction.add_member, "team", "bob"),
                                          (PlanAction.remove_member, "team", "carol"),
                                          (PlanAction.add_member, "team", "new")]


def test_a_link_to_an_object_not_yet_in_the_cloud_waits_for_it():
    links = [link("team", "member", "outsider", wanted=True, exported=False),
             link("bob", "manager", "outsider", wanted=True, exported=False, kind="user")]
    assert plan_of(pending(live={"team", "bob"}, links=links)).changes == []


def test_links_of_an_object_being_deleted_are_not_planned():
    links = [link("team", "member", "bob", wanted=True, exported=False)]
    work = pending(doomed=[obj("team", "group", cloud_id="c1", pending_delete=True)], live={"bob"}, links=links)
    assert actions(plan_of(work)) == [(PlanAction.delete, "team", None)]


def test_a_manager_is_set_when_new_left_when_exported_and_removed_when_no_longer_wanted():
    set_one = [link("bob", "manager", "alice", wanted=True, exported=False, kind="user")]
    kept = [link("bob", "manager", "alice", wanted=True, exported=True, kind="user")]
    removed = [link("bob", "manager", "alice", wanted=False, exported=True, kind="user")]
    replaced = [link("bob", "manager", "alice", wanted=False, exported=True, kind="user"),
                link("bob", "manager", "carol", wanted=True, exported=False, kind="user")]
    live = {"alice", "bob", "carol"}
    assert actions(plan_of(pending(live=live, links=set_one))) == [(PlanAction.set_manager, "bob", "alice")]
    assert actions(plan_of(pending(live=live, links=kept))) == []
    assert actions(plan_of(pending(live=live, links=removed))) == [(PlanAction.remove_manager, "bob", None)]
    assert actions(plan_of(pending(live=live, links=replaced))) == [(PlanAction.set_manager, "bob", "carol")]


def test_objects_that_cannot_be_written_as_they_are_are_errors_to_check():
    bad = obj("bad", last_result="invalid", last_error="No UPN.", last_fix="Give it one.")
    [error] = plan_of(pending(invalid=[bad])).errors
    assert (error.anchor, error.action, error.reason, error.fix) == ("bad", CHECK, "No UPN.", "Give it one.")


def test_what_to_ask_the_cloud_before_planning():
    work = pending(work=[obj("alice", pending=ALICE), obj("team", "group", pending={"displayName": "Team"}),
                         obj("known", cloud_id="c1", pending=ALICE)],
                   doomed=[obj("gone", pending_delete=True, create_intent="t")])
    assert hard_match_anchors(work) == {"user": ["alice", "gone"], "group": ["team"]}
    assert soft_match_upns(work, {}) == ["alice@contoso.com"]
    assert soft_match_upns(work, {"alice": CloudObject("c2", "user", "alice")}) == []


def test_the_planner_the_guard_and_the_error_wording_import_nothing_that_does_io():
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys, dirsync.engine.planner, dirsync.engine.guard, dirsync.engine.explain\n"
            "io = {'sqlite3', 'ldap3', 'requests', 'msal', 'socket', 'urllib3', 'http'}\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in io\n"
            "             or m.split('.')[:2] in (['dirsync', 'state'], ['dirsync', 'ad'], ['dirsync', 'cloud'])))")
    source = Path(__file__).resolve().parents[3] / "python"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(source)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# --- writes Graph may refuse for one property (issue 13) ------------------------------------------------

def _upn(name: str) -> dict:
    return {**ALICE, "userPrincipalName": f"{name}@contoso.com"}


def test_a_disable_that_travels_with_other_changes_is_also_planned_on_its_own():
    row = obj("alice", cloud_id="c1", pending={**_upn("taken"), "accountEnabled": False},
              exported=exported({**ALICE, "accountEnabled": True}))
    plan = plan_of(pending(work=[row]))
    [change] = plan.changes
    assert change.properties == {"userPrincipalName": "taken@contoso.com", "accountEnabled": False}
    assert [(s.action, s.anchor, s.cloud_id, s.properties) for s in plan.steps] == [
        (PlanAction.update, "alice", "c1", {"accountEnabled": False})]


def test_a_disable_alone_or_an_enable_needs_no_step():
    alone = obj("a", cloud_id="c1", pending={**ALICE, "accountEnabled": False},
                exported=exported({**ALICE, "accountEnabled": True}))
    enable = obj("b", cloud_id="c2", pending={**_upn("b2"), "accountEnabled": True},
                 exported=exported({**ALICE, "accountEnabled": False}))
    assert plan_of(pending(work=[alone, enable])).steps == []


def test_a_upn_swap_between_synced_users_moves_both_aside_first():
    a = obj("a", cloud_id="c1", pending=_upn("b"), exported=exported(_upn("a")))
    b = obj("b", cloud_id="c2", pending=_upn("a"), exported=exported(_upn("b")))
    plan = make_plan(pending(work=[a, b]), CloudMatches(), soft_match=False, initial_domain="contoso.onmicrosoft.com")
    assert sorted((s.anchor, s.cloud_id, s.properties["userPrincipalName"]) for s in plan.steps) == [
        ("a", "c1", vacated_upn("a", "contoso.onmicrosoft.com")), ("b", "c2", vacated_upn("b", "contoso.onmicrosoft.com"))]
    assert sorted(c.properties["userPrincipalName"] for c in plan.changes) == ["a@contoso.com", "b@contoso.com"]


def test_a_holder_that_keeps_its_upn_or_is_not_synced_is_not_moved():
    keeps = obj("a", cloud_id="c1", pending={**_upn("a"), "jobTitle": "Boss"}, exported=exported(_upn("a")))
    claimant = obj("b", cloud_id="c2", pending=_upn("a"), exported=exported(_upn("b")))
    new = obj("n", pending=_upn("x"))  # x is held by nobody DirSync knows
    plan = make_plan(pending(work=[keeps, claimant, new]), CloudMatches(), soft_match=False, initial_domain="t")
    assert plan.steps == []


def test_a_new_user_taking_a_upn_a_synced_user_gives_up_moves_that_user_aside():
    leaving = obj("a", cloud_id="c1", pending=_upn("a2"), exported=exported(_upn("a")))
    plan = make_plan(pending(work=[leaving, obj("n", pending=_upn("a"))]), CloudMatches(), soft_match=False,
                     initial_domain="t")
    assert [(s.anchor, s.properties) for s in plan.steps] == [("a", {"userPrincipalName": vacated_upn("a", "t")})]


def test_an_adoption_writes_only_what_the_cloud_object_lacks():
    desired = {**ALICE, "businessPhones": [], "onPremisesExtensionAttributes": {"extensionAttribute1": None}}
    cloud = {**ALICE, "jobTitle": "Intern", "businessPhones": [], "onPremisesExtensionAttributes": {}}
    found = CloudObject("cloud-1", "user", "alice", "alice@contoso.com", properties=cloud)
    same = CloudObject("cloud-2", "user", "bob", "bob@contoso.com", properties={**desired, "jobTitle": "Engineer"})
    plan = plan_of(pending(work=[obj("alice", pending=desired), obj("bob", pending=desired)]),
                   CloudMatches(by_anchor={"alice": found, "bob": same}))
    assert [(c.action, c.anchor, c.properties) for c in plan.changes] == [
        (PlanAction.adopt, "alice", {"jobTitle": "Engineer"}), (PlanAction.adopt, "bob", {})]


def test_the_hard_match_reads_the_properties_the_new_objects_would_write():
    work = pending(work=[obj("alice", pending=ALICE), obj("team", "group", pending={"displayName": "T"}),
                         obj("known", cloud_id="c1", pending={"mail": "k@contoso.com"})])
    assert hard_match_properties(work, "user") == sorted(ALICE)
    assert hard_match_properties(work, "group") == ["displayName"]
