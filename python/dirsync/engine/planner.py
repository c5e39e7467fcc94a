"""Deciding what to write: a pure function of the staged state and of what the cloud already has.

The plan is the difference between what staging recorded (engine/stage.py) and what the cloud was last
told. The cloud's side comes in as `CloudMatches`, which run.py fetches beforehand: the objects found by
anchor (hard match) and, with soft matching on, the users found by UPN; `hard_match_anchors` and
`soft_match_upns` say what to fetch.
No I/O happens here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..vocabulary import CHECK, PlanAction
from .mapping import value_hash
from .ports import CLOUD_KINDS, Change, CloudKind, CloudObject, ObjectError, PendingWork, StagedObject


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    errors: list[ObjectError] = field(default_factory=list)  # objects that cannot be written as they are
    forget: list[str] = field(default_factory=list)   # gone from AD and never reached the cloud
    settled: list[str] = field(default_factory=list)  # pending, but the cloud already has it all
    synchronized: int = 0  # objects with a cloud object before the plan: what the deletes are a share of

    def of(self, *actions: PlanAction) -> list[Change]:
        return [c for c in self.changes if c.action in actions]

    @property
    def deletes(self) -> int:
        return len(self.of(PlanAction.delete))


@dataclass(frozen=True)
class CloudMatches:
    by_anchor: dict[str, CloudObject] = field(default_factory=dict)     # anchor -> object (hard match)
    by_upn: dict[str, CloudObject | None] = field(default_factory=dict)  # UPN -> user (soft match)


def hard_match_anchors(pending: PendingWork) -> dict[CloudKind, list[str]]:
    """kind -> the anchors to look up in the cloud before planning. Any object without a known cloud
    object may have one already, because an earlier run died between the create and its commit, or the
    state store was lost: it is adopted instead of created a second time."""
    unknown = [row for row in [*pending.work, *pending.doomed] if not row.cloud_id]
    anchors: dict[CloudKind, list[str]] = {
        kind: [row.anchor for row in unknown if row.kind == kind] for kind in CLOUD_KINDS}
    return {kind: found for kind, found in anchors.items() if found}


def soft_match_upns(pending: PendingWork, by_anchor: dict[str, CloudObject]) -> list[str]:
    """The UPNs of the new users the hard match did not find."""
    return [row.pending["userPrincipalName"] for row in pending.work
            if not row.cloud_id and row.kind == "user" and row.anchor not in by_anchor]


@dataclass(frozen=True)
class Unmatchable:
    """Why the objects of a kind could not be looked up (the group anchor property refused), and the fix."""

    reason: str
    fix: str
    code: str


def make_plan(pending: PendingWork, matches: CloudMatches, *, soft_match: bool,
              unmatchable_groups: Unmatchable | None = None) -> Plan:
    """`unmatchable_groups`: the groups' lookup failed; the groups the cloud may already have wait, each
    reported with the fix, and everything else is planned as usual."""
    plan = Plan()
    waiting = {row.anchor for row in [*pending.work, *pending.doomed]
               if unmatchable_groups and row.kind == "group" and not row.cloud_id}
    for row in pending.doomed:
        if row.anchor in waiting:
            continue
        found = matches.by_anchor.get(row.anchor)
        # An object in deleted items is as gone as a delete would leave it: nothing to do.
        cloud_id = row.cloud_id or (found.cloud_id if found and not found.deleted else None)
        if cloud_id:
            plan.changes.append(Change(PlanAction.delete, row.cloud_kind, row.anchor, row.dn, cloud_id=cloud_id))
        else:
            plan.forget.append(row.anchor)
    for row in pending.work:
        if row.anchor in waiting and unmatchable_groups:
            plan.errors.append(ObjectError(row.anchor, row.dn, row.kind, unmatchable_groups.reason,
                                           unmatchable_groups.fix, action=PlanAction.add,
                                           code=unmatchable_groups.code))
        else:
            _plan_properties(plan, row, matches, soft_match)
    _plan_links(pending, plan)
    plan.synchronized = len(pending.live | {c.anchor for c in plan.of(PlanAction.delete)})
    plan.errors += [ObjectError(r.anchor, r.dn, r.kind, r.last_error, r.last_fix, action=CHECK)
                    for r in pending.invalid]
    return plan


def _plan_properties(plan: Plan, row: StagedObject, matches: CloudMatches, soft_match: bool) -> None:
    desired = row.pending
    if row.cloud_id:
        diff = {k: v for k, v in desired.items() if value_hash(v) != row.exported.get(k)}
        if diff:
            plan.changes.append(Change(PlanAction.update, row.cloud_kind, row.anchor, row.dn, diff,
                                       cloud_id=row.cloud_id))
        else:
            plan.settled.append(row.anchor)
        return
    found = matches.by_anchor.get(row.anchor)
    if found is None and soft_match and row.kind == "user":
        candidate = matches.by_upn.get(desired["userPrincipalName"])
        # Soft match adopts only a cloud-only user: one that no directory anchors yet.
        found = candidate if candidate and not candidate.anchor else None
    if found:
        # Restored, not created anew: the same id, with its memberships, mailbox and licences.
        action = PlanAction.restore if found.deleted else PlanAction.adopt
        plan.changes.append(Change(action, row.cloud_kind, row.anchor, row.dn, desired, cloud_id=found.cloud_id))
    else:
        plan.changes.append(Change(PlanAction.add, row.cloud_kind, row.anchor, row.dn, desired))


def _plan_links(pending: PendingWork, plan: Plan) -> None:
    deleted = {c.anchor for c in plan.of(PlanAction.delete)}
    live = (set(pending.live) | {c.anchor for c in plan.of(PlanAction.add, PlanAction.adopt, PlanAction.restore)}
            ) - deleted
    managers: dict[str, list] = {}
    for link in pending.links:
        if link.src not in live:
            continue
        if link.rel == "manager":
            managers.setdefault(link.src, []).append(link)
        elif link.dst in live and link.wanted != link.exported:
            action = PlanAction.add_member if link.wanted else PlanAction.remove_member
            plan.changes.append(Change(action, link.src_kind, link.src, link.src_dn, ref=link.dst,
                                       ref_dn=link.dst_dn))
    for src, links in managers.items():
        wanted = [link for link in links if link.wanted and link.dst in live]
        if wanted and not wanted[0].exported:
            link = wanted[0]
            plan.changes.append(Change(PlanAction.set_manager, "user", src, link.src_dn, ref=link.dst,
                                       ref_dn=link.dst_dn))
        elif not wanted and any(link.exported for link in links):
            plan.changes.append(Change(PlanAction.remove_manager, "user", src, links[0].src_dn))
