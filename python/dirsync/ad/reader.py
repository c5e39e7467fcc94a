"""Reads users, groups and contacts from Active Directory: the engine's Source.

Shape of what it yields (dirsync.engine.ports):
  SourceObject.anchor  base64 of the objectGUID bytes.
  SourceObject.attrs   lower-cased LDAP name -> list of str (bytes for thumbnailphoto); numbers stay
                       the strings LDAP gives ("514"). A value that is not UTF-8 (AD can hold unpaired
                       UTF-16 surrogates) stays bytes: the attribute flow reports it on that object.
                       manager and managedby hold the ANCHOR of the object they point to, not its DN.
                       member is not in attrs: see members.
  SourceObject.members for groups, the anchors of all direct members (read in ranges of 1,500, as AD
                       hands out large memberships). They may name objects that are not imported
                       (computers, critical system objects): the engine resolves what it knows.
  Tombstone            an object deleted since the watermark (delta only).

Never imported: critical system objects (krbtgt, Administrator, built-in groups…), the service
account, computers, objects without cn, users without sAMAccountName.

Watermark: an opaque JSON string {"v", "dc" (the DC's invocationId), "base", "usn" (highestCommittedUSN
read *before* the import searched, so nothing written during the import is missed), "cookie" (base64
DirSync cookie, or null when the account lacks the replication right)}. A watermark from another DC
(invocationId differs) or another base DN makes the delta a full import.

Memory: searches are paged (and DirSync batches are bounded by the server), one page at a time; only
a group's own member list is held whole.

Round trips: pages of PAGE_SIZE; a DirSync delta reads the objects it reports again (DirSync gives only
what changed) READ_BATCH to a search. Entries come decoded by connection.RawEntries (raw values only).
"""

from __future__ import annotations

import base64
import functools
import json
import uuid
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Literal

import ldap3
from ldap3.core import exceptions as ldap_errors
from ldap3.utils.conv import escape_bytes, escape_filter_chars
from ldap3.protocol.microsoft import dir_sync_control, extended_dn_control, show_deleted_control

from .. import dn as dns
from .. import errors
from ..engine.ports import ImportItem, MissingContainer, SourceObject, Tombstone
from ..events import Events
from ..vocabulary import ImportMode
from .connection import LdapSettings, connect, raw_entries

SYNCED_ATTRIBUTES = (
    "cn", "sAMAccountName", "userPrincipalName", "displayName", "givenName", "sn", "initials", "mail",
    "mailNickname", "proxyAddresses", "userAccountControl", "title", "department", "company",
    "physicalDeliveryOfficeName", "streetAddress", "l", "st", "postalCode", "c", "co", "countryCode",
    "telephoneNumber", "homePhone", "mobile", "pager", "facsimileTelephoneNumber", "otherTelephone",
    "info", "wWWHomePage", "thumbnailPhoto", "employeeID", "manager", "accountExpires", "description", "groupType",
    "managedBy", "objectClass", "isCriticalSystemObject", "msExchUsageLocation",
    *(f"extensionAttribute{n}" for n in range(1, 16)),
)
# Entries per page of a paged search: AD's default MaxPageSize (a DC hands out at most that many, whatever
# is asked); half the round trips of 500. Samba sets no such limit.
PAGE_SIZE = 1000
# Changed objects a delta reads again per search (an OR of their objectGUIDs), not one search each.
READ_BATCH = 100
MEMBER_RANGE = 1500  # AD's MaxValRange: how many values of one attribute a search returns
# The first range is asked for explicitly: AD would cut plain "member" there anyway, and servers that
# do not (Samba) then take the same path, so the range code is what runs everywhere.
READ_ATTRIBUTES = (*SYNCED_ATTRIBUTES, "objectGUID", f"member;range=0-{MEMBER_RANGE - 1}")
BINARY = {"thumbnailphoto", "objectguid"}
LINKS = {"manager", "managedby"}  # DN-valued: given as anchors
KINDS_FILTER = "(|(&(objectCategory=person)(objectClass=user))(objectClass=contact)(objectClass=group))"
# Tombstones lose objectCategory, so changes and deletions are selected by objectClass alone.
CHANGES_FILTER = "(|(objectClass=user)(objectClass=contact)(objectClass=group))"
REPLICATING_DIRECTORY_CHANGES = "1131f6aa-9c07-11d1-f79f-00c04fc2dcd2"


def extended_dn():
    # In <GUID=…> form, member/manager values carry the anchor without a lookup per value.
    return extended_dn_control(criticality=True, hex_format=False)


def guid_anchor(guid_bytes: bytes) -> str:
    return base64.b64encode(guid_bytes).decode("ascii")


def split_extended_dn(value: bytes | str) -> tuple[str, str]:
    """'<GUID=…>;<SID=…>;CN=x,…' -> (anchor, 'CN=x,…')."""
    text = value.decode("utf-8") if isinstance(value, bytes) else value
    anchor, rest = "", text
    while rest.startswith("<"):
        part, _, rest = rest.partition(">;") if ">;" in rest else rest.partition(">")
        if part.upper().startswith("<GUID="):
            anchor = guid_anchor(uuid.UUID(part[6:]).bytes_le)
    return anchor, rest


def guid_of(identity: str) -> uuid.UUID | None:
    """An objectGUID given as 8-4-4-4-12 hex (braces allowed) or as DirSync's anchor (its base64)."""
    text = identity.strip()
    try:
        return uuid.UUID(text.strip("{}")) if len(text.strip("{}")) == 36 else None
    except ValueError:
        pass
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        return None
    return uuid.UUID(bytes_le=raw) if len(raw) == 16 and len(text) == 24 else None


@dataclass(frozen=True)
class DcInfo:
    invocation_id: str
    highest_usn: int


@dataclass
class Watermark:
    dc: str
    base: str
    usn: int
    cookie: str | None

    def dump(self) -> str:
        return json.dumps({"v": 1, "dc": self.dc, "base": self.base, "usn": self.usn, "cookie": self.cookie})

    @classmethod
    def load(cls, text: str) -> "Watermark":
        try:
            data = json.loads(text)
            return cls(dc=data["dc"], base=data["base"], usn=int(data["usn"]), cookie=data.get("cookie"))
        except (ValueError, KeyError, TypeError):
            raise errors.InvalidArgumentError(
                "The import watermark is not one DirSync wrote.",
                fix="Run a full import (Start-OnlineCoexistenceSync -FullSync).") from None


# The connection broke (reset, timed out, closed by the server) after it was set up.
LOST = (ldap_errors.LDAPCommunicationError, ldap_errors.LDAPResponseTimeoutError)


def connection_lost(settings: LdapSettings, exc: Exception) -> errors.ServerUnreachableError:
    return errors.ServerUnreachableError(
        f"The connection to the domain controller {settings.address} was lost during the import "
        f"({type(exc).__name__}).",
        fix="Nothing was exported from the incomplete import; the next run reads the changes again. If it "
            "keeps happening, check the network path and the domain controller's health.",
        target=settings.server)


def _lost_is_unreachable(start_import):
    """For the searches an import makes before it streams (DC facts, the first DirSync page)."""
    @functools.wraps(start_import)
    def wrapper(self, *args):
        try:
            return start_import(self, *args)
        except LOST as exc:
            raise connection_lost(self.settings, exc) from None
    return wrapper


class ImportRunImpl:
    """An ImportRun: iterate once; `watermark` is set when the iteration has finished."""

    def __init__(self, mode: ImportMode, items: Callable[["ImportRunImpl"], Iterator[ImportItem]],
                 conn: ldap3.Connection, settings: LdapSettings):
        self.mode = mode
        self.watermark: str | None = None
        self._items, self._conn, self._settings = items, conn, settings

    def __iter__(self) -> Iterator[ImportItem]:
        try:
            yield from self._items(self)
        except LOST as exc:
            raise connection_lost(self._settings, exc) from None
        finally:
            try:
                self._conn.unbind()
            except ldap_errors.LDAPException:
                pass  # the connection is gone already; the import's own outcome counts


class ActiveDirectorySource:
    """dirsync.engine.ports.Source over LDAP. Connects at each import (full_import / delta_import
    raise connection errors at once; iteration streams).

    delta_mode "auto" uses DirSync when the account holds the right, else uSNChanged polling;
    "usn" always polls (a DC whose DirSync cannot be used, or to compare the two)."""

    def __init__(self, settings: LdapSettings, user: str, password: str, *, base_dn: str | None = None,
                 service_account: str = "MSOL_AD_SYNC", events: Events | None = None, page_size: int = PAGE_SIZE,
                 delta_mode: Literal["auto", "usn"] = "auto"):
        self.settings, self._user, self._password = settings, user, password
        self.delta_mode = delta_mode
        self.base_dn = base_dn or ""  # empty: the domain's default naming context, read when connecting
        self.service_account = service_account
        self.events = events or Events()
        self.page_size = page_size

    # --- the scope's containers --------------------------------------------------------------------

    @_lost_is_unreachable
    def missing_containers(self, names: Iterable[str]) -> list[MissingContainer]:
        conn = self._connect()
        try:
            base = dns.parse(self.base_dn)
            missing = []
            for name in names:
                outside = not dns.is_under(dns.parse(name), base)
                if outside or not self._exists(conn, name):
                    missing.append(MissingContainer(name, self.base_dn, outside))
            return missing
        finally:
            conn.unbind()

    @staticmethod
    def _exists(conn: ldap3.Connection, name: str) -> bool:
        try:
            conn.search(name, "(objectClass=*)", ldap3.BASE, attributes=["objectClass"])
        except ldap_errors.LDAPNoSuchObjectResult:
            return False
        return any(e["type"] == "searchResEntry" for e in conn.response)

    # --- the two imports ---------------------------------------------------------------------------

    @_lost_is_unreachable
    def full_import(self) -> ImportRunImpl:
        conn = self._connect()
        info = dc_info(conn)
        cookie = self._initial_cookie(conn)
        self.events.verbose(f"Full import from {self.settings.address} ({self.base_dn}).")

        def items(run: ImportRunImpl) -> Iterator[ImportItem]:
            yield from self._objects(conn, self._paged(conn, self.base_dn, KINDS_FILTER, READ_ATTRIBUTES))
            run.watermark = Watermark(info.invocation_id, self.base_dn, info.highest_usn, cookie).dump()

        return ImportRunImpl(ImportMode.full, items, conn, self.settings)

    @_lost_is_unreachable
    def delta_import(self, watermark: str) -> ImportRunImpl:
        mark = Watermark.load(watermark)
        conn = self._connect()
        info = dc_info(conn)
        if mark.dc != info.invocation_id or mark.base != self.base_dn:
            conn.unbind()
            self.events.warning(f"The last import read another domain controller or base than "
                                f"{self.settings.address} ({self.base_dn}): running a full import.")
            return self.full_import()
        if mark.cookie and self.delta_mode == "auto":
            try:
                first = dirsync_page(conn, self.base_dn, base64.b64decode(mark.cookie))
            except errors.PermissionDeniedError as exc:
                self.events.warning(f"{exc.message} Falling back to uSNChanged polling. {exc.fix}")
            else:
                return ImportRunImpl(ImportMode.dirsync, lambda run: self._dirsync_items(run, conn, info, first), conn,
                                     self.settings)
        return ImportRunImpl(ImportMode.usn, lambda run: self._usn_items(run, conn, info, mark), conn, self.settings)

    # --- chosen objects (a sync of one object, Get-CoexistenceObject) -----------------------------

    @_lost_is_unreachable
    def find(self, identities: Iterable[str]) -> dict[str, list[ImportItem]]:
        conn = self._connect()
        try:
            return {identity: self._find(conn, identity) for identity in identities}
        finally:
            conn.unbind()

    @_lost_is_unreachable
    def read(self, anchors: Iterable[str]) -> list[ImportItem]:
        conn = self._connect()
        try:
            found: list[ImportItem] = []
            for anchor in anchors:
                found.extend(list(self._objects(conn, self._read_by_anchor(conn, anchor)))
                             or self._deleted(conn, f"<GUID={uuid.UUID(bytes_le=base64.b64decode(anchor))}>",
                                              ldap3.BASE, "(isDeleted=TRUE)")
                             or [Tombstone(anchor)])
            return found
        finally:
            conn.unbind()

    def _find(self, conn, identity: str) -> list[ImportItem]:
        guid = guid_of(identity)
        if guid is not None:
            base, scope, match = f"<GUID={guid}>", ldap3.BASE, "(objectClass=*)"
        elif "=" in identity:  # a distinguishedName
            base, scope, match = identity, ldap3.BASE, "(objectClass=*)"
        else:
            name = escape_filter_chars(identity)
            base, scope, match = self.base_dn, ldap3.SUBTREE, f"(|(sAMAccountName={name})(userPrincipalName={name}))"
        try:
            conn.search(base, f"(&{KINDS_FILTER}{match})", scope, attributes=list(READ_ATTRIBUTES),
                        controls=[extended_dn()], size_limit=10)
            entries = [e for e in conn.response if e["type"] == "searchResEntry"]
            live: list[ImportItem] = list(self._objects(conn, entries))
        except (ldap_errors.LDAPNoSuchObjectResult, ldap_errors.LDAPInvalidDnError):
            live = []
        if live or scope == ldap3.BASE and guid is None:
            return live  # a deleted object's DN is not its DN any more: the state knows it by its old one
        if guid is None:
            return self._deleted(conn, f"CN=Deleted Objects,{self.base_dn}", ldap3.SUBTREE,
                                 f"(&(isDeleted=TRUE){match})")
        return self._deleted(conn, base, ldap3.BASE, "(isDeleted=TRUE)")

    def _deleted(self, conn, base: str, scope, match: str) -> list[ImportItem]:
        try:
            conn.search(base, f"(&{match}{CHANGES_FILTER}(!(objectClass=computer)))", scope,
                        attributes=["objectGUID"], controls=[extended_dn(), show_deleted_control(criticality=True)],
                        size_limit=10)
        except (ldap_errors.LDAPNoSuchObjectResult, ldap_errors.LDAPInvalidDnError):
            return []
        return [Tombstone(anchor=guid_anchor(e["attrs"]["objectguid"][0]),
                          dn=split_extended_dn(e["dn"])[1]) for e in conn.response if e["type"] == "searchResEntry"]

    # --- DirSync -----------------------------------------------------------------------------------

    def _initial_cookie(self, conn: ldap3.Connection) -> str | None:
        """A DirSync cookie for "now", taken before the full search so later changes are not missed.
        The filter matches nothing: only the cookie is wanted."""
        try:
            page = dirsync_page(conn, self.base_dn, None, search_filter="(objectGUID=\\00)")
            while page.more:
                page = dirsync_page(conn, self.base_dn, page.cookie, search_filter="(objectGUID=\\00)")
        except errors.PermissionDeniedError as exc:
            self.events.warning(f"{exc.message} Deltas will use uSNChanged polling. {exc.fix}")
            return None
        return base64.b64encode(page.cookie).decode("ascii")

    def _dirsync_items(self, run, conn, info: DcInfo, page: "DirSyncPage") -> Iterator[ImportItem]:
        seen: set[str] = set()  # an object changed twice in one delta is read once
        while True:
            changes: list[Tombstone | str] = []  # this page's, in its order: deletions and anchors to read
            for entry in page.entries:
                raw = entry["attrs"]
                anchor = guid_anchor(raw["objectguid"][0])
                classes = {v.decode().lower() for v in raw.get("objectclass", [])}
                if "computer" in classes:
                    continue  # never imported (KINDS_FILTER would not read it)
                if raw.get("isdeleted", [b""])[0].upper() == b"TRUE":
                    changes.append(Tombstone(anchor=anchor, dn=entry["dn"]))
                elif anchor not in seen:
                    seen.add(anchor)
                    changes.append(anchor)
            yield from self._read_changes(conn, changes)
            if not page.more:
                break
            page = dirsync_page(conn, self.base_dn, page.cookie)
        run.watermark = Watermark(info.invocation_id, self.base_dn, info.highest_usn,
                                  base64.b64encode(page.cookie).decode("ascii")).dump()

    def _read_changes(self, conn, changes: list[Tombstone | str]) -> Iterator[ImportItem]:
        """The whole current objects (DirSync gives only what changed), READ_BATCH to a search, in
        DirSync's order."""
        for start in range(0, len(changes), READ_BATCH):
            chunk = changes[start:start + READ_BATCH]
            anchors = [c for c in chunk if isinstance(c, str)]
            found = {split_extended_dn(e["dn"])[0]: e for e in self._read_by_anchors(conn, anchors)} if anchors else {}
            for change in chunk:
                if isinstance(change, Tombstone):
                    yield change
                else:
                    # Not under the base any more (moved out since DirSync saw it), or deleted since: as
                    # the chosen objects' read does, by GUID (deleted: nothing, the next delta reports it).
                    yield from self._objects(conn, [found[change]] if change in found
                                             else self._read_by_anchor(conn, change))

    def _read_by_anchors(self, conn, anchors: list[str]) -> Iterator[dict]:
        guids = "".join(f"(objectGUID={escape_bytes(base64.b64decode(a))})" for a in anchors)
        return self._paged(conn, self.base_dn, f"(&{KINDS_FILTER}(|{guids}))", READ_ATTRIBUTES)

    def _read_by_anchor(self, conn, anchor: str) -> list[dict]:
        guid = uuid.UUID(bytes_le=base64.b64decode(anchor))
        try:
            conn.search(f"<GUID={guid}>", KINDS_FILTER, ldap3.BASE, attributes=list(READ_ATTRIBUTES),
                        controls=[extended_dn()])
        except ldap_errors.LDAPNoSuchObjectResult:
            return []  # deleted since: the next delta reports the deletion
        return [e for e in conn.response if e["type"] == "searchResEntry"]

    # --- uSNChanged --------------------------------------------------------------------------------

    def _usn_items(self, run, conn, info: DcInfo, mark: Watermark) -> Iterator[ImportItem]:
        # Bounded above by the USN read before searching: writes during the search wait for the next run.
        window = f"(uSNChanged>={mark.usn + 1})(uSNChanged<={info.highest_usn})"
        yield from self._objects(conn, self._paged(conn, self.base_dn, f"(&{KINDS_FILTER}{window})",
                                                   READ_ATTRIBUTES))
        container = f"CN=Deleted Objects,{self.base_dn}"
        conn.search(container, "(objectClass=*)", ldap3.BASE, attributes=["objectGUID"],
                    controls=[show_deleted_control(criticality=True)])
        if not conn.response or not conn.response[0]["attrs"].get("objectguid"):
            # Like AD, the container lists nothing (and shows no attribute) to an account without rights.
            self.events.warning(
                f"{self._user} cannot read {container} on {self.settings.address}: deletions stay unseen "
                "until the next full import. Grant the account Replicating Directory Changes (run the "
                "configuration wizard again), or List Contents and Read Property on that container.")
        deleted = f"(&(isDeleted=TRUE){window}{CHANGES_FILTER}(!(objectClass=computer)))"
        for entry in self._paged(conn, container, deleted, ["objectGUID"], show_deleted=True):
            yield Tombstone(anchor=guid_anchor(entry["attrs"]["objectguid"][0]),
                            dn=split_extended_dn(entry["dn"])[1])
        run.watermark = Watermark(info.invocation_id, self.base_dn, info.highest_usn, mark.cookie).dump()

    # --- shared ------------------------------------------------------------------------------------

    def _connect(self) -> ldap3.Connection:
        try:
            conn = raw_entries(connect(self.settings, self._user, self._password, self.events))
        except errors.AuthenticationError as refused:
            # The account and its password are the wizard's, never typed by the administrator: only a
            # wizard run can set them again.
            raise errors.AuthenticationError(
                refused.message, target=refused.target,
                fix="Re-run the configuration wizard (Start-CoexistenceConfigurationWizard, or 'dirsync "
                    "configure') in this DirSync home: it sets the service account's password again.") from None
        if not self.base_dn:
            conn.search("", "(objectClass=*)", ldap3.BASE, attributes=["defaultNamingContext"])
            self.base_dn = conn.response[0]["attrs"]["defaultnamingcontext"][0].decode()
        return conn

    def _paged(self, conn, base: str, search_filter: str, attributes, show_deleted: bool = False) -> Iterator[dict]:
        controls = [extended_dn()] + ([show_deleted_control(criticality=True)] if show_deleted else [])
        cookie = None
        while True:
            conn.search(base, search_filter, ldap3.SUBTREE, attributes=list(attributes), controls=controls,
                        paged_size=self.page_size, paged_cookie=cookie)
            page = [e for e in conn.response if e["type"] == "searchResEntry"]
            cookie = conn.result["controls"]["1.2.840.113556.1.4.319"]["value"]["cookie"]
            yield from page
            if not cookie:
                return

    def _objects(self, conn, entries) -> Iterator[SourceObject]:
        for entry in entries:
            self.events.check_cancelled()
            obj = self._to_object(conn, entry)
            if obj is not None:
                yield obj

    def _to_object(self, conn, entry: dict) -> SourceObject | None:
        anchor, dn = split_extended_dn(entry["dn"])
        attrs: dict[str, list] = {}
        member_keys = []
        for key, values in entry["attrs"].items():
            if key.startswith("member"):
                member_keys.append(key)
            elif key in LINKS:
                attrs[key] = [split_extended_dn(v)[0] for v in values]
            elif key != "objectguid" and values:
                attrs[key] = list(values) if key in BINARY else [_text(v) for v in values]
        classes = {c.lower() for c in attrs.get("objectclass", [])}
        kind = "contact" if "contact" in classes else "group" if "group" in classes else "user"
        if self._never_sync(kind, attrs):
            return None
        members = None
        if kind == "group":
            members = frozenset(self._members(conn, anchor, entry["attrs"], member_keys))
        return SourceObject(anchor=anchor, kind=kind, dn=dn, attrs=attrs, members=members)

    def _never_sync(self, kind: str, attrs: dict) -> bool:
        if attrs.get("iscriticalsystemobject", ["FALSE"])[0].upper() == "TRUE" or not attrs.get("cn"):
            return True
        if kind != "user":
            return False
        sam = attrs.get("samaccountname", [""])[0].lower()
        return not sam or sam in ("krbtgt", self.service_account.lower())

    def _members(self, conn, anchor: str, raw: dict, keys: list[str]) -> Iterator[str]:
        """All member anchors, following "member;range=0-1499" with further range searches."""
        while keys:
            key = keys[0]
            for value in raw[key]:
                yield split_extended_dn(value)[0]
            _, _, span = key.partition(";range=")
            if not span or span.endswith("*"):
                return
            start = int(span.split("-")[1]) + 1
            conn.search(f"<GUID={uuid.UUID(bytes_le=base64.b64decode(anchor))}>", "(objectClass=*)", ldap3.BASE,
                        attributes=[f"member;range={start}-*"], controls=[extended_dn()])
            raw = conn.response[0]["attrs"]
            keys = [k for k in raw if k.startswith("member")]


def _text(value: bytes) -> str | bytes:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value


# --- DC facts and the DirSync control ----------------------------------------------------------------

def dc_info(conn: ldap3.Connection) -> DcInfo:
    conn.search("", "(objectClass=*)", ldap3.BASE, attributes=["highestCommittedUSN", "dsServiceName"])
    root = conn.response[0]["attrs"]
    usn = int(root["highestcommittedusn"][0])
    conn.search(root["dsservicename"][0].decode(), "(objectClass=*)", ldap3.BASE, attributes=["invocationId"])
    invocation = uuid.UUID(bytes_le=conn.response[0]["attrs"]["invocationid"][0])
    return DcInfo(invocation_id=str(invocation), highest_usn=usn)


@dataclass
class DirSyncPage:
    entries: list[dict]
    more: bool
    cookie: bytes


def dirsync_page(conn: ldap3.Connection, base: str, cookie: bytes | None,
                 search_filter: str = CHANGES_FILTER) -> DirSyncPage:
    """One DirSync batch. Raises PermissionDeniedError when the account lacks Replicating Directory
    Changes on `base`."""
    control = dir_sync_control(criticality=True, object_security=False, ancestors_first=True,
                               public_data_only=False, incremental_values=True,
                               max_length=1024 * 1024, cookie=cookie)
    try:
        # DirSync reports an object only when a requested attribute changed: renames and moves show
        # in name and parentGUID, membership in member.
        conn.search(base, search_filter, ldap3.SUBTREE,
                    attributes=["objectGUID", "isDeleted", "name", "parentGUID", *SYNCED_ATTRIBUTES, "member"],
                    controls=[control])
    except (ldap_errors.LDAPInsufficientAccessRightsResult, ldap_errors.LDAPUnwillingToPerformResult,
            ldap_errors.LDAPStrongerAuthRequiredResult):
        raise errors.PermissionDeniedError(
            f"The account {conn.user} may not read changes with DirSync on {base} at "
            f"{conn.server.host}:{conn.server.port}: it lacks the right Replicating Directory Changes.",
            fix="Run the configuration wizard again (it grants the right to its service account), or grant "
                f"'Replicating Directory Changes' ({REPLICATING_DIRECTORY_CHANGES}) on {base}.",
            target=conn.server.host) from None
    value = conn.result["controls"]["1.2.840.113556.1.4.841"]["value"]
    return DirSyncPage([e for e in conn.response if e["type"] == "searchResEntry"],
                       bool(value["more_results"]), value["cookie"])
