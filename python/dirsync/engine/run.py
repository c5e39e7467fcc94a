"""One synchronization run: import → plan → guard → export → commit.

Crash safety rests on three rules:
- The import is staged into the state store in one transaction, so the work to do survives the run.
- Each cloud result is committed on its own as soon as it arrives (progress made is kept), and a create
  is recorded as intended before it is sent; the planner hard-matches every object that has no known
  cloud object (Target.find_by_anchors), so a rerun after a crash between a create and its commit adopts
  the object it created instead of creating a second one.
- The import watermark is committed only after the export that depends on it has finished; a run that
  dies re-imports the same changes next time, and what was done already plans as nothing.
"""

from __future__ import annotations

import platform
import uuid
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, replace
from typing import Callable, Iterable

from ..clock import now, parse
from ..config import Configuration
from ..errors import (ActiveServerUnknownError, DirSyncError, GroupAnchorError, IdentityAmbiguousError,
                      IdentityNotFoundError, RunInProgressError, ServerUnreachableError)
from ..events import Cancelled, Events
from ..vocabulary import LINK_ACTIONS, CloudAction, ImportMode, Outcome, PlanAction, RunMode, RunStatus, Trigger
from . import explain, guard
from .mapping import NOT_CLEARABLE, Mapper, value_hash
from .planner import (CloudMatches, Plan, Unmatchable, hard_match_anchors, hard_match_properties, make_plan,
                      soft_match_upns)
from .ports import (CHANGES_LISTED, MEMBERS_PER_WRITE, ActiveServer, Change, CloudOp, CloudResult, ImportItem,
                    ObjectError, RunResult, SkippedObject, Source, StateRepository, Target)
from .scope import Scope, check_containers
from .stage import Stager

EXPORT = "Exporting to Microsoft 365"
WATERMARK = "active-directory"
RULES = "sync-rules"  # the rules of the last committed run
STAGED_RULES = "staged-sync-rules"  # the rules the staged import was decided under
SERVER_ID = "server-id"  # this home's id as the active server's marker names it (guard.py), made once

# An adoption is an update of the object found: its properties and the anchor it now carries.
_CLOUD_OP = {PlanAction.add: CloudAction.create, PlanAction.adopt: CloudAction.update,
             PlanAction.restore: CloudAction.restore,
             PlanAction.update: CloudAction.update, PlanAction.delete: CloudAction.delete,
             PlanAction.add_member: CloudAction.add_member, PlanAction.remove_member: CloudAction.remove_member,
             PlanAction.set_manager: CloudAction.set_manager, PlanAction.remove_manager: CloudAction.remove_manager}
_COUNT = {PlanAction.add: "added", PlanAction.adopt: "adopted", PlanAction.restore: "restored",
          PlanAction.update: "updated",
          PlanAction.delete: "deleted", PlanAction.add_member: "membershipChanges",
          PlanAction.remove_member: "membershipChanges", PlanAction.set_manager: "managerChanges",
          PlanAction.remove_manager: "managerChanges"}
COUNT_KEYS = ("imported", "inScope", "deletedInSource", "added", "adopted", "restored", "updated", "deleted",
              "membershipChanges", "managerChanges", "recoveredCreates", "adoptedUnchanged", "expired", "skipped",
              "errors")


@dataclass
class RunOptions:
    full: bool = False
    preview: bool = False
    allow_deletes: bool = False
    trigger: str = Trigger.manual
    # Synchronize only these objects (sAMAccountName, UPN, DN or objectGUID), now: read each from AD, plan and
    # apply it with its links; the delta watermark stays where it is, so no other change is passed over.
    objects: tuple[str, ...] = ()
    wait: bool = False  # another run holds the lock: wait for it to end instead of being refused
    # Another server's active-server marker is replaced by this one's instead of stopping the run (guard.py):
    # the switch-over to a standby once the active server is gone.
    take_over: bool = False
    # This server's id in the marker; service.start_sync gives the home's, which outlives its state file
    # (a state rebuilt by a full sync must not make the server a stranger to its own marker). Empty: an id
    # kept in the state (the engine's own tests).
    server_id: str = ""


Connect = Callable[[], tuple[Source, Target]]


def run_sync(connect: Connect, store: StateRepository, configuration: Configuration, options: RunOptions,
             events: Events) -> RunResult:
    """Carry out one run and return its result. Raises RunInProgressError when
    another run holds the lock (unless options.wait); IdentityNotFoundError, IdentityAmbiguousError for chosen
    objects. `connect` gives the source and target; it is called inside the run so
    that a server that cannot be reached ends the run as stopped-server-down, in the history."""
    while True:
        try:
            store.lock(check=not options.objects)  # the whole file's check: not for a few chosen objects
            break
        except RunInProgressError as busy:
            if not options.wait:
                raise
            events.progress("Synchronizing", f"Waiting: {busy.message}", activity_id=1)
            events.sleep(1.0)  # the holder's OS lock gives no wake-up to wait on; a cancel ends the wait
    try:
        return _Run(connect, store, configuration, options, events).perform()
    finally:
        store.unlock()


def resolve(source: Source, store: StateRepository, identities: Iterable[str]) -> list[ImportItem]:
    """Each identity as the one object it names in AD, or a Tombstone: deleted in AD (found among the
    deleted objects, or known to the state by its DN, anchor or UPN and gone from AD). Raises
    IdentityNotFoundError or IdentityAmbiguousError."""
    names = list(identities)
    found = source.find(names)
    chosen: dict[str, ImportItem] = {}
    for identity in names:
        items = found.get(identity) or []
        if not items:
            known = store.find(identity)
            items = source.read([row.anchor for row in known]) if known else []
        if not items:
            raise IdentityNotFoundError(
                f"No user, group or contact of Active Directory is '{identity}', and DirSync has synchronized "
                "no object by that name.",
                fix="Give the object's sAMAccountName, userPrincipalName, distinguishedName or objectGUID "
                    "(Get-ADUser shows them).", target=identity)
        if len(items) > 1:
            raise IdentityAmbiguousError(
                f"'{identity}' names {len(items)} objects: " + "; ".join(i.dn or i.anchor for i in items) + ".",
                fix="Give the distinguishedName or objectGUID of the one to synchronize.", target=identity)
        chosen[items[0].anchor] = items[0]
    return list(chosen.values())


class _Run:
    def __init__(self, connect: Connect, store, configuration, options, events):
        self.connect = connect
        self.source: Source | None = None
        self.target: Target | None = None
        self.store: StateRepository = store
        self.config: Configuration = configuration
        self.options: RunOptions = options
        self.events: Events = events
        self.staging = configuration.sync.staging_mode and not options.preview
        self.counts: Counter = Counter({k: 0 for k in COUNT_KEYS})
        self.errors: list[ObjectError] = []
        self.skipped: list[SkippedObject] = []
        self.done: list[Change] = []  # the first CHANGES_LISTED changes made, for the run result
        self.done_count = 0  # every change made
        self.mode = RunMode.object if options.objects else RunMode.full if options.full else RunMode.delta
        self.progress = (0, 0)  # export steps done, of how many
        self.group_anchor_error: GroupAnchorError | None = None
        self.marker_error: ActiveServerUnknownError | None = None
        self.took_over = ""  # the run's note of the server it took over from
        self.managed_elsewhere = 0  # objects refused as synchronized by another engine: one error, one message
        self.steps: set[int] = set()  # ids of the plan's steps: partial writes, counted with their change
        self.bound: set[int] = set()  # ids of the member changes done by the create of their group
        self.planned: tuple[int, float] | None = None  # the plan's writes and their time at the write quota
        self.start = now()
        self.at = parse(self.start)  # the run's clock: an accountExpires before it has passed
        self.run_id: int | None = None

    def _close(self) -> None:
        close = getattr(self.target, "close", None)
        if close:
            close()

    def perform(self) -> RunResult:
        start = self.start
        # Chosen objects are found before the run begins: an identity that names nothing, or more than one
        # object, is refused with its own error, and no run is recorded.
        try:
            chosen = self._resolve(self.options.objects) if self.options.objects else None
        except BaseException:
            self._close()
            raise
        run_id = None if self.options.preview else self.store.begin_run(self.mode, self.options.trigger,
                                                                        self.staging, start)
        self.run_id = run_id
        plan = None
        status, message = RunStatus.success, ""
        try:
            plan, status, message = self._run(chosen)
        except ServerUnreachableError as err:
            status, message = RunStatus.server_down, str(err)
        except Cancelled:
            status, message = RunStatus.stopped, explain.cancelled(self.done_count, self.progress[1])
        except DirSyncError as err:
            status, message = RunStatus.stopped, str(err)
        except Exception as err:  # the run history must say how the run ended, whatever ended it
            status, message = RunStatus.stopped, explain.unexpected(err)
        finally:
            self._close()
        self.counts["errors"] = len(self.errors)
        self.counts["skipped"] = len(self.skipped)
        if status == RunStatus.success and self.errors:
            status = RunStatus.export_errors
            message = message or (explain.managed_elsewhere_message(self.managed_elsewhere)
                                  if self.managed_elsewhere else explain.export_errors(len(self.errors)))
        if status.synchronized and self.group_anchor_error:
            message = explain.groups_waiting(self.group_anchor_error)
        elif status.synchronized and self.marker_error and not message:
            message = str(self.marker_error)
        if self.took_over:
            message = f"{self.took_over} {message}".strip()
        end = now()  # one end time, in the history and in the result
        if run_id is not None:
            self.store.end_run(run_id, mode=self.mode, status=status, counts=dict(self.counts),
                               errors=self.errors, skipped=self.skipped, message=message, end_time=end)
        result = RunResult(run_id=run_id, status=status, mode=self.mode, trigger=self.options.trigger,
                           start_time=start, end_time=end, counts=dict(self.counts), errors=self.errors,
                           skipped=self.skipped, message=message, preview=self.options.preview,
                           staging=self.staging)
        if self.planned:
            result.planned_writes, result.quota_seconds = self.planned
        if (self.options.preview or self.staging
                or status in (RunStatus.threshold_exceeded, RunStatus.another_server)):
            result.plan = plan.changes if plan else []
        else:
            result.changes, result.changes_omitted = self.done, self.done_count - len(self.done)
        return result

    def _connect(self) -> tuple[Source, Target]:
        if self.source is None or self.target is None:
            self.source, self.target = self.connect()
        return self.source, self.target

    def _resolve(self, identities: tuple[str, ...]) -> list[ImportItem]:
        return resolve(self._connect()[0], self.store, identities)

    def _run(self, chosen: list[ImportItem] | None) -> tuple[Plan, RunStatus, str]:
        sync = self.config.sync
        source, target = self._connect()
        check_containers(source, sync.include_ous, consequence=(
            "The run stopped before reading or writing anything: without it, every object under it would "
            "leave the scope and be deleted from Microsoft 365."))
        scope = Scope.from_settings(sync)
        mapper = Mapper(target.verified_domains(), at=self.at)
        rules = scope.fingerprint() + mapper.fingerprint()
        # A preview does everything inside one transaction that is rolled back: it writes nothing.
        with self.store.rolled_back() if self.options.preview else nullcontext():
            if chosen is not None:
                stager = Stager(self.store, scope, mapper)
                with self.store.atomic():
                    for item in chosen:
                        stager.add(item)
                self._staged(stager)
                return self._decide(mapper, {item.anchor for item in chosen}, commit=None)
            watermark = self.store.watermark(WATERMARK)
            # The staged state was decided under the rules of the last import, which may be a run that stopped
            # before export (a deletion threshold hit after an OU filter change). Any other rules now, and a
            # delta would keep those decisions: read everything again under the rules in force.
            full = (self.options.full or watermark is None or self.store.meta(RULES) != rules
                    or self.store.meta(STAGED_RULES) not in (None, rules))
            imported = self._import(full, watermark, scope, mapper, rules)
            return self._decide(mapper, None, commit=lambda: self._commit_watermark(imported.watermark, rules))

    def _decide(self, mapper: Mapper, only: set[str] | None,
                commit: Callable[[], None] | None) -> tuple[Plan, RunStatus, str]:
        """Plan (all the pending work, or `only` these objects'), guard, export; then `commit` the watermark."""
        self.events.progress("Synchronizing", "Planning the changes", activity_id=1)
        plan = self._plan(self.config.sync.soft_match, mapper.initial, only)
        writes = plan.writes()
        limit, seconds = self._connect()[1].write_quota
        self.planned = (writes, round(writes * seconds / limit, 1))
        self.errors.extend(plan.errors)
        marker = None if self.options.preview or self.staging else self._active_marker()
        this = self._this_server()
        other = marker if marker is not None and marker.server_id != this.server_id else None
        verdict = guard.check(plan, self.config.prevent_accidental_deletes,
                              allow_deletes=self.options.allow_deletes, preview=self.options.preview,
                              staging=self.staging, other_server=None if self.options.take_over else other)
        if verdict.status:
            return plan, verdict.status, verdict.message
        if not verdict.export:
            if self.staging and commit:
                commit()
            self._count_plan(plan)
            return plan, RunStatus.success, verdict.message
        if marker is None or other is not None:  # claimed before the first write: none, or taken over
            self._mark_active(this, replaced=other)
        self._export(plan)
        if commit:
            commit()
        if marker is not None and other is None and self._stale(marker):
            self._mark_active(replace(this, last_run=now()))
        return plan, RunStatus.success, ""

    # --- the active server's marker (guard.py) -------------------------------------------------------

    def _this_server(self) -> ActiveServer:
        server_id = self.options.server_id or self.store.meta(SERVER_ID)
        if server_id is None:
            server_id = str(uuid.uuid4())
            self.store.set_meta(SERVER_ID, server_id)
        return ActiveServer(server_id, platform.node() or "unknown host", self.start)

    def _active_marker(self) -> ActiveServer | None:
        try:
            return self._connect()[1].active_server()
        except ActiveServerUnknownError as err:  # the run goes on; its message says what is not detected
            self.marker_error = err
            self.events.warning(str(err))
            return None

    def _mark_active(self, server: ActiveServer, replaced: ActiveServer | None = None) -> None:
        if self.marker_error is not None:
            return
        try:
            self._connect()[1].mark_active(server)
        except ActiveServerUnknownError as err:
            self.marker_error = err
            self.events.warning(str(err))
            return
        if replaced is not None:
            self.took_over = (f"This server took over from {replaced.host} (server id {replaced.server_id}, last "
                              f"marked active at {replaced.last_run}): its runs now stop, naming this one.")
            self.events.warning(self.took_over)

    def _stale(self, marker: ActiveServer) -> bool:
        """The marker's last run is refreshed once in half a schedule interval: back-to-back runs with nothing
        to do write nothing, and a scheduled run always refreshes it."""
        try:
            age = (parse(now()) - parse(marker.last_run)).total_seconds()
        except ValueError:
            return True
        return age >= self.config.sync.interval_minutes * 30

    def _plan(self, soft_match: bool, initial_domain: str, only: set[str] | None) -> Plan:
        """Fetch what the plan needs of the cloud, then plan (a pure function of the two)."""
        pending = self.store.pending_work(only)
        by_anchor = {}
        unmatchable = None
        for kind, anchors in hard_match_anchors(pending).items():
            try:
                by_anchor.update(self.target.find_by_anchors(kind, anchors, hard_match_properties(pending, kind)))
            except GroupAnchorError as err:  # users still sync; the groups wait, each reported with the fix
                self.group_anchor_error = err
                self.events.warning(explain.groups_waiting(err))
                unmatchable = Unmatchable(err.message, err.fix, err.error_id)
        by_upn = ({upn: self.target.find_user_by_upn(upn) for upn in soft_match_upns(pending, by_anchor)}
                  if soft_match else {})
        return make_plan(pending, CloudMatches(by_anchor, by_upn), soft_match=soft_match,
                         unmatchable_groups=unmatchable, initial_domain=initial_domain)

    # --- import ------------------------------------------------------------------------------------

    def _import(self, full: bool, watermark: str | None, scope: Scope, mapper: Mapper, rules: str):
        events = self.events
        run = self.source.full_import() if full or watermark is None else self.source.delta_import(watermark)
        stager = Stager(self.store, scope, mapper)
        activity = "Importing from Active Directory"
        with self.store.atomic():
            for item in run:
                events.check_cancelled()
                stager.add(item)
                if stager.counts["imported"] % 200 == 0:
                    events.progress(activity, f"{stager.counts['imported']} objects read",
                                    done=stager.counts["imported"], activity_id=1)
            # A delta import may have fallen back to a full one (another DC, an expired cookie).
            self.mode = RunMode.full if run.mode == ImportMode.full else RunMode.delta
            if self.mode == RunMode.full:
                stager.finish_full_import()
            else:
                # Nothing changes in AD when an account's expiry passes, so no delta shows it: read those again.
                expired = [a for a in self.store.expired(self.start) if a not in stager.seen]
                for item in self.source.read(expired) if expired else ():
                    stager.add(item)
            self.store.set_meta(STAGED_RULES, rules)
        self._staged(stager)
        events.verbose(f"Import ({run.mode}): {stager.counts['imported']} objects read, "
                       f"{self.counts['inScope']} in scope, {stager.counts['deletedInSource']} deleted.")
        return run

    def _staged(self, stager: Stager) -> None:
        self.counts.update(stager.counts)
        # One definition with Test-CoexistenceSync: what the state holds in scope and not skipped after
        # this import, whether it read everything or only the changes.
        self.counts["inScope"] = self.store.in_scope()  # a count, not the health report with its errors
        self.skipped.extend(stager.skipped)

    def _commit_watermark(self, watermark: str | None, rules: str) -> None:
        with self.store.atomic():
            self.store.set_watermark(WATERMARK, watermark)
            self.store.set_meta(RULES, rules)

    def _count_plan(self, plan: Plan) -> None:
        for change in plan.changes:
            self.counts[_COUNT[change.action]] += 1

    # --- export ------------------------------------------------------------------------------------

    def _export(self, plan: Plan) -> None:
        store = self.store
        with store.transaction():
            store.forget(plan.forget)
            store.settle(plan.settled)
        adoptions = plan.of(PlanAction.adopt, PlanAction.restore)
        unchanged = [c for c in adoptions if c.action == PlanAction.adopt and not c.properties]
        total = len(plan.changes) + len(plan.steps) - len(unchanged)
        self.progress = (0, total)
        writes, seconds = self.planned or (0, 0.0)
        self.events.progress(EXPORT, f"Exporting {total} changes in {writes} writes, at least "
                             f"{explain.duration(seconds)} at Microsoft 365's write quota", total=total)
        # Deletes first: they free names (UPNs, aliases) that adds and renames may take.
        self._apply(plan.of(PlanAction.delete))
        with store.transaction():
            for change in adoptions:
                store.record_adoption(change.anchor, _required(change.cloud_id, change))
            for change in unchanged:  # the cloud object already is as AD says: nothing to write
                _commit_properties(store, change, CloudResult(CloudOp(CloudAction.update, change.kind,
                                                                      change.anchor), Outcome.updated))
        self.counts["adopted"] += len(unchanged)
        self.counts["adoptedUnchanged"] += len(unchanged)
        self._did(unchanged)
        # Then the steps (disables, UPNs freed for others), each on its own, before the writes that need them.
        self.steps = {id(c) for c in plan.steps}
        self._apply(plan.steps)
        creates = plan.of(PlanAction.add)
        with store.transaction():
            store.record_create_intent(c.anchor for c in creates)
        # Users first, so that a new group is created with its members (up to MEMBERS_PER_WRITE) in one write.
        self._apply([c for c in creates if c.kind != "group"])
        self._apply([c for c in creates if c.kind == "group"], members=plan.of(PlanAction.add_member))
        self._apply([c for c in plan.of(PlanAction.restore, PlanAction.adopt, PlanAction.update)
                     if c.action != PlanAction.adopt or c.properties])
        # References last: both ends exist in the cloud by now.
        self._apply([c for c in plan.of(*LINK_ACTIONS) if id(c) not in self.bound])
        self.events.progress_done(EXPORT)

    def _apply(self, changes: list[Change], members: list[Change] | None = None) -> None:
        """`members`: the plan's added members; those already in the cloud go in their group's create."""
        if not changes:
            return
        members = members or []
        ids = self.store.cloud_ids({c.anchor for c in changes} | {c.ref for c in [*changes, *members] if c.ref})
        bound: dict[str, list[Change]] = {}  # group anchor -> the member changes sent with its create
        for member in members:
            chosen = bound.setdefault(member.anchor, [])
            if member.ref in ids and len(chosen) < MEMBERS_PER_WRITE:
                chosen.append(member)
        ops: dict[int, tuple[CloudOp, Change]] = {}
        for change in changes:
            op = self._op(change, ids, tuple(ids[m.ref] for m in bound.get(change.anchor, ()) if m.ref))
            if op is None:
                # An end of the link did not reach the cloud (its export failed and is reported); the
                # link stays planned for the next run.
                self.events.verbose(explain.not_yet(change))
                continue
            ops[id(op)] = (op, change)
        done, total = self.progress
        # A cancel is seen by the target before it sends more: every result it confirmed is committed.
        for result in self.target.apply([op for op, _ in ops.values()]):
            _, change = ops[id(result.op)]
            self._commit(change, result)
            done += 1
            for member in bound.get(change.anchor, []) if result.ok else []:
                ref_id = ids[_required(member.ref, member)]
                if ref_id in result.members:
                    op = CloudOp(CloudAction.add_member, "group", member.anchor, cloud_id=result.cloud_id,
                                 ref_id=ref_id)
                    self._commit(member, CloudResult(op, Outcome.updated, result.cloud_id))
                    self.bound.add(id(member))
                    done += 1
            self.events.progress(EXPORT, f"{change.action} {change.dn}", done=done,
                                 total=total, activity_id=1)
        self.progress = (done, total)

    def _did(self, changes: list[Change]) -> None:
        self.done += changes[:max(0, CHANGES_LISTED - len(self.done))]
        self.done_count += len(changes)

    def _op(self, change: Change, ids: dict[str, str], members: tuple[str, ...] = ()) -> CloudOp | None:
        action = _CLOUD_OP[change.action]
        kind = "group" if change.action in (PlanAction.add_member, PlanAction.remove_member) else change.kind
        if change.action == PlanAction.add:
            properties = {k: v for k, v in change.properties.items() if v is not None}
            return CloudOp(action, kind, change.anchor, properties=properties, members=members)
        if change.properties:
            # Graph refuses to clear these: the cloud keeps the last value written.
            properties = {k: v for k, v in change.properties.items() if v is not None or k not in NOT_CLEARABLE}
            change = replace(change, properties=properties)
        cloud_id = change.cloud_id if change.action == PlanAction.delete else ids.get(change.anchor)
        ref_id = ids.get(change.ref) if change.ref else None
        if cloud_id is None or (change.ref and ref_id is None):
            return None
        return CloudOp(action, kind, change.anchor, cloud_id=cloud_id, properties=change.properties,
                       ref_id=ref_id)

    # --- commit ------------------------------------------------------------------------------------

    def _commit(self, change: Change, result: CloudResult) -> None:
        """One result, committed on its own: the progress it records survives whatever comes next."""
        ok = result.ok or _harmless(change, result)
        if not ok:
            upn = explain.conflicting_upn(change, result)
            holder = self.target.find_user_by_upn(upn) if upn is not None else None
            synced = self.store.staged(holder.anchor) if holder and holder.anchor else None
            own = self.store.staged(change.anchor) if upn is not None else None
            reason, fix = explain.explain(change, result, holder, holder_dn=synced.dn if synced else None,
                                          source_upn=own.source_upn if own else None)
        store = self.store
        with store.transaction():
            if ok:
                _COMMITS[change.action](store, change, result)
                store.record_outcome(change.anchor, result.outcome, self.run_id)
            else:
                if (change.action in (PlanAction.adopt, PlanAction.restore, PlanAction.update)
                        and result.outcome == Outcome.not_found):
                    store.record_lost_in_cloud(change.anchor)
                if change.action == PlanAction.add and result.outcome == Outcome.conflict:
                    store.record_create_refused(change.anchor)
                store.record_error(change.anchor, reason, fix)
        if ok and id(change) in self.steps:
            return
        if ok:
            self.counts[_COUNT[change.action]] += 1
            self.counts["recoveredCreates"] += result.recovered  # of those added: found, not sent twice
            self._did([change])
            return
        if explain.managed_elsewhere(result):
            # Reported once, by the run's message and the first such object; each keeps its own error in state.
            self.managed_elsewhere += 1
            if self.managed_elsewhere > 1:
                return
        self.errors.append(ObjectError(change.anchor, change.dn, change.kind, reason, fix,
                                       action=change.action, code=result.error_code))


def _harmless(change: Change, result: CloudResult) -> bool:
    """Outcomes that mean the cloud already is as wanted (a rerun repeating a confirmed write)."""
    if result.outcome == Outcome.not_found:
        return change.action in (PlanAction.delete, PlanAction.remove_member, PlanAction.remove_manager)
    if change.action == PlanAction.add_member:
        return result.outcome == Outcome.conflict or "already exist" in (result.message or "")
    return False


def _commit_delete(store: StateRepository, change: Change, result: CloudResult) -> None:
    store.record_delete(change.anchor)


def _commit_properties(store: StateRepository, change: Change, result: CloudResult) -> None:
    row = store.staged(change.anchor)
    desired = row.pending or {}
    exported = dict(row.exported) if change.action != PlanAction.add else {}
    # An adoption wrote what differed; the cloud object had the rest already.
    written = desired if change.action == PlanAction.adopt else change.properties
    exported.update({k: value_hash(v) for k, v in written.items()})
    settled = all(exported.get(k) == value_hash(v) for k, v in desired.items())
    store.record_properties(change.anchor, cloud_id=result.cloud_id if change.action == PlanAction.add else None,
                            exported=exported, digest=value_hash(exported), pending=None if settled else row.pending)


def _commit_member(store: StateRepository, change: Change, result: CloudResult) -> None:
    store.record_member(change.anchor, _required(change.ref, change), added=change.action == PlanAction.add_member)


def _commit_manager(store: StateRepository, change: Change, result: CloudResult) -> None:
    store.record_manager(change.anchor, change.ref)


_COMMITS: dict[PlanAction, Callable[[StateRepository, Change, CloudResult], None]] = {
    PlanAction.add: _commit_properties, PlanAction.adopt: _commit_properties, PlanAction.restore: _commit_properties,
    PlanAction.update: _commit_properties,
    PlanAction.delete: _commit_delete, PlanAction.add_member: _commit_member, PlanAction.remove_member: _commit_member,
    PlanAction.set_manager: _commit_manager, PlanAction.remove_manager: _commit_manager}


def _required(value: str | None, change: Change) -> str:
    """The planner gives every adoption its cloud id and every member change its member."""
    if value is None:
        raise ValueError(f"The plan's {change.action} of {change.dn} lacks the object it acts on")
    return value
