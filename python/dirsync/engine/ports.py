"""The ports of the sync engine: what it needs from Active Directory (a Source), from Microsoft 365
(a Target), from its memory between runs (a StateRepository) and the data that crosses them. The engine
imports this module, never ldap3, requests or sqlite3; `ad/`, `cloud/` and `state/` implement these
interfaces.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from typing import Collection, Iterable, Iterator, Literal, Protocol

from ..vocabulary import CloudAction, ImportMode, Outcome, PlanAction, RunMode, RunStatus

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
    `mode` says which kind of import ran."""

    mode: ImportMode
    watermark: str | None

    def __iter__(self) -> Iterator[ImportItem]: ...


@dataclass(frozen=True)
class MissingContainer:
    """A DN the configuration names that the directory does not have (Source.missing_containers)."""

    dn: str
    base_dn: str   # the domain's naming context the DN should lie under
    outside: bool  # not under base_dn at all: an incomplete DN such as "OU=Staff"


class Source(Protocol):
    def missing_containers(self, names: Iterable[str]) -> list[MissingContainer]:
        """The DNs among `names` that are not objects of the directory under its base DN."""
        ...

    def full_import(self) -> ImportRun: ...

    def delta_import(self, watermark: str) -> ImportRun:
        """Changes since `watermark`. May fall back to a full import (ImportMode.full) when the
        watermark cannot be used any more (another DC, an expired cookie)."""
        ...

    def find(self, identities: Iterable[str]) -> dict[str, list[ImportItem]]:
        """identity -> the objects it names: by objectGUID, distinguishedName, sAMAccountName or
        userPrincipalName; live objects, else deleted ones (as Tombstones). Objects DirSync never reads
        (system objects, computers) are not among them."""
        ...

    def read(self, anchors: Iterable[str]) -> list[ImportItem]:
        """These objects as they are now: each one read whole, or a Tombstone when it is deleted or gone."""
        ...


# --- the cloud side --------------------------------------------------------------------------------

CloudKind = Literal["user", "group"]
CLOUD_KINDS: tuple[CloudKind, ...] = ("user", "group")


@dataclass(frozen=True)
class CloudOp:
    """One write to Microsoft 365.

    properties: Graph property names -> values (create, update). For a user create, the connector
    adds the password profile itself. For groups the anchor is written to the directory extension
    property by the connector.
    cloud_id: the object's id in the tenant (all but create).
    ref_id: the other object's cloud id (member for addMember/removeMember, manager for setManager).
    members: for a group create, the cloud ids of members it is created with (at most MEMBERS_PER_WRITE).
    """

    action: CloudAction
    kind: CloudKind
    anchor: str
    cloud_id: str | None = None
    properties: dict | None = None
    ref_id: str | None = None
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class CloudResult:
    op: CloudOp
    outcome: Outcome
    cloud_id: str | None = None
    error_code: str = ""
    message: str = ""
    recovered: bool = False  # a create whose answer was lost, found in the cloud instead of sent again
    members: tuple[str, ...] = ()  # of a group create's members, those it was created with

    @property
    def ok(self) -> bool:
        return self.outcome in (Outcome.created, Outcome.restored, Outcome.updated, Outcome.deleted)


@dataclass(frozen=True)
class CloudObject:
    """What the engine needs to know of an object already in the tenant."""

    cloud_id: str
    kind: CloudKind
    anchor: str | None  # onPremisesImmutableId for users, the extension property for groups
    user_principal_name: str | None = None
    deleted: bool = False  # in deleted items: restorable, with its id and memberships, until purged
    properties: dict | None = None  # the current values of the properties asked for (None: not read)


@dataclass(frozen=True)
class ActiveServer:
    """The marker the active DirSync server keeps in the tenant: which home exports to it (the id kept in
    that home's state), on which host, and when its last export ran (UTC, ISO 8601)."""

    server_id: str
    host: str
    last_run: str


class Target(Protocol):
    write_quota: tuple[int, float]  # (writes, seconds) the target's writes are held to

    def verified_domains(self) -> list[str]: ...

    def find_by_anchors(self, kind: CloudKind, anchors: Iterable[str],
                        properties: Iterable[str] = ()) -> dict[str, CloudObject]:
        """Hard match: anchor -> cloud object, for the anchors that exist in the tenant, with the current
        values of `properties` (CloudObject.properties) when any are asked for."""
        ...

    def find_user_by_upn(self, user_principal_name: str) -> CloudObject | None:
        """Soft match candidate (the engine only adopts one whose anchor is empty)."""
        ...

    def members(self, group_id: str) -> set[str]:
        """The cloud ids of a group's direct members."""
        ...

    def active_server(self) -> ActiveServer | None:
        """The active server's marker in the tenant, or None when no server has claimed it. Raises
        ActiveServerUnknownError when the marker cannot be read or registered."""
        ...

    def mark_active(self, server: ActiveServer) -> None:
        """Write (or refresh) the marker: `server` exports to this tenant. Raises ActiveServerUnknownError."""
        ...

    def apply(self, ops: Iterable[CloudOp]) -> Iterator[CloudResult]:
        """Carry out the writes (batched, retried, throttled as the connector sees fit) and yield one
        result per op, in any order, as each is known: the writes happen as the caller iterates, so the
        caller commits and reports each one before the next are sent, and stopping iterating stops them.
        Memberships added to one group may share a write (up to MEMBERS_PER_WRITE); each still gets its
        own result.
        Never raises for a per-object failure; raises ServerUnreachableError when the cloud stops
        answering and Cancelled when the caller cancels."""
        ...


# https://learn.microsoft.com/graph/api/group-post-members : "you can add up to only 20 members" in one
# request, by PATCH /groups/{id} or in the POST /groups that creates the group (group-post-groups).
MEMBERS_PER_WRITE = 20
# The changes a run result lists (the first ones made); the counts cover them all. A run of 100,000 users
# makes 200,000 changes, which would be as many dicts in memory and in the result's JSON.
CHANGES_LISTED = 500


# --- the plan and the run's result -----------------------------------------------------------------

@dataclass
class Change:
    """One change of a plan, as a preview shows it and a run reports it once done."""

    action: PlanAction
    kind: CloudKind  # contacts are skipped when staged: only users and groups are written
    anchor: str
    dn: str
    properties: dict | None = None
    ref: str | None = None       # the member's or manager's anchor
    ref_dn: str | None = None
    cloud_id: str | None = None  # the cloud object a delete or an adoption acts on

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None and k != "cloud_id"}


@dataclass(frozen=True)
class ObjectError:
    """An object that could not be written, why, and what to do about it."""

    anchor: str
    dn: str
    kind: str
    reason: str | None
    fix: str | None
    action: str | None = None  # a PlanAction, or CHECK for an object that cannot be written as it is
    code: str | None = None    # the cloud's error code, for an export that failed

    def to_dict(self) -> dict:
        out = {"anchor": self.anchor, "dn": self.dn, "kind": self.kind, "action": self.action,
               "code": self.code, "reason": self.reason, "fix": self.fix}
        return {k: v for k, v in out.items() if v is not None or k in ("reason", "fix")}


@dataclass(frozen=True)
class SkippedObject:
    """An object in scope that DirSync does not write (a contact, a distribution group), and why."""

    anchor: str
    dn: str
    kind: str
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class RunResult:
    """How a run ended. `to_dict` is its one JSON form, for the history, the CLI and the cmdlets."""

    run_id: int | None
    status: RunStatus
    mode: RunMode
    trigger: str  # a Trigger; the history keeps whatever older versions wrote
    start_time: str
    end_time: str | None
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[ObjectError] = field(default_factory=list)
    skipped: list[SkippedObject] = field(default_factory=list)
    message: str = ""
    preview: bool = False
    staging: bool = False
    plan: list[Change] | None = None     # what a preview, staging mode or a stopped run would do
    changes: list[Change] | None = None  # what an export did: the first CHANGES_LISTED of them
    changes_omitted: int = 0             # the changes made beyond those listed (counted in `counts`)
    planned_writes: int | None = None   # the writes the plan needs, known before the export starts
    quota_seconds: float | None = None  # the least time those writes take at the target's write quota
    notices: list[str] = field(default_factory=list)  # what the run could not tell (notify/): a message unsent

    @property
    def failed(self) -> bool:
        return RunStatus(self.status).failed

    @property
    def error_id(self) -> str | None:
        return RunStatus(self.status).error_id

    def to_dict(self) -> dict:
        out = {"runId": self.run_id, "status": self.status, "mode": self.mode, "preview": self.preview,
               "staging": self.staging, "trigger": self.trigger, "startTime": self.start_time,
               "endTime": self.end_time, "counts": dict(self.counts),
               "errors": [e.to_dict() for e in self.errors], "skipped": [s.to_dict() for s in self.skipped],
               "message": self.message, "notices": list(self.notices), "failed": self.failed,
               "errorId": self.error_id}
        if self.plan is not None:
            out["plan"] = [c.to_dict() for c in self.plan]
        if self.changes is not None:
            out["changes"] = [c.to_dict() for c in self.changes]
            out["changesOmitted"] = self.changes_omitted
        if self.planned_writes is not None:
            out["plannedWrites"] = self.planned_writes
            out["quotaSeconds"] = self.quota_seconds
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "RunResult":
        """The inverse of to_dict, for records kept as JSON (which may predate a field)."""
        return cls(run_id=data.get("runId"), status=RunStatus(data["status"]), mode=RunMode(data["mode"]),
                   trigger=data["trigger"], start_time=data["startTime"], end_time=data.get("endTime"),
                   counts=dict(data.get("counts") or {}),
                   errors=[ObjectError(**e) for e in data.get("errors") or []],
                   skipped=[SkippedObject(**s) for s in data.get("skipped") or []],
                   message=data.get("message") or "", preview=bool(data.get("preview")),
                   staging=bool(data.get("staging")),
                   plan=[Change(**c) for c in data["plan"]] if data.get("plan") is not None else None,
                   changes=[Change(**c) for c in data["changes"]] if data.get("changes") is not None else None,
                   changes_omitted=int(data.get("changesOmitted") or 0),
                   planned_writes=data.get("plannedWrites"), quota_seconds=data.get("quotaSeconds"),
                   notices=list(data.get("notices") or []))


# --- the state: DirSync's memory between runs ------------------------------------------------------

@dataclass(frozen=True)
class StagedObject:
    """An object as the state has it: what the import decided and what the cloud was last told.

    exported: Graph property -> hash of the value last written. pending: the properties the cloud
    should have, when they differ from what was exported (None: nothing to write)."""

    anchor: str
    kind: ObjectKind
    dn: str
    in_scope: bool = False
    skip_reason: str | None = None
    cloud_id: str | None = None
    create_intent: str | None = None  # when a create was sent whose result was not recorded yet
    exported: dict = field(default_factory=dict)
    pending: dict | None = None
    pending_delete: bool = False
    tombstoned: bool = False
    last_result: str | None = None
    last_error: str | None = None
    last_fix: str | None = None
    source_upn: str | None = None  # a user's UPN as Active Directory has it (the cloud's may differ)
    expires: str | None = None  # when a user's account will expire (ISO UTC), while that is ahead
    written_at: str | None = None  # when the cloud object was last written, and by which run
    written_run: int | None = None

    @property
    def cloud_kind(self) -> CloudKind:
        """What it is in the cloud: the planner sees users and groups only (contacts are skipped when staged)."""
        if self.kind == "contact":
            raise ValueError(f"{self.dn} is a contact, which DirSync never writes to Microsoft 365")
        return self.kind


@dataclass(frozen=True)
class StagedLink:
    """A member or manager link by anchor, with the DNs of both ends for the plan's wording."""

    src: str
    rel: Literal["member", "manager"]
    dst: str
    wanted: bool    # Active Directory has it
    exported: bool  # the cloud has it
    src_kind: CloudKind
    src_dn: str
    dst_dn: str


@dataclass(frozen=True)
class PendingWork:
    """What the planner reads from the state after staging."""

    work: list[StagedObject]     # in scope, with properties to write
    doomed: list[StagedObject]   # their cloud object must go
    invalid: list[StagedObject]  # in scope, but cannot be written as they are
    live: frozenset[str]         # anchors with a cloud object that stays (of those the links name, when only some)
    links: list[StagedLink]      # links to change, and every manager link
    synchronized: int | None = None  # how many objects have a cloud object that stays (None: len(live))


@dataclass(frozen=True)
class Health:
    """The state's side of Test-CoexistenceSync."""

    in_scope: int
    in_cloud: int
    skipped: int
    errors: list[ObjectError]


class StateRepository(Protocol):
    """What the engine needs of its state. Writes happen inside `transaction()` (committed at its end),
    `atomic()` (a transaction unless one is open) or `rolled_back()` (undone at its end: a preview)."""

    def transaction(self) -> AbstractContextManager: ...
    def atomic(self) -> AbstractContextManager: ...
    def rolled_back(self) -> AbstractContextManager: ...
    def lock(self, run_id: int | None = None, check: bool = True) -> None: ...
    def unlock(self) -> None: ...

    # watermarks and metadata
    def watermark(self, name: str) -> str | None: ...
    def set_watermark(self, name: str, value: str | None) -> None: ...
    def meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...

    # staging an import
    def staged(self, anchor: str) -> StagedObject | None: ...

    def stage(self, obj: StagedObject) -> None:
        """Insert or replace what the import decided (all but cloud_id, create_intent, exported)."""
        ...

    def mark_deleted(self, anchor: str) -> None:
        """Gone from Active Directory, its cloud object still to delete."""
        ...

    def remove(self, anchor: str) -> None: ...

    def known_anchors(self) -> list[str]:
        """Every object not deleted in Active Directory: what a full import must see again."""
        ...

    def expired(self, at: str) -> list[str]:
        """Users whose account expired by `at` (ISO UTC) since they were last staged."""
        ...

    def find(self, identity: str) -> list[StagedObject]:
        """The objects the state knows by this DN, anchor or Active Directory UPN."""
        ...

    def links(self, src: str, rel: str) -> dict[str, tuple[bool, bool]]:
        """dst -> (wanted, exported)."""
        ...

    def links_of(self, anchor: str) -> list[StagedLink]:
        """Every link from or to this object, with the DNs of both ends."""
        ...

    def by_cloud_id(self, cloud_ids: Iterable[str]) -> dict[str, StagedObject]:
        """cloud id -> the object the state writes there."""
        ...

    def want_link(self, src: str, rel: str, dst: str) -> None: ...
    def unwant_link(self, src: str, rel: str, dst: str) -> None: ...
    def drop_link(self, src: str, rel: str, dst: str) -> None: ...

    # planning and export
    def pending_work(self, only: Collection[str] | None = None) -> PendingWork:
        """`only`: these objects and the links from or to them (a sync of chosen objects), not all."""
        ...

    def cloud_ids(self, anchors: Iterable[str]) -> dict[str, str]: ...

    def forget(self, anchors: Iterable[str]) -> None:
        """Objects gone from Active Directory that never reached the cloud."""
        ...

    def settle(self, anchors: Iterable[str]) -> None:
        """Nothing to write after all: the cloud already has what is pending."""
        ...

    def record_create_intent(self, anchors: Iterable[str]) -> None:
        """Recorded before the creates are sent, so that a crash before their results hard-matches them."""
        ...

    def record_adoption(self, anchor: str, cloud_id: str) -> None: ...
    def record_properties(self, anchor: str, *, cloud_id: str | None, exported: dict, digest: str,
                          pending: dict | None) -> None: ...

    def record_delete(self, anchor: str) -> None: ...
    def record_member(self, group: str, member: str, *, added: bool) -> None: ...
    def record_manager(self, user: str, manager: str | None) -> None: ...
    def record_lost_in_cloud(self, anchor: str) -> None: ...
    def record_create_refused(self, anchor: str) -> None: ...
    def record_outcome(self, anchor: str, outcome: str, run_id: int | None = None) -> None: ...
    def record_error(self, anchor: str, reason: str, fix: str) -> None: ...

    # verification and history
    def in_scope(self) -> int: ...
    def health(self) -> Health: ...
    def begin_run(self, mode: str, trigger: str, staging: bool = False, start_time: str | None = None) -> int: ...
    def end_run(self, run_id: int, *, mode: str, status: str, counts: dict, errors: list[ObjectError],
                skipped: list[SkippedObject], message: str, end_time: str | None = None) -> None: ...

    def record_skipped_run(self, trigger: str, message: str) -> RunResult: ...
    def runs(self, last: int | None = None) -> list[RunResult]: ...
    def last_successful_run(self) -> RunResult | None: ...
