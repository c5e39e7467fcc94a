"""Deciding what to write: the import is staged into the state store, then the plan is read from it.

Staging records, per imported object, whether it is in scope, the properties it should have in the cloud
when they differ from what was last written (`pending`), whether its cloud object must go
(`pending_delete`), and its links (members, manager) by anchor as Active Directory has them, so that
a link to an object that enters the scope later is written then. The plan is then the
difference between that and what the cloud was last told, so work left over by a run that failed or
died is planned again by the next one.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field

from ..state.store import StateStore, now
from .mapping import Mapper, value_hash
from .ports import ImportItem, SourceObject, Target, Tombstone
from .scope import Scope

# Plan actions, in the words an administrator reads in a preview.
ADD, ADOPT, UPDATE, DELETE = "add", "adopt", "update", "delete"
ADD_MEMBER, REMOVE_MEMBER, SET_MANAGER, REMOVE_MANAGER = "addMember", "removeMember", "setManager", "removeManager"
LINK_ACTIONS = (ADD_MEMBER, REMOVE_MEMBER, SET_MANAGER, REMOVE_MANAGER)


@dataclass
class Change:
    action: str
    kind: str
    anchor: str
    dn: str
    properties: dict | None = None
    ref: str | None = None       # the member's or manager's anchor
    ref_dn: str | None = None
    cloud_id: str | None = None  # the cloud object a delete or an adoption acts on

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None and k != "cloud_id"}


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)  # objects that cannot be written as they are
    forget: list[str] = field(default_factory=list)   # gone from AD and never reached the cloud
    settled: list[str] = field(default_factory=list)  # pending, but the cloud already has it all

    def of(self, *actions: str) -> list[Change]:
        return [c for c in self.changes if c.action in actions]

    @property
    def deletes(self) -> int:
        return len(self.of(DELETE))

    def to_list(self) -> list[dict]:
        return [c.to_dict() for c in self.changes]


class Stager:
    """Writes one import into the state store (inside the caller's transaction)."""

    def __init__(self, store: StateStore, scope: Scope, mapper: Mapper):
        self.db = store.db
        self.scope = scope
        self.mapper = mapper
        self.counts: Counter = Counter()
        self.skipped: list[dict] = []
        self.seen: set[str] = set()

    def add(self, item: ImportItem) -> None:
        if isinstance(item, Tombstone):
            self.counts["deletedInSource"] += 1
            self._gone(item.anchor)
            return
        self.seen.add(item.anchor)
        self.counts["imported"] += 1
        row = self._row(item.anchor)
        if self.scope.why_out(item):
            self._out_of_scope(item, row)
            return
        self.counts["inScope"] += 1
        projection = self.mapper.project(item)
        if projection.skip_reason:
            self.skipped.append({"anchor": item.anchor, "dn": item.dn, "kind": item.kind,
                                 "reason": projection.skip_reason})
            self._upsert(item, in_scope=1, skip_reason=projection.skip_reason, pending=None,
                         pending_delete=0, last_result="skipped", last_error=None, last_fix=None)
            return
        if projection.error:
            reason, fix = projection.error
            self._upsert(item, in_scope=1, skip_reason=None, pending=None, pending_delete=0,
                         last_result="invalid", last_error=reason, last_fix=fix)
            return
        exported = json.loads(row["exported"]) if row else {}
        has_cloud = bool(row and row["cloud_id"])
        changed = any(value_hash(v) != exported.get(k) for k, v in projection.properties.items())
        pending = json.dumps(projection.properties) if changed or not has_cloud else None
        last = row["last_result"] if row and row["last_result"] not in ("invalid", "skipped") else None
        self._upsert(item, in_scope=1, skip_reason=None, pending=pending, pending_delete=0, last_result=last,
                     last_error=row["last_error"] if last else None, last_fix=row["last_fix"] if last else None)
        if item.kind == "group":
            self._set_links(item.anchor, "member", set(projection.members))
        else:
            self._set_links(item.anchor, "manager", {projection.manager} if projection.manager else set())

    def finish_full_import(self) -> None:
        """After a full import: what was not seen is gone from Active Directory (or from its scope)."""
        anchors = [r[0] for r in self.db.execute("SELECT anchor FROM objects WHERE tombstoned=0")]
        for anchor in anchors:
            if anchor not in self.seen:
                self.counts["deletedInSource"] += 1
                self._gone(anchor)

    # --- helpers -----------------------------------------------------------------------------------

    def _row(self, anchor: str):
        return self.db.execute("SELECT * FROM objects WHERE anchor=?", (anchor,)).fetchone()

    def _upsert(self, obj: SourceObject, **values) -> None:
        values = {"kind": obj.kind, "dn": obj.dn, "tombstoned": 0,
                  "updated_at": now(), **values}
        names = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        updates = ", ".join(f"{n}=excluded.{n}" for n in values)
        self.db.execute(f"INSERT INTO objects(anchor, {names}) VALUES (?, {marks}) "
                        f"ON CONFLICT(anchor) DO UPDATE SET {updates}", (obj.anchor, *values.values()))

    def _out_of_scope(self, obj: SourceObject, row) -> None:
        in_cloud = bool(row and (row["cloud_id"] or row["create_intent"]))
        self._upsert(obj, in_scope=0, skip_reason=None, pending=None, pending_delete=int(in_cloud))
        self._drop_own_links(obj.anchor)

    def _gone(self, anchor: str) -> None:
        row = self._row(anchor)
        if row is None:
            return
        self._drop_own_links(anchor)
        if row["cloud_id"] or row["create_intent"]:
            self.db.execute("UPDATE objects SET pending_delete=1, tombstoned=1, in_scope=0, pending=NULL, "
                            "updated_at=? WHERE anchor=?", (now(), anchor))
        else:
            self.db.execute("DELETE FROM objects WHERE anchor=?", (anchor,))

    def _drop_own_links(self, anchor: str) -> None:
        for rel in ("member", "manager"):
            self._set_links(anchor, rel, set())

    def _set_links(self, src: str, rel: str, wanted: set[str]) -> None:
        """Links not wanted any more stay (wanted=0) until the cloud has dropped them too."""
        current = {dst: (w, e) for dst, w, e in self.db.execute(
            "SELECT dst, wanted, exported FROM links WHERE src=? AND rel=?", (src, rel))}
        for dst in wanted:
            if current.get(dst, (0, 0))[0] != 1:
                self.db.execute("INSERT INTO links(src, rel, dst, wanted, exported) VALUES (?,?,?,1,0) "
                                "ON CONFLICT(src, rel, dst) DO UPDATE SET wanted=1", (src, rel, dst))
        for dst, (w, e) in current.items():
            if dst in wanted:
                continue
            if e:
                if w:
                    self.db.execute("UPDATE links SET wanted=0 WHERE src=? AND rel=? AND dst=?", (src, rel, dst))
            else:
                self.db.execute("DELETE FROM links WHERE src=? AND rel=? AND dst=?", (src, rel, dst))


def make_plan(store: StateStore, target: Target, *, soft_match: bool) -> Plan:
    db = store.db
    plan = Plan()
    work = db.execute("SELECT * FROM objects WHERE pending IS NOT NULL AND in_scope=1 AND skip_reason IS NULL "
                      "AND pending_delete=0").fetchall()
    doomed = db.execute("SELECT * FROM objects WHERE pending_delete=1").fetchall()

    # Hard match: any object without a known cloud object may have one already, because an earlier run
    # died between the create and its commit, or the state store was lost. Adopt it instead of
    # creating a second one.
    unknown = [r for r in [*work, *doomed] if not r["cloud_id"]]
    matched = {}
    for kind in ("user", "group"):
        anchors = [r["anchor"] for r in unknown if r["kind"] == kind]
        if anchors:
            matched.update(target.find_by_anchors(kind, anchors))

    for row in doomed:
        cloud_id = row["cloud_id"] or (matched[row["anchor"]].cloud_id if row["anchor"] in matched else None)
        if cloud_id:
            plan.changes.append(Change(DELETE, row["kind"], row["anchor"], row["dn"], cloud_id=cloud_id))
        else:
            plan.forget.append(row["anchor"])

    for row in work:
        desired = json.loads(row["pending"])
        anchor = row["anchor"]
        if row["cloud_id"]:
            exported = json.loads(row["exported"])
            diff = {k: v for k, v in desired.items() if value_hash(v) != exported.get(k)}
            if diff:
                plan.changes.append(Change(UPDATE, row["kind"], anchor, row["dn"], diff, cloud_id=row["cloud_id"]))
            else:
                plan.settled.append(anchor)
            continue
        found = matched.get(anchor)
        if found is None and soft_match and row["kind"] == "user":
            candidate = target.find_user_by_upn(desired["userPrincipalName"])
            # Soft match adopts only a cloud-only user: one that no directory anchors yet.
            found = candidate if candidate and not candidate.anchor else None
        if found:
            plan.changes.append(Change(ADOPT, row["kind"], anchor, row["dn"], desired, cloud_id=found.cloud_id))
        else:
            plan.changes.append(Change(ADD, row["kind"], anchor, row["dn"], desired))

    _plan_links(db, plan)
    plan.errors = [{"anchor": r["anchor"], "dn": r["dn"], "kind": r["kind"], "action": "check",
                    "reason": r["last_error"], "fix": r["last_fix"]}
                   for r in db.execute("SELECT * FROM objects WHERE last_result='invalid' AND in_scope=1")]
    return plan


def _plan_links(db, plan: Plan) -> None:
    deleted = {c.anchor for c in plan.of(DELETE)}
    live = {r[0] for r in db.execute("SELECT anchor FROM objects WHERE cloud_id IS NOT NULL AND pending_delete=0")}
    live |= {c.anchor for c in plan.of(ADD, ADOPT)}
    live -= deleted
    rows = db.execute(
        "SELECT l.src, l.rel, l.dst, l.wanted, l.exported, s.kind, s.dn, d.dn FROM links l "
        "JOIN objects s ON s.anchor=l.src JOIN objects d ON d.anchor=l.dst "
        "WHERE l.wanted<>l.exported OR l.rel='manager' ORDER BY l.src, l.rel, l.dst").fetchall()
    managers: dict[str, list] = {}
    for src, rel, dst, wanted, exported, kind, dn, ref_dn in rows:
        if src not in live:
            continue
        if rel == "manager":
            managers.setdefault(src, []).append((dst, wanted, exported, dn, ref_dn))
        elif dst in live:
            action = ADD_MEMBER if wanted else REMOVE_MEMBER
            plan.changes.append(Change(action, kind, src, dn, ref=dst, ref_dn=ref_dn))
    for src, links in managers.items():
        wanted = [link for link in links if link[1] and link[0] in live]
        if wanted and not wanted[0][2]:
            dst, _, _, dn, ref_dn = wanted[0]
            plan.changes.append(Change(SET_MANAGER, "user", src, dn, ref=dst, ref_dn=ref_dn))
        elif not wanted and any(exported for _, _, exported, _, _ in links):
            dn = links[0][3]
            plan.changes.append(Change(REMOVE_MANAGER, "user", src, dn))
