"""Deciding what to write: a pure function of the staged state and of what the cloud already has.

The plan is the difference between what staging recorded (engine/stage.py) and what the cloud was last
told. The cloud's side comes in as `CloudMatches`, which run.py fetches beforehand: the objects found by
anchor (hard match) and, with soft matching on, the users found by UPN; `hard_match_anchors` and
`soft_match_upns` say what to fetch.
No I/O happens here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import ceil

from ..vocabulary import CHECK, PlanAction
from .mapping import value_hash
from .ports import (CLOUD_KINDS, MEMBERS_PER_WRITE, Change, CloudKind, CloudObject, ObjectError, PendingWork,
                    StagedObject)


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    errors: list[ObjectError] = field(default_factory=list)  # objects that cannot be written as they are
    forget: list[str] = field(default_factory=list)   # gone from AD and never reached the cloud
    settled: list[str] = field(default_factory=list)  # pending, but the cloud already has it all
    # Partial writes sent before the changes, each on its own: disables (a refused property of the same
    # object must not hold them back) and moves of synced users off a UPN another change takes.
    steps: list[Change] = field(default_factory=list)
    synchronized: int = 0  # objects with a cloud object before the plan: what the deletes are a share of

    def of(self, *actions: PlanAction) -> list[Change]:
        return [c for c in self.changes if c.action in actions]

    @property
    def deletes(self) -> int:
        return len(self.of(PlanAction.delete))

    def writes(self) -> int:
        """The writes the export sends when none fails: one per change, but none for an adoption that finds
        the cloud object as wanted, two for a restore with properties (the restore takes no body), and a
        group's added members MEMBERS_PER_WRITE to a write, the first of them in the create of a group
        made now (all but the groups made in the same run: they have no id yet)."""
        count = len(self.steps)
        added: dict[str, list[Change]] = {}
        for change in self.changes:
            if change.action == PlanAction.add_member:
                added.setdefault(change.anchor, []).append(change)
            elif change.action == PlanAction.restore:
                count += 2 if change.properties else 1
            elif change.action != PlanAction.adopt or change.properties:
                count += 1
        new_groups = {c.anchor for c in self.of(PlanAction.add) if c.kind == "group"}
        for group, members in added.items():
            bound = min(MEMBERS_PER_WRITE, sum(m.ref not in new_groups for m in members)) if group in new_groups else 0
            count += ceil((len(members) - bound) / MEMBERS_PER_WRITE)
        return count


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


def hard_match_properties(pending: PendingWork, kind: CloudKind) -> list[str]:
    """The properties to read with the hard match: an adoption writes only those the cloud has otherwise."""
    return sorted({k for row in pending.work if row.kind == kind and not row.cloud_id for k in row.pending or {}})


def vacated_upn(anchor: str, initial_domain: str) -> str:
    """Where a synced user waits while another takes its UPN: unique per anchor, in the initial domain
    (always verified), and the same at every run, so a rerun after a crash repeats the same harmless write."""
    return f"dirsync-vacated-{value_hash(anchor)[:12]}@{initial_domain}"


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
              unmatchable_groups: Unmatchable | None = None, initial_domain: str = "") -> Plan:
    """`unmatchable_groups`: the groups' lookup failed; the groups the cloud may already have wait, each
    reported with the fix, and everything else is planned as usual. `initial_domain`: the tenant's
    *.onmicrosoft.com domain, where a synced user waits while another takes its UPN (none: no such moves)."""
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
    _plan_disables(plan)
    if initial_domain:
        _plan_vacates(pending, plan, initial_domain)
    _plan_links(pending, plan)
    live = len(pending.live) if pending.synchronized is None else pending.synchronized
    plan.synchronized = live + plan.deletes  # the doomed are not live: pending_delete
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
    if found and found.deleted:
        # Restored, not created anew: the same id, with its memberships, mailbox and licences.
        plan.changes.append(Change(PlanAction.restore, row.cloud_kind, row.anchor, row.dn, desired,
                                   cloud_id=found.cloud_id))
    elif found:
        # Only what the cloud object lacks: a rerun after a crash writes what is missing, nothing more.
        diff = desired if found.properties is None else {
            k: v for k, v in desired.items() if comparable(v) != comparable(found.properties.get(k))}
        plan.changes.append(Change(PlanAction.adopt, row.cloud_kind, row.anchor, row.dn, diff,
                                   cloud_id=found.cloud_id))
    else:
        plan.changes.append(Change(PlanAction.add, row.cloud_kind, row.anchor, row.dn, desired))


def comparable(value):
    """A value as Graph gives it back: an absent or null member of a complex value is the same as none."""
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items() if v is not None}
    return value


def _plan_disables(plan: Plan) -> None:
    """A disable goes first and alone: in the same PATCH, a property Graph refuses (a UPN in conflict)
    would keep a leaver's account enabled at every run."""
    for change in plan.of(PlanAction.update, PlanAction.adopt):
        props = change.properties or {}
        if props.get("accountEnabled") is False and len(props) > 1:
            plan.steps.append(Change(PlanAction.update, change.kind, change.anchor, change.dn,
                                     {"accountEnabled": False}, cloud_id=change.cloud_id))


def _plan_vacates(pending: PendingWork, plan: Plan, initial_domain: str) -> None:
    """A UPN held by a synced user whose own pending change gives it up (a swap, a chain of renames) is
    freed first: the holder moves to a UPN of its own, then every change sets the UPN AD gives it. Any
    order of the writes within a $batch is then safe, and a crash at any point plans the moves again from
    what was confirmed."""
    leaving = {row.exported["userPrincipalName"]: row for row in pending.work
               if row.kind == "user" and row.cloud_id and "userPrincipalName" in row.exported
               and value_hash((row.pending or {}).get("userPrincipalName")) != row.exported["userPrincipalName"]}
    vacated: set[str] = set()
    for change in plan.of(PlanAction.add, PlanAction.adopt, PlanAction.update):
        upn = (change.properties or {}).get("userPrincipalName") if change.kind == "user" else None
        holder = leaving.get(value_hash(upn)) if upn else None
        if holder and holder.anchor != change.anchor and holder.anchor not in vacated:
            vacated.add(holder.anchor)
            plan.steps.append(Change(PlanAction.update, "user", holder.anchor, holder.dn,
                                     {"userPrincipalName": vacated_upn(holder.anchor, initial_domain)},
                                     cloud_id=holder.cloud_id))


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
