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

import json
import re
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Callable

from ..config import Configuration
from ..errors import DirSyncError, ServerUnreachableError
from ..events import Cancelled, Events
from ..state.store import StateStore, now
from . import guard
from .mapping import Mapper, value_hash
from .planner import (ADD, ADD_MEMBER, ADOPT, DELETE, REMOVE_MANAGER, REMOVE_MEMBER, SET_MANAGER, UPDATE,
                      Change, Plan, Stager, make_plan)
from .ports import CloudOp, CloudResult, Source, Target
from .scope import Scope

WATERMARK = "active-directory"
RULES = "sync-rules"  # the rules of the last committed run
STAGED_RULES = "staged-sync-rules"  # the rules the staged import was decided under

SUCCESS = "success"
EXPORT_ERRORS = "completed-export-errors"
SERVER_DOWN = "stopped-server-down"
STOPPED = "stopped-error"

_CLOUD_OP = {ADD: "create", ADOPT: "update", UPDATE: "update", DELETE: "delete", ADD_MEMBER: "add_member",
             REMOVE_MEMBER: "remove_member", SET_MANAGER: "set_manager", REMOVE_MANAGER: "remove_manager"}
_COUNT = {ADD: "added", ADOPT: "adopted", UPDATE: "updated", DELETE: "deleted",
          ADD_MEMBER: "membershipChanges", REMOVE_MEMBER: "membershipChanges",
          SET_MANAGER: "managerChanges", REMOVE_MANAGER: "managerChanges"}
COUNT_KEYS = ("imported", "inScope", "deletedInSource", "added", "adopted", "updated", "deleted",
              "membershipChanges", "managerChanges", "skipped", "errors")


@dataclass
class RunOptions:
    full: bool = False
    preview: bool = False
    allow_deletes: bool = False
    trigger: str = "manual"


Connect = Callable[[], tuple[Source, Target]]


def run_sync(connect: Connect, store: StateStore, configuration: Configuration, options: RunOptions,
             events: Events) -> dict:
    """Carry out one run and return its result (a JSON-able dict). Raises RunInProgressError when
    another run holds the lock. `connect` gives the source and target; it is called inside the run so
    that a server that cannot be reached ends the run as stopped-server-down, in the history."""
    store.lock()
    try:
        return _Run(connect, store, configuration, options, events).execute()
    finally:
        store.unlock()


class _Run:
    def __init__(self, connect: Connect, store, configuration, options, events):
        self.connect = connect
        self.source: Source | None = None
        self.target: Target | None = None
        self.store: StateStore = store
        self.config: Configuration = configuration
        self.options: RunOptions = options
        self.events: Events = events
        self.staging = configuration.sync.staging_mode and not options.preview
        self.counts: Counter = Counter({k: 0 for k in COUNT_KEYS})
        self.errors: list[dict] = []
        self.skipped: list[dict] = []
        self.done: list[dict] = []
        self.mode = "full" if options.full else "delta"
        self.progress = (0, 0)  # export steps done, of how many

    def execute(self) -> dict:
        start = now()
        run_id = None if self.options.preview else self.store.begin_run(self.mode, self.options.trigger)
        plan = None
        status, message = SUCCESS, ""
        try:
            plan, status, message = self._run()
        except ServerUnreachableError as err:
            status, message = SERVER_DOWN, str(err)
        except Cancelled:
            status, message = STOPPED, ("Stopped by the administrator. The changes confirmed so far are "
                                        "kept; the next run carries on with the rest.")
        except DirSyncError as err:
            status, message = STOPPED, str(err)
        except Exception as err:  # the run history must say how the run ended, whatever ended it
            status, message = STOPPED, f"The run stopped on an unexpected error: {type(err).__name__}: {err}"
        finally:
            close = getattr(self.target, "close", None)
            if close:
                close()
        self.counts["errors"] = len(self.errors)
        self.counts["skipped"] = len(self.skipped)
        if status == SUCCESS and self.errors:
            status = EXPORT_ERRORS
            message = message or (f"{len(self.errors)} object(s) could not be exported; each error says why "
                                  "and how to fix it. DirSync retries them at every run.")
        if run_id is not None:
            self.store.end_run(run_id, mode=self.mode, status=status, counts=dict(self.counts),
                               errors=self.errors, skipped=self.skipped, message=message)
        result = {
            "runId": run_id, "status": status, "mode": self.mode, "preview": self.options.preview,
            "staging": self.staging, "trigger": self.options.trigger, "startTime": start, "endTime": now(),
            "counts": dict(self.counts), "errors": self.errors, "skipped": self.skipped, "message": message,
        }
        if self.options.preview or self.staging or status == guard.THRESHOLD_EXCEEDED:
            result["plan"] = plan.to_list() if plan else []
        else:
            result["changes"] = self.done
        return result

    def _run(self) -> tuple[Plan, str, str]:
        sync = self.config.sync
        self.source, self.target = self.connect()
        scope = Scope.from_settings(sync)
        mapper = Mapper(self.target.verified_domains())
        rules = scope.fingerprint() + mapper.fingerprint()
        watermark = self.store.watermark(WATERMARK)
        # The staged state was decided under the rules of the last import, which may be a run that stopped
        # before export (a deletion threshold hit after an OU filter change). Any other rules now, and a
        # delta would keep those decisions: read everything again under the rules in force.
        full = (self.options.full or watermark is None or self.store.meta(RULES) != rules
                or self.store.meta(STAGED_RULES) not in (None, rules))
        # A preview does everything inside one transaction that is rolled back: it writes nothing.
        with self.store.rolled_back() if self.options.preview else nullcontext():
            imported = self._import(full, watermark, scope, mapper, rules)
            self.events.progress("Synchronizing", "Planning the changes", activity_id=1)
            plan = make_plan(self.store, self.target, soft_match=sync.soft_match)
            self.errors.extend(plan.errors)
            verdict = guard.check(plan, self.config.prevent_accidental_deletes,
                                  allow_deletes=self.options.allow_deletes, preview=self.options.preview,
                                  staging=self.staging)
            if verdict.status:
                return plan, verdict.status, verdict.message
            if not verdict.export:
                if self.staging:
                    self._commit_watermark(imported.watermark, rules)
                self._count_plan(plan)
                return plan, SUCCESS, verdict.message
            self._export(plan)
            self._commit_watermark(imported.watermark, rules)
        return plan, SUCCESS, ""

    # --- import ------------------------------------------------------------------------------------

    def _import(self, full: bool, watermark: str | None, scope: Scope, mapper: Mapper, rules: str):
        events = self.events
        run = self.source.full_import() if full else self.source.delta_import(watermark)
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
            self.mode = "full" if run.mode == "full" else "delta"
            if self.mode == "full":
                stager.finish_full_import()
            self.store.set_meta(STAGED_RULES, rules)
        events.verbose(f"Import ({run.mode}): {stager.counts['imported']} objects read, "
                       f"{stager.counts['inScope']} in scope, {stager.counts['deletedInSource']} deleted.")
        self.counts.update(stager.counts)
        self.skipped.extend(stager.skipped)
        return run

    def _commit_watermark(self, watermark: str | None, rules: str) -> None:
        with self.store.atomic():
            self.store.set_watermark(WATERMARK, watermark)
            self.store.set_meta(RULES, rules)

    def _count_plan(self, plan: Plan) -> None:
        for change in plan.changes:
            self.counts[_COUNT[change.action]] += 1

    # --- export ------------------------------------------------------------------------------------

    def _export(self, plan: Plan) -> None:
        db = self.store.db
        with self.store.transaction():
            for anchor in plan.forget:
                db.execute("DELETE FROM objects WHERE anchor=? AND tombstoned=1", (anchor,))
                db.execute("UPDATE objects SET pending_delete=0, create_intent=NULL WHERE anchor=?", (anchor,))
            db.executemany("UPDATE objects SET pending=NULL WHERE anchor=?", [(a,) for a in plan.settled])
        self.progress = (0, len(plan.changes))
        # Deletes first: they free names (UPNs, aliases) that adds and renames may take.
        self._apply(plan.of(DELETE))
        creates = plan.of(ADD)
        with self.store.transaction():
            db.executemany("UPDATE objects SET create_intent=? WHERE anchor=?",
                           [(now(), c.anchor) for c in creates])
        self._apply(creates)
        with self.store.transaction():
            for change in plan.of(ADOPT):
                db.execute("UPDATE objects SET cloud_id=?, exported='{}', last_result='adopted', create_intent=NULL "
                           "WHERE anchor=?", (change.cloud_id, change.anchor))
        self._apply(plan.of(ADOPT, UPDATE))
        # References last: both ends exist in the cloud by now.
        self._apply(plan.of(ADD_MEMBER, REMOVE_MEMBER, SET_MANAGER, REMOVE_MANAGER))
        self.events.progress_done("Exporting to Microsoft 365")

    def _apply(self, changes: list[Change]) -> None:
        if not changes:
            return
        ids = self._cloud_ids({c.anchor for c in changes} | {c.ref for c in changes if c.ref})
        ops: dict[int, tuple[CloudOp, Change]] = {}
        for change in changes:
            op = self._op(change, ids)
            if op is None:
                # An end of the link did not reach the cloud (its export failed and is reported); the
                # link stays planned for the next run.
                self.events.verbose(f"Not yet: {change.action} {change.dn} → {change.ref_dn}.")
                continue
            ops[id(op)] = (op, change)
        done, total = self.progress
        for result in self.target.apply([op for op, _ in ops.values()]):
            self.events.check_cancelled()
            _, change = ops[id(result.op)]
            self._commit(change, result)
            done += 1
            self.events.progress("Exporting to Microsoft 365", f"{change.action} {change.dn}", done=done,
                                 total=total, activity_id=1)
        self.progress = (done, total)

    def _cloud_ids(self, anchors: set[str]) -> dict[str, str]:
        # In chunks under SQLite's limit of 999 parameters: one query per anchor was 100,000 at 100k objects.
        ids, wanted = {}, list(anchors)
        for start in range(0, len(wanted), 900):
            chunk = wanted[start:start + 900]
            ids.update(self.store.db.execute(
                f"SELECT anchor, cloud_id FROM objects WHERE cloud_id IS NOT NULL AND anchor IN "
                f"({','.join('?' * len(chunk))})", chunk).fetchall())
        return ids

    def _op(self, change: Change, ids: dict[str, str]) -> CloudOp | None:
        action = _CLOUD_OP[change.action]
        kind = "group" if change.action in (ADD_MEMBER, REMOVE_MEMBER) else change.kind
        if change.action == ADD:
            properties = {k: v for k, v in change.properties.items() if v is not None}
            return CloudOp(action, kind, change.anchor, properties=properties)
        cloud_id = change.cloud_id if change.action == DELETE else ids.get(change.anchor)
        ref_id = ids.get(change.ref) if change.ref else None
        if cloud_id is None or (change.ref and ref_id is None):
            return None
        return CloudOp(action, kind, change.anchor, cloud_id=cloud_id, properties=change.properties,
                       ref_id=ref_id)

    # --- commit ------------------------------------------------------------------------------------

    def _commit(self, change: Change, result: CloudResult) -> None:
        ok = result.ok or _harmless(change, result)
        with self.store.transaction() as db:
            if ok:
                _COMMITS[change.action](db, change, result)
                db.execute("UPDATE objects SET last_result=?, last_error=NULL, last_fix=NULL, updated_at=? "
                           "WHERE anchor=?", (result.outcome, now(), change.anchor))
            else:
                if change.action in (ADOPT, UPDATE) and result.outcome == "not_found":
                    _lost_in_cloud(db, change)
                if change.action == ADD and result.outcome == "conflict":
                    db.execute("UPDATE objects SET create_intent=NULL WHERE anchor=?", (change.anchor,))
                reason, fix = self._explain(change, result)
                db.execute("UPDATE objects SET last_result='error', last_error=?, last_fix=?, updated_at=? "
                           "WHERE anchor=?", (reason, fix, now(), change.anchor))
        if ok:
            self.counts[_COUNT[change.action]] += 1
            self.done.append(change.to_dict())
        else:
            self.errors.append({"anchor": change.anchor, "dn": change.dn, "kind": change.kind,
                                "action": change.action, "code": result.error_code, "reason": reason,
                                "fix": fix})

    def _explain(self, change: Change, result: CloudResult) -> tuple[str, str]:
        retry = "DirSync retries at every run."
        if result.outcome == "conflict":
            prop = (re.search(r"property (\w+)", result.message or "") or [None, ""])[1]
            props = change.properties or {}
            if prop == "userPrincipalName" and change.kind == "user":
                upn = props.get("userPrincipalName", "")
                holder = self.target.find_user_by_upn(upn)
                who = (f"a cloud user (id {holder.cloud_id}) that DirSync does not manage"
                       if holder and not holder.anchor else "another object in Microsoft 365")
                return (f"UPN conflict: the userPrincipalName '{upn}' is already used by {who}.",
                        "Rename or delete that cloud user, or give this user another UPN in Active Directory; "
                        "to let DirSync take over a cloud-only user with the same UPN, turn on soft matching "
                        f"(Set-CoexistenceConfiguration -SoftMatch $true). {retry}")
            if prop:
                value = props.get(prop, "")
                return (f"Conflict: another object in Microsoft 365 already has {prop} '{value}'.",
                        f"Change {prop} of this object in Active Directory, or rename the other object. {retry}")
            return (f"Conflict: {result.message}", f"Resolve the duplicate value. {retry}")
        if result.outcome == "not_found":
            return ("Its cloud object was deleted outside DirSync.",
                    "The next run creates it again; to keep its cloud data, restore it from deleted items "
                    "in Microsoft 365 first.")
        if result.outcome == "throttled":
            return ("Microsoft 365 kept throttling the requests (HTTP 429) until the retries ran out.",
                    f"Nothing to do unless it persists. {retry}")
        return (f"Microsoft 365 refused the change: {result.message or result.error_code}",
                f"Correct the value in Active Directory if the message names one. {retry}")


def _harmless(change: Change, result: CloudResult) -> bool:
    """Outcomes that mean the cloud already is as wanted (a rerun repeating a confirmed write)."""
    if result.outcome == "not_found":
        return change.action in (DELETE, REMOVE_MEMBER, REMOVE_MANAGER)
    if change.action == ADD_MEMBER:
        return result.outcome == "conflict" or "already exist" in (result.message or "")
    return False


def _links_gone(db, anchor: str) -> None:
    """The cloud object is gone and its links with it; those still wanted are planned again."""
    for column in ("src", "dst"):
        db.execute(f"DELETE FROM links WHERE {column}=? AND wanted=0", (anchor,))
        db.execute(f"UPDATE links SET exported=0 WHERE {column}=?", (anchor,))


def _lost_in_cloud(db, change: Change) -> None:
    db.execute("UPDATE objects SET cloud_id=NULL, exported='{}', hash=NULL WHERE anchor=?", (change.anchor,))
    _links_gone(db, change.anchor)


def _commit_delete(db, change: Change, result: CloudResult) -> None:
    _links_gone(db, change.anchor)
    db.execute("DELETE FROM links WHERE src=? AND (SELECT tombstoned FROM objects WHERE anchor=?)=1",
               (change.anchor, change.anchor))
    db.execute("DELETE FROM objects WHERE anchor=? AND tombstoned=1", (change.anchor,))
    db.execute("UPDATE objects SET cloud_id=NULL, exported='{}', hash=NULL, pending=NULL, pending_delete=0, "
               "create_intent=NULL WHERE anchor=?", (change.anchor,))


def _commit_properties(db, change: Change, result: CloudResult) -> None:
    row = db.execute("SELECT exported, pending FROM objects WHERE anchor=?", (change.anchor,)).fetchone()
    exported = json.loads(row["exported"]) if change.action != ADD else {}
    exported.update({k: value_hash(v) for k, v in change.properties.items()})
    desired = json.loads(row["pending"]) if row["pending"] else {}
    settled = all(exported.get(k) == value_hash(v) for k, v in desired.items())
    cloud_id = result.cloud_id if change.action == ADD else None
    db.execute("UPDATE objects SET cloud_id=COALESCE(?, cloud_id), exported=?, hash=?, pending=?, "
               "create_intent=NULL WHERE anchor=?",
               (cloud_id, json.dumps(exported, sort_keys=True), value_hash(exported),
                None if settled else row["pending"], change.anchor))


def _commit_member(db, change: Change, result: CloudResult) -> None:
    if change.action == ADD_MEMBER:
        db.execute("UPDATE links SET exported=1 WHERE src=? AND rel='member' AND dst=?", (change.anchor, change.ref))
    else:
        db.execute("DELETE FROM links WHERE src=? AND rel='member' AND dst=?", (change.anchor, change.ref))


def _commit_manager(db, change: Change, result: CloudResult) -> None:
    # A user has one manager: setting one replaces the last; removing drops them all.
    db.execute("DELETE FROM links WHERE src=? AND rel='manager' AND wanted=0", (change.anchor,))
    db.execute("UPDATE links SET exported=(dst IS ?) WHERE src=? AND rel='manager'", (change.ref, change.anchor))


_COMMITS = {ADD: _commit_properties, ADOPT: _commit_properties, UPDATE: _commit_properties,
            DELETE: _commit_delete, ADD_MEMBER: _commit_member, REMOVE_MEMBER: _commit_member,
            SET_MANAGER: _commit_manager, REMOVE_MANAGER: _commit_manager}
