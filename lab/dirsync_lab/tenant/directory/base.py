"""What every part of the directory shares: the properties Graph knows for users and groups, the request,
finding an object, checking and writing one. The resources build on it (query.py, users.py, groups.py,
deleted.py, applications.py)."""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone

from ..odata import GraphError, bad_request, take_type_annotation
from ..store import Store

ODATA_JSON = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

# https://learn.microsoft.com/graph/api/resources/user#properties (v1.0)
USER_WRITABLE = {
    "accountEnabled", "ageGroup", "businessPhones", "city", "companyName", "consentProvidedForMinor", "country",
    "department", "displayName", "employeeHireDate", "employeeId", "employeeOrgData", "employeeType",
    "faxNumber", "givenName", "jobTitle", "mail", "mailNickname", "mobilePhone", "officeLocation",
    "onPremisesExtensionAttributes", "onPremisesImmutableId", "otherMails", "passwordPolicies",
    "passwordProfile", "postalCode", "preferredLanguage", "state", "streetAddress", "surname",
    "usageLocation", "userPrincipalName", "userType",
}
USER_READONLY = {
    "id", "createdDateTime", "deletedDateTime", "creationType", "externalUserState", "imAddresses",
    "lastPasswordChangeDateTime", "onPremisesDistinguishedName", "onPremisesDomainName",
    "onPremisesLastSyncDateTime", "onPremisesSamAccountName", "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled", "onPremisesUserPrincipalName", "proxyAddresses", "securityIdentifier",
}
USER_DEFAULT = ["businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
                "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"]
USER_REQUIRED = ["accountEnabled", "displayName", "mailNickname", "passwordProfile", "userPrincipalName"]
# https://learn.microsoft.com/graph/api/resources/group#properties (v1.0)
GROUP_WRITABLE = {"classification", "description", "displayName", "groupTypes", "isAssignableToRole",
                  "mailEnabled", "mailNickname", "membershipRule", "membershipRuleProcessingState",
                  "preferredDataLocation", "securityEnabled", "visibility"}
GROUP_READONLY = {"id", "createdDateTime", "deletedDateTime", "mail", "onPremisesDomainName",
                  "onPremisesLastSyncDateTime", "onPremisesNetBiosName", "onPremisesSamAccountName",
                  "onPremisesSecurityIdentifier", "onPremisesSyncEnabled", "proxyAddresses",
                  "renewedDateTime", "securityIdentifier"}
GROUP_REQUIRED = ["displayName", "mailEnabled", "mailNickname", "securityEnabled"]
BOOLEAN_PROPS = {"accountEnabled", "mailEnabled", "securityEnabled", "isAssignableToRole"}
COLLECTION_PROPS = {"businessPhones", "otherMails", "groupTypes", "imAddresses", "proxyAddresses"}
OBJECT_PROPS = {"passwordProfile", "onPremisesExtensionAttributes", "employeeOrgData"}
# Columns that hold lower-cased copies of indexed properties (store.SCHEMA).
INDEXED = {"userPrincipalName": "upn", "mailNickname": "nick", "onPremisesImmutableId": "immutable_id",
           "displayName": "display_name", "id": "id"}
DOCUMENTED_BASE = "https://graph.microsoft.com"
REF_URL = re.compile(r"^(?P<base>https://[^/]+)/v1\.0/(?:directoryObjects|users|groups)"
                     r"(?:/(?P<id>[0-9a-fA-F-]{36})|\('(?P<key>[0-9a-fA-F-]{36})'\))/?$")
UPN_LOCAL = re.compile(r"^[A-Za-z0-9'._!#^~-]+$")  # https://learn.microsoft.com/graph/api/user-post-users
USER_NICK_BAD = set('@()\\[]";:<>, ')
GROUP_NICK_BAD = USER_NICK_BAD | {"."}  # https://learn.microsoft.com/graph/api/group-post-groups
# https://learn.microsoft.com/graph/api/resources/user#properties and /resources/group#properties:
# documented maximum lengths (onPremisesExtensionAttributes: each value).
USER_MAX_LENGTH = {"employeeId": 16, "givenName": 64, "surname": 64, "department": 64, "companyName": 64,
                   "jobTitle": 128, "city": 128, "state": 128, "country": 128, "postalCode": 40,
                   "displayName": 256, "mailNickname": 64}
GROUP_MAX_LENGTH = {"displayName": 256, "mailNickname": 64}
EXTENSION_ATTRIBUTE_MAX = 1024
# Control characters (C0, DEL, C1): the user and group pages document none as part of a text property and
# Graph's own examples never hold one; where the docs are silent the tenant takes the stricter reading
# and refuses them in every string it stores (docs/local-tenant.md).
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
# Same pages: usageLocation is "Not nullable"; displayName "can't be cleared during updates".
USER_NOT_NULLABLE = {"displayName", "usageLocation", "accountEnabled", "userPrincipalName", "mailNickname"}
GROUP_NOT_NULLABLE = {"displayName", "mailEnabled", "mailNickname", "securityEnabled"}
IMMUTABLE_ID_BAD = set("$_")  # user resource, onPremisesImmutableId: "The $ and _ characters can't be used"
EXTENSION_TYPES = {"String": str, "Boolean": bool, "Integer": int, "LargeInteger": int, "DateTime": str,
                   "Binary": str}


def _has_control(value) -> bool:
    """A string, or a collection's string, holding a control character."""
    return any(isinstance(v, str) and CONTROL.search(v) for v in (value if isinstance(value, list) else [value]))


def _extension_value_ok(definition: dict, value) -> bool:
    """https://learn.microsoft.com/graph/api/resources/extensionproperty : String values of 256 chars at most."""
    values = value if definition.get("isMultiValued") and isinstance(value, list) else [value]
    kind = EXTENSION_TYPES[definition["dataType"]]
    return all(v is None or (isinstance(v, kind) and not (kind is str and len(v) > 256)) for v in values)


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Request:
    method: str
    path: str                      # after /v1.0/, no query string
    query: dict[str, str]
    headers: dict[str, str]        # lower-cased names
    body: bytes = b""
    caller: dict = field(default_factory=dict)  # the access token's claims

    def json(self) -> dict:
        content_type = self.headers.get("content-type", "")
        try:
            if "json" not in content_type.lower():
                raise ValueError
            value = json.loads(self.body or b"")
            if not isinstance(value, dict):
                raise ValueError
            return value
        except ValueError:
            # https://learn.microsoft.com/graph/errors : a payload Graph cannot parse
            raise bad_request("Unable to read JSON request payload. Please ensure Content-Type header is set "
                              "and payload is of valid JSON format.", code="BadRequest") from None


Response = tuple[int, dict, object]


class DirectoryBase:
    """The state every resource works on; Directory (the package) sets it up."""

    store: Store
    db: sqlite3.Connection
    base: str
    meta: str

    def _ok(self, status: int, body, **headers) -> Response:
        return status, {"Content-Type": ODATA_JSON, "OData-Version": "4.0", **headers}, body

    def _extensions(self, target: str) -> dict[str, dict]:
        rows = self.db.execute("SELECT name, data FROM extension_properties").fetchall()
        definitions = {r["name"]: json.loads(r["data"]) for r in rows}
        return {name: d for name, d in definitions.items() if target in d["targetObjects"]}

    def _row(self, oid: str, kind: str | None = None, states=("active",)) -> sqlite3.Row:
        if kind == "user" and "@" in oid:
            row = self.db.execute("SELECT * FROM objects WHERE upn=? AND kind='user' AND state='active'",
                                  (oid.lower(),)).fetchone()
        else:
            row = self.db.execute("SELECT * FROM objects WHERE id=?", (oid.lower(),)).fetchone()
        if row is None or row["state"] not in states or (kind and row["kind"] != kind):
            # https://learn.microsoft.com/graph/errors (Request_ResourceNotFound)
            raise GraphError(404, "Request_ResourceNotFound",
                             f"Resource '{oid}' does not exist or one of its queried reference-property "
                             "objects are not present.")
        return row

    def _validate(self, body: dict, kind: str, *, creating: bool) -> dict:
        writable = USER_WRITABLE if kind == "user" else GROUP_WRITABLE
        readonly = USER_READONLY if kind == "user" else GROUP_READONLY
        extensions = self._extensions("User" if kind == "user" else "Group")
        resource = "User" if kind == "user" else "Group"
        take_type_annotation(body, kind)
        for name, value in body.items():
            if name.endswith("@odata.bind") and kind == "group":
                continue
            if name in readonly:
                raise bad_request(f"Property '{name}' is read-only and cannot be set.")
            if name not in writable and name not in extensions:
                # The OData deserializer's message for an unknown property.
                raise bad_request(f"The property '{name}' does not exist on type 'microsoft.graph.{kind}'. Make "
                                  "sure to only use property names that are defined by the type or mark the type "
                                  "as open type.", code="BadRequest")
            if name in extensions:
                valid = _extension_value_ok(extensions[name], value)
            else:
                valid = (value is None or (isinstance(value, bool) if name in BOOLEAN_PROPS else
                         isinstance(value, list) if name in COLLECTION_PROPS else
                         isinstance(value, dict) if name in OBJECT_PROPS else
                         isinstance(value, str)))
            if valid and name not in extensions:
                valid = self._value_allowed(kind, name, value)
            if not valid:
                raise bad_request(f"Invalid value specified for property '{name}' of resource '{resource}'.",
                                  details=[{"code": "InvalidValue", "target": name}])
        if creating:
            for name in USER_REQUIRED if kind == "user" else GROUP_REQUIRED:
                if body.get(name) in (None, ""):
                    raise bad_request(f"Invalid value specified for property '{name}' of resource '{resource}'.",
                                      details=[{"code": "InvalidValue", "target": name}])
        return body

    @staticmethod
    def _value_allowed(kind: str, name: str, value) -> bool:
        """The documented limits of one property's value (type already checked)."""
        if value is None:
            return name not in (USER_NOT_NULLABLE if kind == "user" else GROUP_NOT_NULLABLE)
        limit = (USER_MAX_LENGTH if kind == "user" else GROUP_MAX_LENGTH).get(name)
        if isinstance(value, str) and (limit and len(value) > limit or name == "displayName" and not value):
            return False
        if _has_control(value):
            return False
        if kind == "user" and name == "onPremisesImmutableId":
            return not IMMUTABLE_ID_BAD & set(value) and value.isascii()
        if kind == "user" and name == "mail":
            # The user page: mail and userPrincipalName can't contain accent characters.
            local, at, domain = value.rpartition("@")
            return bool(at and local and domain and value.isascii())
        if name == "onPremisesExtensionAttributes":
            return isinstance(value, dict) and all(
                v is None or isinstance(v, str) and len(v) <= EXTENSION_ATTRIBUTE_MAX and not _has_control(v)
                for v in value.values())
        return True

    def _conflict(self, prop: str, column: str, value: str | None, exclude: str | None) -> None:
        if not value:
            return
        row = self.db.execute(f"SELECT id FROM objects WHERE {column}=? AND kind='user' AND state='active'"
                              " AND id IS NOT ?", (value.lower(), exclude)).fetchone()
        if row:
            # https://learn.microsoft.com/graph/errors ; microsoft-graph-docs issue 1508
            raise bad_request(f"Another object with the same value for property {prop} already exists.",
                              details=[{"target": prop, "code": "ObjectConflict"}])

    def _check_user(self, data: dict, exclude: str | None) -> None:
        upn = data.get("userPrincipalName") or ""
        local, _, domain = upn.rpartition("@")
        if not local or not UPN_LOCAL.match(local) or len(upn) > 113:
            raise bad_request("Invalid value specified for property 'userPrincipalName' of resource 'User'.",
                              details=[{"code": "InvalidValue", "target": "userPrincipalName"}])
        if domain.lower() not in {d["name"] for d in self.store.domains()}:
            raise bad_request("The domain portion of the userPrincipalName property is invalid. You must use one "
                              "of the verified domain names in your organization.",
                              details=[{"code": "InvalidValue", "target": "userPrincipalName"}])
        nick = data.get("mailNickname") or ""
        if len(nick) > 64 or USER_NICK_BAD & set(nick) or not nick.isascii():
            raise bad_request("Invalid value specified for property 'mailNickname' of resource 'User'.",
                              details=[{"code": "InvalidValue", "target": "mailNickname"}])
        usage = data.get("usageLocation")
        if usage is not None and not re.fullmatch(r"[A-Z]{2}", usage):
            raise bad_request("Invalid value specified for property 'usageLocation' of resource 'User'.")
        self._conflict("userPrincipalName", "upn", upn, exclude)
        # mailNickname is not unique for users (user resource); proxyAddresses are (computed from mail).
        self._proxy_conflict(data.get("proxyAddresses") or [], exclude)
        self._conflict("onPremisesImmutableId", "immutable_id", data.get("onPremisesImmutableId"), exclude)

    def _proxy_conflict(self, addresses: list[str], exclude: str | None) -> None:
        for address in addresses:
            bare = address.split(":", 1)[-1].lower()
            row = self.db.execute("SELECT o.id FROM proxy_addresses p JOIN objects o ON o.id=p.id "
                                  "WHERE p.address=? AND o.state='active' AND o.id IS NOT ?",
                                  (bare, exclude)).fetchone()
            if row:
                raise bad_request("Another object with the same value for property proxyAddresses already "
                                  "exists.", details=[{"target": "proxyAddresses", "code": "ObjectConflict"}])

    def _write(self, row_id: str, kind: str, data: dict, *, state: str = "active", insert: bool = False) -> None:
        cols = (data.get("userPrincipalName"), data.get("mailNickname"), data.get("onPremisesImmutableId"),
                data.get("displayName"))
        lowered = [c.lower() if isinstance(c, str) else None for c in cols]
        # The directory compares onPremisesImmutableId case-insensitively too; clients verify exact anchors.
        if insert:
            self.db.execute("INSERT INTO objects(id, kind, state, seq, upn, nick, immutable_id, display_name, data)"
                            " VALUES (?,?,?,?,?,?,?,?,?)",
                            (row_id, kind, state, self.store.next_seq(), *lowered, json.dumps(data)))
        else:
            self.db.execute("UPDATE objects SET state=?, seq=?, upn=?, nick=?, immutable_id=?, display_name=?,"
                            " data=? WHERE id=?",
                            (state, self.store.next_seq(), *lowered, json.dumps(data), row_id))
            self.db.execute("DELETE FROM proxy_addresses WHERE id=?", (row_id,))
        self.db.executemany("INSERT OR IGNORE INTO proxy_addresses VALUES (?, ?)",
                            [(a.split(":", 1)[-1].lower(), row_id) for a in data.get("proxyAddresses") or []
                             if isinstance(a, str)])

    def _ref_id(self, body: dict, key: str = "@odata.id") -> str:
        """The object id in a reference: a directory object URL of this service, as the reference pages
        show it (https://learn.microsoft.com/graph/api/group-post-members : `{base}/v1.0/directoryObjects/{id}`;
        the typed sets users/groups too; the pages' own https://graph.microsoft.com form works as written);
        anything else is refused as Graph does (msgraph-sdk-dotnet#1846)."""
        ref = body.get(key)
        match = REF_URL.match(ref) if isinstance(ref, str) else None
        if match is None or match["base"] not in (self.base, DOCUMENTED_BASE):
            raise bad_request("Invalid URL format specified in payload.", code="BadRequest")
        return (match["id"] or match["key"]).lower()

    def _purge(self, row: sqlite3.Row) -> None:
        # A tombstone stays so that delta can report {"@removed": {"reason": "deleted"}}.
        self.db.execute("DELETE FROM members WHERE group_id=? OR member_id=?", (row["id"], row["id"]))
        self.db.execute("DELETE FROM managers WHERE user_id=? OR manager_id=?", (row["id"], row["id"]))
        self.db.execute("UPDATE objects SET state='purged', seq=?, upn=NULL, nick=NULL, immutable_id=NULL, "
                        "display_name=NULL, data='{}' WHERE id=?", (self.store.next_seq(), row["id"]))
