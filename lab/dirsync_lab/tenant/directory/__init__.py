"""Microsoft Graph v1.0 directory resources of the local tenant: organization, users, security groups,
membership and manager references, deleted items, users delta, applications and their directory extension
properties. Each handler follows the API reference page named in its docstring; docs/local-tenant.md lists
them with what is deliberately left out.

Handlers take a Request and return (status, headers, body) or raise GraphError; the server turns errors
into Graph's error body and runs the same handlers for each part of a $batch.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import quote, urlencode

from ..odata import FilterTranslator, GraphError, bad_request
from ..store import Store, ext_column

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
UPN_LOCAL = re.compile(r"^[A-Za-z0-9'._!#^~-]+$")  # https://learn.microsoft.com/graph/api/user-post-users
USER_NICK_BAD = set('@()\\[]";:<>, ')
GROUP_NICK_BAD = USER_NICK_BAD | {"."}  # https://learn.microsoft.com/graph/api/group-post-groups
MAX_TOP = 999
MAX_BIND = 20  # https://learn.microsoft.com/graph/api/group-post-members
DELTA_PAGE = 200
QUERY_SAFE = "$,()'"  # keep nextLinks readable, as Graph does


EXTENSION_TYPES = {"String": str, "Boolean": bool, "Integer": int, "LargeInteger": int, "DateTime": str,
                   "Binary": str}


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


def _token(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def _untoken(text: str) -> dict:
    try:
        return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except ValueError:
        raise bad_request("The specified page token value has expired and can no longer be included in "
                          "your request.", code="Directory_ExpiredPageToken") from None


class Directory:
    def __init__(self, store: Store, base_url: str):
        self.store = store
        self.db = store.db
        self.base = base_url.rstrip("/")
        self.meta = f"{self.base}/v1.0/$metadata"
        m = r"(?P<oid>[^/()]+)"
        app = r"applications(?:/(?P<app_oid>[0-9a-fA-F-]{36})|\(appId='(?P<app_id>[^']+)'\))"
        self.routes = [
            (r"organization", {"GET": self.get_organization}),
            (r"users", {"GET": self.list_users, "POST": self.create_user}),
            (r"users/delta(?:\(\))?", {"GET": self.users_delta}),
            (r"users/\$count", {"GET": self.count_users}),
            (rf"users/{m}", {"GET": self.get_user, "PATCH": self.update_user, "DELETE": self.delete_user}),
            (rf"users/{m}/manager", {"GET": self.get_manager}),
            (rf"users/{m}/manager/\$ref", {"PUT": self.set_manager, "DELETE": self.remove_manager}),
            (r"groups", {"GET": self.list_groups, "POST": self.create_group}),
            (rf"groups/{m}", {"GET": self.get_group, "PATCH": self.update_group, "DELETE": self.delete_group}),
            (rf"groups/{m}/members", {"GET": self.list_members}),
            (rf"groups/{m}/members/\$ref", {"POST": self.add_member}),
            (rf"groups/{m}/members/(?P<member>[^/]+)/\$ref", {"DELETE": self.remove_member}),
            (r"directory/deletedItems/microsoft\.graph\.(?P<kind>user|group)", {"GET": self.list_deleted}),
            (rf"directory/deletedItems/{m}", {"GET": self.get_deleted, "DELETE": self.purge_deleted}),
            (rf"directory/deletedItems/{m}/(?:microsoft\.graph\.)?restore", {"POST": self.restore_deleted}),
            (r"applications", {"GET": self.list_applications}),
            (app, {"GET": self.get_application}),
            (app + r"/extensionProperties", {"GET": self.list_extensions, "POST": self.create_extension}),
            (app + r"/extensionProperties/(?P<ext>[^/]+)", {"DELETE": self.delete_extension}),
        ]
        self.routes = [(re.compile(p + r"/?$"), h) for p, h in self.routes]

    # --- dispatch --------------------------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        for pattern, handlers in self.routes:
            match = pattern.match(req.path)
            if match:
                handler = handlers.get(req.method)
                if handler is None:
                    raise GraphError(405, "Request_BadRequest",
                                     "Specified HTTP method is not allowed for the request target.")
                with self.store.lock:
                    return handler(req, **{k: v for k, v in match.groupdict().items() if v is not None})
        segment = req.path.split("/")[0] or req.path
        raise bad_request(f"Resource not found for the segment '{segment}'.", code="BadRequest")

    # --- helpers ---------------------------------------------------------------------------------------
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

    def _select(self, req: Request) -> list[str] | None:
        raw = req.query.get("$select")
        return [s.strip() for s in raw.split(",") if s.strip()] if raw else None

    def _shape(self, row: sqlite3.Row, select: list[str] | None, *, typed: bool = False) -> dict:
        data = json.loads(row["data"])
        if select:
            out = {name: data.get(name) for name in select}
        elif row["kind"] == "user":
            out = {name: data.get(name) for name in USER_DEFAULT}
        else:  # groups: every stored property except directory extensions (returned only on $select)
            out = {k: v for k, v in data.items() if not k.startswith("extension_")}
        if row["state"] == "deleted":
            out["deletedDateTime"] = data.get("deletedDateTime")
        if typed:
            out = {"@odata.type": f"#microsoft.graph.{row['kind']}", **out}
        return out

    def _context(self, entity_set: str, select: list[str] | None, entity: bool = False) -> str:
        sel = f"({','.join(select)})" if select else ""
        return f"{self.meta}#{entity_set}{sel}{'/$entity' if entity else ''}"

    def _top(self, req: Request, default: int) -> int:
        raw = req.query.get("$top")
        if raw is None:
            return default
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_TOP:
            # https://learn.microsoft.com/graph/paging : $top accepts 1..999 for users
            raise bad_request(f"Invalid page size specified: '{raw}'. Must be between 1 and {MAX_TOP} inclusive.",
                              code="Request_UnsupportedQuery")
        return int(raw)

    def _advanced(self, req: Request) -> bool:
        return (req.headers.get("consistencylevel", "").lower() == "eventual"
                and req.query.get("$count", "").lower() == "true")

    def _column(self, kind: str):
        extensions = self._extensions("User" if kind == "user" else "Group")
        known = (USER_WRITABLE | USER_READONLY) if kind == "user" else (GROUP_WRITABLE | GROUP_READONLY)

        def column(name: str) -> str:
            if name in INDEXED:
                return INDEXED[name]
            if name in extensions:
                return ext_column(name)
            if name in BOOLEAN_PROPS and name in known:
                return f"json_extract(data, '$.{name}')"
            if name in known and name not in COLLECTION_PROPS | OBJECT_PROPS:
                return f"lower(json_extract(data, '$.\"{name}\"'))"
            raise bad_request(f"Could not find a property named '{name}' on type 'microsoft.graph.{kind}'.",
                              code="BadRequest")
        return column

    def _page(self, req: Request, base_sql: str, params: list, context: str, *, typed: bool = False) -> Response:
        """Keyset paging over objects' rid; @odata.nextLink keeps the query and adds a $skiptoken."""
        top = self._top(req, self.store.settings()["page_size"])
        after = _untoken(req.query["$skiptoken"])["rid"] if "$skiptoken" in req.query else 0
        select = self._select(req)
        rows = self.db.execute(f"{base_sql} AND o.rid > ? ORDER BY o.rid LIMIT ?",
                               [*params, after, top + 1]).fetchall()
        body = {"@odata.context": context}
        if req.query.get("$count", "").lower() == "true":
            if req.headers.get("consistencylevel", "").lower() != "eventual":
                # https://learn.microsoft.com/graph/aad-advanced-queries : $count needs ConsistencyLevel
                raise bad_request("$count is not currently supported.", code="Request_BadRequest")
            body["@odata.count"] = self.db.execute(base_sql.replace("o.*", "COUNT(*)", 1),
                                                   params).fetchone()[0]
        if len(rows) > top:
            rows = rows[:top]
            query = {k: v for k, v in req.query.items() if k != "$skiptoken"}
            query["$skiptoken"] = _token({"rid": rows[-1]["rid"]})
            body["@odata.nextLink"] = f"{self.base}/v1.0/{req.path}?{urlencode(query, safe=QUERY_SAFE, quote_via=quote)}"
        body["value"] = [self._shape(r, select, typed=typed) for r in rows]
        return self._ok(200, body)

    def _list(self, req: Request, kind: str, entity_set: str) -> Response:
        sql, params = f"SELECT o.* FROM objects o WHERE o.kind='{kind}' AND o.state='active'", []
        if "$filter" in req.query:
            where, params = FilterTranslator(self._column(kind), advanced=self._advanced(req)).translate(
                req.query["$filter"])
            sql += f" AND {where}"
        if "$orderby" in req.query and not self._advanced(req):
            raise bad_request("Sorting not supported for current query.", code="Request_UnsupportedQuery")
        return self._page(req, sql, params, self._context(entity_set, self._select(req)))

    def _validate(self, body: dict, kind: str, *, creating: bool) -> dict:
        writable = USER_WRITABLE if kind == "user" else GROUP_WRITABLE
        readonly = USER_READONLY if kind == "user" else GROUP_READONLY
        extensions = self._extensions("User" if kind == "user" else "Group")
        resource = "User" if kind == "user" else "Group"
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
            if not valid:
                raise bad_request(f"Invalid value specified for property '{name}' of resource '{resource}'.")
        if creating:
            for name in USER_REQUIRED if kind == "user" else GROUP_REQUIRED:
                if body.get(name) in (None, ""):
                    raise bad_request(f"Invalid value specified for property '{name}' of resource '{resource}'.",
                                      details=[{"code": "InvalidValue", "target": name}])
        return body

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
        self._conflict("mailNickname", "nick", nick, exclude)
        self._conflict("onPremisesImmutableId", "immutable_id", data.get("onPremisesImmutableId"), exclude)

    @staticmethod
    def _check_password(profile: dict) -> None:
        # https://learn.microsoft.com/entra/identity/authentication/concept-sspr-policy#password-policies-that-only-apply-to-cloud-user-accounts
        password = profile.get("password") or ""
        classes = sum(bool(re.search(p, password)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]"))
        if not 8 <= len(password) <= 256 or classes < 3:
            raise bad_request("The specified password does not comply with password complexity requirements. "
                              "Please provide a different password.")

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

    def _ref_id(self, body: dict, key: str = "@odata.id") -> str:
        ref = body.get(key)
        if not isinstance(ref, str) or not ref.strip("/"):
            raise bad_request(f"Invalid value specified for property '{key}'.")
        return ref.rstrip("/").rsplit("/", 1)[-1].split("(")[-1].strip("')").lower()

    # --- organization ----------------------------------------------------------------------------------
    def get_organization(self, req: Request) -> Response:
        """https://learn.microsoft.com/graph/api/organization-list"""
        domains = [{"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": bool(d["is_default"]),
                    "isInitial": bool(d["is_initial"]), "name": d["name"], "type": "Managed"}
                   for d in self.store.domains()]
        org = {"id": self.store.tenant_id, "deletedDateTime": None, "businessPhones": [],
               "city": None, "country": None, "countryLetterCode": None, "createdDateTime": None,
               "displayName": self.store.meta("org_name"), "marketingNotificationEmails": [],
               "onPremisesLastSyncDateTime": None, "onPremisesSyncEnabled": None,
               "preferredLanguage": "en", "tenantType": "AAD", "technicalNotificationMails": [],
               "verifiedDomains": domains}
        select = self._select(req)
        if select:
            org = {k: org.get(k) for k in select}
        return self._ok(200, {"@odata.context": self._context("organization", select), "value": [org]})

    # --- users -------------------------------------------------------------------------------------------
    def list_users(self, req: Request) -> Response:
        """https://learn.microsoft.com/graph/api/user-list"""
        return self._list(req, "user", "users")

    def count_users(self, req: Request) -> Response:
        """https://learn.microsoft.com/graph/api/user-list (GET /users/$count, text/plain)"""
        if req.headers.get("consistencylevel", "").lower() != "eventual":
            raise bad_request("Count is not currently supported.", code="Request_BadRequest")
        n = self.db.execute("SELECT COUNT(*) FROM objects WHERE kind='user' AND state='active'").fetchone()[0]
        return 200, {"Content-Type": "text/plain;charset=utf-8"}, str(n)

    def get_user(self, req: Request, oid: str) -> Response:
        """https://learn.microsoft.com/graph/api/user-get"""
        select = self._select(req)
        return self._ok(200, {"@odata.context": self._context("users", select, entity=True),
                              **self._shape(self._row(oid, "user"), select)})

    def create_user(self, req: Request) -> Response:
        """https://learn.microsoft.com/graph/api/user-post-users"""
        body = self._validate(req.json(), "user", creating=True)
        self._check_password(body["passwordProfile"])
        self._check_user(body, None)
        oid = str(uuid.uuid4())
        # The password is checked, then dropped: Graph never returns it and the tenant never stores it.
        data = {k: v for k, v in body.items() if k != "passwordProfile"}
        data.update(id=oid, createdDateTime=now_iso(), deletedDateTime=None, onPremisesSyncEnabled=None,
                    proxyAddresses=[], businessPhones=data.get("businessPhones") or [], passwordProfile=None)
        self._write(oid, "user", data, insert=True)
        return self._ok(201, {"@odata.context": self._context("users", None, entity=True),
                              **self._shape(self._row(oid, "user"), None)},
                        Location=f"{self.base}/v1.0/users/{oid}")

    def update_user(self, req: Request, oid: str) -> Response:
        """https://learn.microsoft.com/graph/api/user-update"""
        row = self._row(oid, "user")
        body = self._validate(req.json(), "user", creating=False)
        if "passwordProfile" in body:
            self._check_password(body["passwordProfile"] or {})
        data = json.loads(row["data"])
        data.update({k: v for k, v in body.items() if k != "passwordProfile"})
        self._check_user(data, row["id"])
        self._write(row["id"], "user", data)
        return 204, {}, None

    def delete_user(self, req: Request, oid: str) -> Response:
        """https://learn.microsoft.com/graph/api/user-delete : into deletedItems for 30 days"""
        row = self._row(oid, "user")
        data = json.loads(row["data"])
        data["deletedDateTime"] = now_iso()
        self._write(row["id"], "user", data, state="deleted")
        return 204, {}, None

    def users_delta(self, req: Request) -> Response:
        """https://learn.microsoft.com/graph/api/user-delta : pages, then a deltaLink; @removed for deletions"""
        select = self._select(req)
        if "$deltatoken" in req.query:
            state = {"from": _untoken(req.query["$deltatoken"])["seq"], "initial": False}
        elif "$skiptoken" in req.query:
            state = _untoken(req.query["$skiptoken"])
        else:
            state = {"from": 0, "initial": True}
        state.setdefault("to", self.store._seq)
        state.setdefault("after", state["from"])
        states = "('active')" if state["initial"] else "('active','deleted','purged')"
        rows = self.db.execute(f"SELECT * FROM objects WHERE kind='user' AND state IN {states} AND seq > ? "
                               "AND seq <= ? ORDER BY seq LIMIT ?",
                               (state["after"], state["to"], DELTA_PAGE + 1)).fetchall()
        value = []
        for row in rows[:DELTA_PAGE]:
            if row["state"] == "active":
                value.append({**self._shape(row, select), "id": row["id"]})
            else:  # "changed": restorable from deletedItems; "deleted": gone for good
                value.append({"id": row["id"], "@removed": {"reason": "changed" if row["state"] == "deleted"
                                                             else "deleted"}})
        query = {k: v for k, v in req.query.items() if k not in ("$skiptoken", "$deltatoken")}
        link = f"{self.base}/v1.0/users/delta?"
        body = {"@odata.context": self._context("users", select), "value": value}
        if len(rows) > DELTA_PAGE:
            token = {**state, "after": rows[DELTA_PAGE - 1]["seq"]}
            body["@odata.nextLink"] = link + urlencode({**query, "$skiptoken": _token(token)}, safe=QUERY_SAFE, quote_via=quote)
        else:
            body["@odata.deltaLink"] = link + urlencode({**query, "$deltatoken": _token({"seq": state["to"]})},
                                                        safe=QUERY_SAFE, quote_via=quote)
        return self._ok(200, body)

    # --- manager -----------------------------------------------------------------------------------------
    def get_manager(self, req: Request, oid: str) -> Response:
        """https://learn.microsoft.com/graph/api/user-list-manager"""
        user = self._row(oid, "user")
        ref = self.db.execute("SELECT o.* FROM managers m JOIN objects o ON o.id=m.manager_id "
                              "WHERE m.user_id=? AND o.state='active'", (user["id"],)).fetchone()
        if ref is None:
            raise GraphError(404, "Request_ResourceNotFound", "Resource 'manager' does not exist or one of its "
                             "queried reference-property objects are not present.")
        return self._ok(200, {"@odata.context": f"{self.meta}#directoryObjects/$entity",
                              **self._shape(ref, self._select(req), typed=True)})

    def set_manager(self, req: Request, oid: str) -> Response:
        """https://learn.microsoft.com/graph/api/user-post-manager"""
        user = self._row(oid, "user")
        manager = self._row(self._ref_id(req.json()), "user")
        if manager["id"] == user["id"]:
            raise bad_request("Invalid value specified for property 'manager' of resource 'User'.")
        self.db.execute("INSERT OR REPLACE INTO managers VALUES (?, ?)", (user["id"], manager["id"]))
        self._write(user["id"], "user", json.loads(user["data"]))
        return 204, {}, None

    def remove_manager(self, req: Request, oid: str) -> Response:
        """https://learn.microsoft.com/graph/api/user-delete-manager"""
        user = self._row(oid, "user")
        if self.db.execute("DELETE FROM managers WHERE user_id=?", (user["id"],)).rowcount == 0:
            raise GraphError(404, "Request_ResourceNotFound", "Resource 'manager' does not exist or one of its "
                             "queried reference-property objects are not present.")
        self._write(user["id"], "user", json.loads(user["data"]))
        return 204, {}, None

    # --- groups ------------------------------------------------------------------------------------------
    def list_groups(self, req: Request) -> Response:
        """https://learn.microsoft.com/graph/api/group-list"""
        return self._list(req, "group", "groups")

    def get_group(self, req: Request, oid: str) -> Response:
        """https://learn.microsoft.com/graph/api/group-get"""
        select = self._select(req)
        return self._ok(200, {"@odata.context": self._context("groups", select, entity=True),
                              **self._shape(self._row(oid, "group"), select)})

    def _bind_members(self, body: dict) -> list[str]:
        refs = body.pop("members@odata.bind", None) or []
        body.pop("owners@odata.bind", None)  # owners are not emulated; accepted so doc examples run
        if not isinstance(refs, list):
            raise bad_request("Invalid value specified for property 'members@odata.bind'.")
        if len(refs) > MAX_BIND:
            raise bad_request(f"The request contains {len(refs)} values for 'members@odata.bind'; at most "
                              f"{MAX_BIND} can be added in one request.")
        ids = [self._ref_id({"r": r}, "r") for r in refs]
        for member in ids:
            self._row(member)  # all-or-nothing: a missing member fails the whole request
        return ids

    def _add_members(self, group_id: str, ids: list[str]) -> None:
        existing = {r[0] for r in self.db.execute(
            f"SELECT member_id FROM members WHERE group_id=? AND member_id IN ({','.join('?' * len(ids))})",
            (group_id, *ids))} if ids else set()
        if existing or len(set(ids)) != len(ids):
            raise bad_request("One or more added object references already exist for the following modified "
                              "properties: 'members'.")
        self.db.executemany("INSERT INTO members VALUES (?, ?)", [(group_id, m) for m in ids])

    def create_group(self, req: Request) -> Response:
        """https://learn.microsoft.com/graph/api/group-post-groups (security groups)"""
        body = self._validate(req.json(), "group", creating=True)
        if body.get("mailEnabled") or "Unified" in (body.get("groupTypes") or []):
            raise bad_request("The local tenant creates security groups only (mailEnabled false, no 'Unified' "
                              "group type).", details=[{"code": "InvalidValue", "target": "mailEnabled"}])
        if not body.get("securityEnabled"):
            raise bad_request("Invalid value specified for property 'securityEnabled' of resource 'Group'.")
        nick = body["mailNickname"]
        if len(nick) > 64 or GROUP_NICK_BAD & set(nick) or not nick.isascii():
            raise bad_request("Invalid value specified for property 'mailNickname' of resource 'Group'.",
                              details=[{"code": "InvalidValue", "target": "mailNickname"}])
        members = self._bind_members(body)
        oid = str(uuid.uuid4())
        data = {"id": oid, "deletedDateTime": None, "classification": None, "createdDateTime": now_iso(),
                "description": None, "groupTypes": [], "mail": None, "onPremisesSyncEnabled": None,
                "proxyAddresses": [], "renewedDateTime": now_iso(), "securityIdentifier": None,
                "visibility": None, **body}
        self._write(oid, "group", data, insert=True)
        self._add_members(oid, members)
        return self._ok(201, {"@odata.context": self._context("groups", None, entity=True),
                              **self._shape(self._row(oid, "group"), None)},
                        Location=f"{self.base}/v1.0/groups/{oid}")

    def update_group(self, req: Request, oid: str) -> Response:
        """https://learn.microsoft.com/graph/api/group-update ; members@odata.bind adds up to 20 members"""
        row = self._row(oid, "group")
        body = self._validate(req.json(), "group", creating=False)
        members = self._bind_members(body)
        if body.get("mailEnabled") or "Unified" in (body.get("groupTypes") or []):
            raise bad_request("The local tenant keeps groups as security groups only.")
        data = json.loads(row["data"])
        data.update(body)
        self._add_members(row["id"], members)
        self._write(row["id"], "group", data)
        return 204, {}, None

    def delete_group(self, req: Request, oid: str) -> Response:
        """https://learn.microsoft.com/graph/api/group-delete : security groups are deleted for good"""
        row = self._row(oid, "group")
        self._purge(row)
        return 204, {}, None

    def list_members(self, req: Request, oid: str) -> Response:
        """https://learn.microsoft.com/graph/api/group-list-members"""
        group = self._row(oid, "group")
        sql = ("SELECT o.* FROM members m JOIN objects o ON o.id=m.member_id "
               "WHERE m.group_id=? AND o.state='active'")
        return self._page(req, sql, [group["id"]], f"{self.meta}#directoryObjects", typed=True)

    def add_member(self, req: Request, oid: str) -> Response:
        """https://learn.microsoft.com/graph/api/group-post-members"""
        group = self._row(oid, "group")
        member = self._row(self._ref_id(req.json()))
        self._add_members(group["id"], [member["id"]])
        self._write(group["id"], "group", json.loads(group["data"]))
        return 204, {}, None

    def remove_member(self, req: Request, oid: str, member: str) -> Response:
        """https://learn.microsoft.com/graph/api/group-delete-members"""
        group = self._row(oid, "group")
        if self.db.execute("DELETE FROM members WHERE group_id=? AND member_id=?",
                           (group["id"], member.lower())).rowcount == 0:
            raise GraphError(404, "Request_ResourceNotFound", f"Resource '{member}' does not exist or one of its "
                             "queried reference-property objects are not present.")
        self._write(group["id"], "group", json.loads(group["data"]))
        return 204, {}, None

    # --- deleted items ---------------------------------------------------------------------------------
    def list_deleted(self, req: Request, kind: str) -> Response:
        """https://learn.microsoft.com/graph/api/directory-deleteditems-list"""
        sql = f"SELECT o.* FROM objects o WHERE o.kind='{kind}' AND o.state='deleted'"
        return self._page(req, sql, [], f"{self.meta}#directory/deletedItems/microsoft.graph.{kind}")

    def get_deleted(self, req: Request, oid: str) -> Response:
        """https://learn.microsoft.com/graph/api/directory-deleteditems-get"""
        row = self._row(oid, states=("deleted",))
        return self._ok(200, {"@odata.context": f"{self.meta}#directoryObjects/$entity",
                              **self._shape(row, self._select(req), typed=True)})

    def restore_deleted(self, req: Request, oid: str) -> Response:
        """https://learn.microsoft.com/graph/api/directory-deleteditems-restore"""
        row = self._row(oid, states=("deleted",))
        data = json.loads(row["data"])
        self._check_user(data, row["id"])  # a new user may have taken the UPN meanwhile
        data["deletedDateTime"] = None
        self._write(row["id"], row["kind"], data)
        return self._ok(200, {"@odata.context": f"{self.meta}#directoryObjects/$entity",
                              "@odata.type": f"#microsoft.graph.{row['kind']}", **self._shape(self._row(row["id"]), None)})

    def purge_deleted(self, req: Request, oid: str) -> Response:
        """https://learn.microsoft.com/graph/api/directory-deleteditems-delete"""
        self._purge(self._row(oid, states=("deleted",)))
        return 204, {}, None

    def _purge(self, row: sqlite3.Row) -> None:
        # A tombstone stays so that delta can report {"@removed": {"reason": "deleted"}}.
        self.db.execute("DELETE FROM members WHERE group_id=? OR member_id=?", (row["id"], row["id"]))
        self.db.execute("DELETE FROM managers WHERE user_id=? OR manager_id=?", (row["id"], row["id"]))
        self.db.execute("UPDATE objects SET state='purged', seq=?, upn=NULL, nick=NULL, immutable_id=NULL, "
                        "display_name=NULL, data='{}' WHERE id=?", (self.store.next_seq(), row["id"]))

    # --- applications and directory extensions ----------------------------------------------------------
    def _app_json(self, app: sqlite3.Row) -> dict:
        return {"id": app["object_id"], "appId": app["app_id"], "displayName": app["display_name"],
                "createdDateTime": app["created"].replace(" ", "T") + "Z", "deletedDateTime": None,
                "signInAudience": "AzureADMyOrg", "isFallbackPublicClient": bool(app["public_client"]),
                "keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify"}] if app["cert_pem"] else [],
                "passwordCredentials": [{"hint": None}] if app["secret_hash"] else []}

    def _app(self, app_oid: str | None = None, app_id: str | None = None) -> sqlite3.Row:
        column, value = ("object_id", app_oid) if app_oid else ("app_id", app_id)
        app = self.db.execute(f"SELECT * FROM apps WHERE {column}=?", ((value or "").lower(),)).fetchone()
        if app is None:
            raise GraphError(404, "Request_ResourceNotFound", f"Resource '{value}' does not exist or one of its "
                             "queried reference-property objects are not present.")
        return app

    def list_applications(self, req: Request) -> Response:
        """https://learn.microsoft.com/graph/api/application-list"""
        sql, params = "SELECT * FROM apps WHERE 1=1", []
        if "$filter" in req.query:
            names = {"appId": "app_id", "displayName": "lower(display_name)", "id": "object_id"}

            def column(name: str) -> str:
                if name not in names:
                    raise bad_request(f"Could not find a property named '{name}' on type "
                                      "'microsoft.graph.application'.", code="BadRequest")
                return names[name]
            where, params = FilterTranslator(column, advanced=self._advanced(req)).translate(req.query["$filter"])
            sql += f" AND {where}"
        apps = [self._app_json(a) for a in self.db.execute(sql + " ORDER BY created", params)]
        select = self._select(req)
        if select:
            apps = [{k: a.get(k) for k in select} for a in apps]
        return self._ok(200, {"@odata.context": self._context("applications", select), "value": apps})

    def get_application(self, req: Request, app_oid: str | None = None, app_id: str | None = None) -> Response:
        """https://learn.microsoft.com/graph/api/application-get"""
        return self._ok(200, {"@odata.context": self._context("applications", None, entity=True),
                              **self._app_json(self._app(app_oid, app_id))})

    def _ext_json(self, row: sqlite3.Row, app: sqlite3.Row) -> dict:
        return {"id": row["id"], "deletedDateTime": None, "appDisplayName": app["display_name"],
                "isMultiValued": False, "isSyncedFromOnPremises": False, **json.loads(row["data"]),
                "name": row["name"]}

    def list_extensions(self, req: Request, app_oid: str | None = None, app_id: str | None = None) -> Response:
        """https://learn.microsoft.com/graph/api/application-list-extensionproperty"""
        app = self._app(app_oid, app_id)
        rows = self.db.execute("SELECT * FROM extension_properties WHERE app_object_id=?", (app["object_id"],))
        return self._ok(200, {"@odata.context": f"{self.meta}#applications('{app['object_id']}')/extensionProperties",
                              "value": [self._ext_json(r, app) for r in rows]})

    def create_extension(self, req: Request, app_oid: str | None = None, app_id: str | None = None) -> Response:
        """https://learn.microsoft.com/graph/api/application-post-extensionproperty"""
        app = self._app(app_oid, app_id)
        body = req.json()
        name, data_type, targets = body.get("name"), body.get("dataType"), body.get("targetObjects")
        if set(body) - {"name", "dataType", "targetObjects", "isMultiValued"}:
            raise bad_request("Invalid extension property definition: unknown property.")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_]{1,100}", name):
            raise bad_request("Invalid value specified for property 'name' of resource 'ExtensionProperty'.")
        if data_type not in ("Binary", "Boolean", "DateTime", "Integer", "LargeInteger", "String"):
            raise bad_request("Invalid value specified for property 'dataType' of resource 'ExtensionProperty'.")
        allowed = {"User", "Group", "AdministrativeUnit", "Application", "Device", "Organization"}
        if not isinstance(targets, list) or not targets or set(targets) - allowed:
            raise bad_request("Invalid value specified for property 'targetObjects' of resource 'ExtensionProperty'.")
        full = f"extension_{app['app_id'].replace('-', '')}_{name}"
        if self.db.execute("SELECT 1 FROM extension_properties WHERE name=?", (full,)).fetchone():
            raise bad_request("Another object with the same value for property name already exists.",
                              details=[{"target": "name", "code": "ObjectConflict"}])
        ext_id = str(uuid.uuid4())
        definition = {"dataType": data_type, "isMultiValued": bool(body.get("isMultiValued")), "targetObjects": targets}
        self.db.execute("INSERT INTO extension_properties VALUES (?, ?, ?, ?)",
                        (ext_id, app["object_id"], full, json.dumps(definition)))
        self.store.ensure_extension_index(full)
        row = self.db.execute("SELECT * FROM extension_properties WHERE id=?", (ext_id,)).fetchone()
        return self._ok(201, {"@odata.context": f"{self.meta}#applications('{app['object_id']}')/"
                                                "extensionProperties/$entity", **self._ext_json(row, app)})

    def delete_extension(self, req: Request, ext: str, app_oid: str | None = None,
                         app_id: str | None = None) -> Response:
        """https://learn.microsoft.com/graph/api/extensionproperty-delete"""
        app = self._app(app_oid, app_id)
        if self.db.execute("DELETE FROM extension_properties WHERE id=? AND app_object_id=?",
                           (ext.lower(), app["object_id"])).rowcount == 0:
            raise GraphError(404, "Request_ResourceNotFound", f"Resource '{ext}' does not exist or one of its "
                             "queried reference-property objects are not present.")
        return 204, {}, None
