"""The ports of the sync engine: what it needs from Active Directory (a Source), from Microsoft 365
(a Target) and the data that crosses them. The engine imports this module, never ldap3 or requests;
`ad/` and `cloud/` implement these interfaces.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator, Literal, Protocol

ObjectKind = Literal["user", "group", "contact"]


@dataclass(frozen=True)
class SourceObject:
    """One Active Directory object as DirSync reads it.

    anchor: base64 of the objectGUID bytes: the sourceAnchor, which becomes the cloud immutableId.
    attrs: LDAP attribute name, lower-cased -> list of values (str, or bytes for binary attributes).
           A full import and a delta import both give every synced attribute of the object. The
           DN-valued `manager` and `managedby` hold the referenced object's anchor, not its DN.
    members: for groups, the anchors of the direct members (users, groups, contacts), complete.
    """

    anchor: str
    kind: ObjectKind
    dn: str
    attrs: dict[str, list] = field(default_factory=dict)
    members: frozenset[str] | None = None

    def first(self, name: str, default=None):
        values = self.attrs.get(name.lower())
        return values[0] if values else default


@dataclass(frozen=True)
class Tombstone:
    """An object deleted in Active Directory (seen by a delta import)."""

    anchor: str
    dn: str = ""


ImportItem = SourceObject | Tombstone


class ImportRun(Protocol):
    """One import pass. Iterate it to stream objects; after iteration, `watermark` holds the opaque
    state to give the next delta import (commit it only once the export that depends on it succeeded).
    `mode` says which kind of import ran: "full", "dirsync" (DirSync control) or "usn" (uSNChanged)."""

    mode: str
    watermark: str | None

    def __iter__(self) -> Iterator[ImportItem]: ...


class Source(Protocol):
    def full_import(self) -> ImportRun: ...

    def delta_import(self, watermark: str) -> ImportRun:
        """Changes since `watermark`. May fall back to a full import (mode "full") when the
        watermark cannot be used any more (another DC, an expired cookie)."""
        ...


# --- the cloud side --------------------------------------------------------------------------------

CloudKind = Literal["user", "group"]
CloudAction = Literal["create", "update", "delete", "add_member", "remove_member", "set_manager",
                      "remove_manager"]
Outcome = Literal["created", "updated", "deleted", "conflict", "not_found", "throttled", "failed"]


@dataclass(frozen=True)
class CloudOp:
    """One write to Microsoft 365.

    properties: Graph property names -> values (create, update). For a user create, the connector
    adds the password profile itself. For groups the anchor is written to the directory extension
    property by the connector.
    cloud_id: the object's id in the tenant (all but create).
    ref_id: the other object's cloud id (member for add/remove_member, manager for set_manager).
    """

    action: CloudAction
    kind: CloudKind
    anchor: str
    cloud_id: str | None = None
    properties: dict | None = None
    ref_id: str | None = None


@dataclass(frozen=True)
class CloudResult:
    op: CloudOp
    outcome: Outcome
    cloud_id: str | None = None
    error_code: str = ""
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome in ("created", "updated", "deleted")


@dataclass(frozen=True)
class CloudObject:
    """What the engine needs to know of an object already in the tenant."""

    cloud_id: str
    kind: CloudKind
    anchor: str | None  # onPremisesImmutableId for users, the extension property for groups
    user_principal_name: str | None = None


class Target(Protocol):
    def verified_domains(self) -> list[str]: ...

    def find_by_anchors(self, kind: CloudKind, anchors: Iterable[str]) -> dict[str, CloudObject]:
        """Hard match: anchor -> cloud object, for the anchors that exist in the tenant."""
        ...

    def find_user_by_upn(self, user_principal_name: str) -> CloudObject | None:
        """Soft match candidate (the engine only adopts one whose anchor is empty)."""
        ...

    def apply(self, ops: Iterable[CloudOp]) -> Iterator[CloudResult]:
        """Carry out the writes (batched, retried, throttled as the connector sees fit) and yield one
        result per op, in any order. Never raises for a per-object failure."""
        ...
