"""Explaining one object (Get-CoexistenceObject, `dirsync object show`): what Active Directory has, whether
it is in scope and which rule decided, what DirSync maps it to, what the cloud has and what would change,
what the state remembers (the last write, its run, the last error and its fix), and its memberships as AD
and as the cloud have them. It reads AD, the cloud and the state, and writes nothing.

The cloud's side of a user's memberships is read from the groups DirSync knows of (those AD or the cloud
were last told of): listing every group of a user (GET /users/{id}/memberOf) needs Directory.Read.All, which
DirSync's app does not hold (https://learn.microsoft.com/graph/api/user-list-memberof).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from ..config import Configuration
from .mapping import Mapper
from .planner import comparable
from .ports import CloudObject, SourceObject, StagedObject, StateRepository, Source, Target, Tombstone
from .scope import Scope


@dataclass
class Membership:
    """One group of a user, or one member of a group: the other end, and where the link is."""

    dn: str
    anchor: str | None = None
    in_active_directory: bool = False
    in_cloud: bool = False

    def to_dict(self) -> dict:
        return {"dn": self.dn, "anchor": self.anchor, "inActiveDirectory": self.in_active_directory,
                "inCloud": self.in_cloud}


@dataclass
class ObjectReport:
    """One object, as Get-CoexistenceObject shows it. `to_dict` is its JSON form."""

    identity: str
    anchor: str
    kind: str
    dn: str
    in_active_directory: bool         # False: deleted in AD (or gone)
    in_scope: bool
    scope_rule: str                   # the rule that put it in scope, or kept it out
    skip_reason: str | None = None    # in scope, but DirSync does not write its kind (a contact...)
    values: dict | None = None        # what DirSync maps to the cloud
    mapping_error: str | None = None  # why it cannot be written as it is, and the fix
    mapping_fix: str | None = None
    expires: str | None = None        # a user's accountExpires, when set
    cloud_id: str | None = None
    cloud_state: str = "absent"       # active, deleted (in deleted items), absent
    would_change: dict = field(default_factory=dict)  # property -> value the next write sets
    would_delete: bool = False
    last_written: str | None = None
    last_run: int | None = None
    last_result: str | None = None
    last_error: str | None = None
    last_fix: str | None = None
    memberships: list[Membership] = field(default_factory=list)
    manager: str | None = None        # the manager's DN, as AD has it

    def to_dict(self) -> dict:
        names = {"in_active_directory": "inActiveDirectory", "in_scope": "inScope", "scope_rule": "scopeRule",
                 "skip_reason": "skipReason", "mapping_error": "mappingError", "mapping_fix": "mappingFix",
                 "cloud_id": "cloudId", "cloud_state": "cloudState", "would_change": "wouldChange",
                 "would_delete": "wouldDelete", "last_written": "lastWritten", "last_run": "lastRun",
                 "last_result": "lastResult", "last_error": "lastError", "last_fix": "lastFix"}
        out = {names.get(k, k): v for k, v in asdict(self).items() if k != "memberships"}
        out["memberships"] = [m.to_dict() for m in self.memberships]
        return out


def describe(item: SourceObject | Tombstone, identity: str, source: Source, target: Target,
             store: StateRepository, configuration: Configuration, at: datetime) -> ObjectReport:
    row = store.staged(item.anchor)
    kind = item.kind if isinstance(item, SourceObject) else (row.kind if row else "user")
    report = ObjectReport(identity=identity, anchor=item.anchor, kind=kind, dn=item.dn or (row.dn if row else ""),
                          in_active_directory=isinstance(item, SourceObject), in_scope=False,
                          scope_rule="deleted in Active Directory")
    mapper = Mapper(target.verified_domains(), at=at)
    projection = None
    if isinstance(item, SourceObject):
        scope = Scope.from_settings(configuration.sync)
        out = scope.why_out(item)
        report.in_scope, report.scope_rule = out is None, out or scope.why_in(item)
        projection = mapper.project(item)
        report.skip_reason = projection.skip_reason
        report.values = projection.properties or None
        if projection.error:
            report.mapping_error, report.mapping_fix = projection.error
        report.expires = projection.expires.isoformat() if projection.expires else None
    cloud = _cloud(target, kind, item.anchor, list(projection.properties) if projection else [])
    if cloud:
        report.cloud_id, report.cloud_state = cloud.cloud_id, "deleted" if cloud.deleted else "active"
    if projection and report.in_scope and not projection.skip_reason and not projection.error:
        current = (cloud.properties or {}) if cloud and not cloud.deleted else {}
        report.would_change = {k: v for k, v in projection.properties.items()
                               if comparable(v) != comparable(current.get(k)) and (v is not None or k in current)}
    report.would_delete = bool(cloud and not cloud.deleted and not report.in_scope)
    if row:
        report.last_written, report.last_run = row.written_at, row.written_run
        report.last_result, report.last_error, report.last_fix = row.last_result, row.last_error, row.last_fix
    report.memberships, report.manager = _links(store, target, item, kind, row, cloud)
    return report


def _cloud(target: Target, kind: str, anchor: str, properties: list[str]) -> CloudObject | None:
    if kind not in ("user", "group"):
        return None
    return target.find_by_anchors("user" if kind == "user" else "group", [anchor], properties).get(anchor)


def _links(store: StateRepository, target: Target, item, kind: str, row: StagedObject | None,
           cloud: CloudObject | None) -> tuple[list[Membership], str | None]:
    links = store.links_of(item.anchor)
    manager = next((link.dst_dn for link in links if link.src == item.anchor and link.rel == "manager"
                    and link.wanted), None)
    if kind == "group":
        ad = set(item.members or ()) if isinstance(item, SourceObject) else set()
        known = {link.dst: link.dst_dn for link in links if link.src == item.anchor and link.rel == "member"}
        in_cloud: set[str] = set()
        others: list[Membership] = []
        if cloud and not cloud.deleted:
            members = store.by_cloud_id(target.members(cloud.cloud_id))
            in_cloud = {obj.anchor for obj in members.values()}
            known.update({obj.anchor: obj.dn for obj in members.values()})
        result = [Membership(dn, anchor, anchor in ad, anchor in in_cloud) for anchor, dn in known.items()]
        for anchor in ad - set(known):
            others.append(Membership(f"(not synchronized: {anchor})", anchor, True, False))
        return sorted(result + others, key=lambda m: m.dn.lower()), manager
    groups = {link.src: link for link in links if link.dst == item.anchor and link.rel == "member"}
    user_id = cloud.cloud_id if cloud and not cloud.deleted else None
    out = []
    for anchor, link in groups.items():
        group = store.staged(anchor)
        member = bool(user_id and group and group.cloud_id and user_id in target.members(group.cloud_id))
        out.append(Membership(link.src_dn, anchor, link.wanted, member))
    return sorted(out, key=lambda m: m.dn.lower()), manager
