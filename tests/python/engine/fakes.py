"""Small in-memory implementations of the engine's ports, for unit tests of the engine and the state.

FakeDirectory keeps a change log, so a delta import returns what changed since a watermark (the latest
version of each changed object, or a tombstone), as the DirSync control does. FakeTenant keeps users,
groups, members and managers and refuses what Graph refuses (a duplicate UPN, an unknown id).
"""

from __future__ import annotations

import base64
import itertools
import uuid
from dataclasses import dataclass, field, replace

from dirsync.cloud.graph import DOCUMENTED_WRITE_QUOTA
from dirsync.config import Configuration, PreventAccidentalDeletesSettings, SyncSettings
from dirsync.engine.ports import ActiveServer, CloudObject, CloudOp, CloudResult, SourceObject, Tombstone
from dirsync.errors import ServerUnreachableError
from dirsync.vocabulary import CloudAction, Outcome

BASE = "DC=contoso,DC=com"
STAFF = f"OU=Staff,{BASE}"


def new_anchor() -> str:
    return base64.b64encode(uuid.uuid4().bytes).decode()


def user(sam: str, ou: str = STAFF, **attrs) -> SourceObject:
    values = {"samaccountname": [sam], "cn": [sam], "displayname": [sam.title()],
              "userprincipalname": [f"{sam}@contoso.com"], "useraccountcontrol": ["512"],
              **{k.lower(): v if isinstance(v, list) else [v] for k, v in attrs.items()}}
    return SourceObject(new_anchor(), "user", f"CN={sam},{ou}", values)


def group(name: str, members=(), ou: str = STAFF, group_type: int = -2147483646, **attrs) -> SourceObject:
    values = {"samaccountname": [name], "cn": [name], "grouptype": [str(group_type)],
              **{k.lower(): v if isinstance(v, list) else [v] for k, v in attrs.items()}}
    return SourceObject(new_anchor(), "group", f"CN={name},{ou}", values,
                        frozenset(m.anchor for m in members))


@dataclass
class FakeImport:
    mode: str
    items: list
    watermark: str | None

    def __iter__(self):
        return iter(self.items)


class FakeDirectory:
    def __init__(self, *objects: SourceObject):
        self.objects: dict[str, SourceObject] = {}
        self.log: list[tuple[str, str]] = []  # (anchor, dn at the time)
        self.down = False
        for obj in objects:
            self.put(obj)

    def put(self, obj: SourceObject) -> SourceObject:
        self.objects[obj.anchor] = obj
        self.log.append((obj.anchor, obj.dn))
        return obj

    def change(self, obj: SourceObject, dn: str | None = None, members=None, **attrs) -> SourceObject:
        current = self.objects[obj.anchor]
        values = dict(current.attrs)
        for k, v in attrs.items():
            values[k.lower()] = v if isinstance(v, list) else ([] if v is None else [v])
        updated = replace(current, dn=dn or current.dn, attrs=values,
                          members=frozenset(m.anchor for m in members) if members is not None else current.members)
        return self.put(updated)

    def delete(self, obj: SourceObject) -> None:
        del self.objects[obj.anchor]
        self.log.append((obj.anchor, obj.dn))

    def missing_containers(self, names) -> list:
        self._check()
        return []  # the fake directory has every OU the tests name

    def full_import(self) -> FakeImport:
        self._check()
        return FakeImport("full", list(self.objects.values()), str(len(self.log)))

    def delta_import(self, watermark: str) -> FakeImport:
        self._check()
        changed = dict.fromkeys(anchor for anchor, _ in self.log[int(watermark):])
        dns = dict(self.log)
        items = [self.objects.get(a) or Tombstone(a, dns[a]) for a in changed]
        return FakeImport("dirsync", items, str(len(self.log)))

    def _check(self):
        if self.down:
            raise ServerUnreachableError("The domain controller dc1.contoso.com cannot be reached.",
                                         fix="Check that it is running.")


class Killed(BaseException):
    """Stands for the process being killed: not an Exception, so nothing in the engine catches it."""


@dataclass
class FakeTenant:
    domains: list[str] = field(default_factory=lambda: ["contoso.com", "contoso.onmicrosoft.com"])
    objects: dict[str, dict] = field(default_factory=dict)  # id -> properties (+ "kind", "anchor")
    members: dict[str, set] = field(default_factory=dict)
    managers: dict[str, str] = field(default_factory=dict)
    deleted: dict[str, dict] = field(default_factory=dict)
    writes: int = 0
    write_quota: tuple[int, float] = DOCUMENTED_WRITE_QUOTA
    kill_after: int | None = None  # writes done before the "process" dies (the result is never seen)
    marker: ActiveServer | None = None  # the active server's marker (Target.active_server)
    _ids = itertools.count(1)

    def verified_domains(self) -> list[str]:
        return list(self.domains)

    def active_server(self):
        return self.marker

    def mark_active(self, server) -> None:
        self.marker = server

    def add_cloud_user(self, upn: str, **props) -> str:
        oid = f"cloud-{next(self._ids)}"
        self.objects[oid] = {"kind": "user", "anchor": None, "userPrincipalName": upn, **props}
        return oid

    def users(self) -> list[dict]:
        return [o for o in self.objects.values() if o["kind"] == "user"]

    def by_anchor(self, anchor: str) -> tuple[str, dict]:
        hits = [(i, o) for i, o in self.objects.items() if o["anchor"] == anchor]
        assert len(hits) == 1, f"{len(hits)} cloud objects for anchor {anchor}"
        return hits[0]

    def member_anchors(self, group_anchor: str) -> set[str]:
        gid, _ = self.by_anchor(group_anchor)
        return {self.objects[m]["anchor"] for m in self.members.get(gid, ())}

    def find_by_anchors(self, kind, anchors, properties=()):
        wanted, values = set(anchors), list(properties)
        return {o["anchor"]: CloudObject(i, kind, o["anchor"], o.get("userPrincipalName"),
                                         properties={p: o.get(p) for p in values} if values else None)
                for i, o in self.objects.items() if o["kind"] == kind and o["anchor"] in wanted}

    def find_user_by_upn(self, upn):
        for i, o in self.objects.items():
            if o["kind"] == "user" and o.get("userPrincipalName", "").lower() == upn.lower():
                return CloudObject(i, "user", o["anchor"], upn)
        return None

    def apply(self, ops):
        for op in ops:
            result = self._apply(op)
            if result.ok:
                self.writes += 1
                if self.kill_after is not None and self.writes >= self.kill_after:
                    raise Killed()
            yield result

    def _apply(self, op: CloudOp) -> CloudResult:
        if op.action == "create":
            if op.kind == "user" and self.find_user_by_upn(op.properties["userPrincipalName"]):
                return CloudResult(op, "conflict", error_code="Request_BadRequest", message=(
                    "Another object with the same value for property userPrincipalName already exists."))
            oid = f"cloud-{next(self._ids)}"
            anchor = op.properties.get("onPremisesImmutableId") if op.kind == "user" else op.anchor
            self.objects[oid] = {"kind": op.kind, "anchor": anchor, **op.properties}
            return CloudResult(op, "created", oid)
        target = self.objects.get(op.cloud_id)
        if target is None:
            return CloudResult(op, Outcome.not_found, error_code="Request_ResourceNotFound", message="Not found.")
        if op.action == "update":
            upn = (op.properties or {}).get("userPrincipalName")
            holder = self.find_user_by_upn(upn) if upn else None
            if holder and holder.cloud_id != op.cloud_id:
                return CloudResult(op, "conflict", message="Another object with the same value for property "
                                                          "userPrincipalName already exists.")
            target.update(op.properties)
            if op.kind == "user" and "onPremisesImmutableId" in op.properties:
                target["anchor"] = op.properties["onPremisesImmutableId"]
            return CloudResult(op, "updated", op.cloud_id)
        if op.action == "delete":
            self.deleted[op.cloud_id] = self.objects.pop(op.cloud_id)
            for members in self.members.values():
                members.discard(op.cloud_id)
            return CloudResult(op, "deleted", op.cloud_id)
        if op.action in (CloudAction.add_member, CloudAction.remove_member):
            if op.ref_id not in self.objects:
                return CloudResult(op, Outcome.not_found, message="Not found.")
            members = self.members.setdefault(op.cloud_id, set())
            if op.action == CloudAction.add_member:
                if op.ref_id in members:
                    return CloudResult(op, "conflict", message="One or more added object references already exist")
                members.add(op.ref_id)
            else:
                if op.ref_id not in members:
                    return CloudResult(op, Outcome.not_found, message="Not found.")
                members.discard(op.ref_id)
            return CloudResult(op, "updated", op.cloud_id)
        if op.action == CloudAction.set_manager:
            self.managers[op.cloud_id] = op.ref_id
        else:
            self.managers.pop(op.cloud_id, None)
        return CloudResult(op, "updated", op.cloud_id)


def configuration(threshold: int = 500, **sync) -> Configuration:
    return Configuration(sync=SyncSettings(**sync),
                         prevent_accidental_deletes=PreventAccidentalDeletesSettings(
                             object_deletion_threshold=threshold))
