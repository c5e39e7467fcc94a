"""Microsoft Graph's permissions, as the local tenant enforces them.

The tenant's Microsoft Graph service principal (appId 00000003-0000-0000-c000-000000000000) publishes its
app roles by name (GRAPH_APP_ROLES, with Graph's ids: https://learn.microsoft.com/graph/permissions-reference).
An app's client-credentials token carries in `roles` exactly the app roles assigned to its service
principal (the lab's register_app grants them, as "grant admin consent" does in the Entra admin center).

TABLE lists, for every call the tenant serves, the permissions the call's API reference page accepts
("least privileged" and "higher privileged", application column); docs/local-tenant.md repeats it with
the links. A call whose token holds none of them is answered 403 Authorization_RequestDenied, as Graph
does (https://learn.microsoft.com/graph/errors); each $batch part is checked on its own.
Application.ReadWrite.OwnedBy counts only on an application whose owners include the caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .odata import GraphError

GRAPH_APP_ROLES = {
    "Application.Read.All": "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
    "Application.ReadWrite.All": "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
    "Application.ReadWrite.OwnedBy": "18a4783c-866b-4cc7-a460-3d5e5662c884",
    "Directory.Read.All": "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
    "Directory.ReadWrite.All": "19dbc75e-c2e2-444c-a770-ec69d8559fc7",
    "Group.Create": "bf7b1a76-6e77-406b-b258-bf5c7720e98f",
    "Group.Read.All": "5b567255-7703-4780-807c-7be8301ae99b",
    "Group.ReadWrite.All": "62a82d76-70ea-41e2-9197-370581804d09",
    "GroupMember.Read.All": "98830695-27a2-44f7-8c18-0c3ebc9698f6",
    "GroupMember.ReadWrite.All": "dbaae8cf-10b5-4b86-a4a1-f871c94c6695",
    "Organization.Read.All": "498476ce-e0fe-48b0-b801-37ba7e2685c6",
    "Organization.ReadWrite.All": "292d869f-3427-49a8-9dab-8c70152b74e9",
    "User.DeleteRestore.All": "eccc023d-eccf-4e7b-9683-8813ab36cecc",
    "User.Read.All": "df021288-bdef-4463-88db-98f22de89214",
    "User.ReadWrite.All": "741f803b-c850-494e-b5df-cde7c675a1ca",
}
OWNED_BY = "Application.ReadWrite.OwnedBy"
DOCS = "https://learn.microsoft.com/graph/api/"

USER_READ = ("User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All")
USER_WRITE = ("User.ReadWrite.All", "Directory.ReadWrite.All")
GROUP_READ = ("GroupMember.Read.All", "Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All",
              "Directory.ReadWrite.All")
APP_READ = ("Application.Read.All", OWNED_BY, "Application.ReadWrite.All", "Directory.Read.All")
EXT_WRITE = (OWNED_BY, "Application.ReadWrite.All", "Directory.ReadWrite.All")


@dataclass(frozen=True)
class Rule:
    """A call (method + path pattern under /v1.0) and the permissions that allow it. `by_kind` is for
    deletedItems calls, whose page lists permissions per resource type (the object's kind decides)."""

    method: str
    pattern: str
    accepted: tuple[str, ...]
    page: str
    by_kind: dict | None = None


_ID = r"[^/()]+"
_APP = r"applications(?:/(?P<app_oid>[0-9a-fA-F-]{36})|\(appId='(?P<app_id>[^']+)'\))"
TABLE = [
    Rule("GET", r"organization", ("Organization.Read.All", "Organization.ReadWrite.All", "Directory.Read.All",
                                  "Directory.ReadWrite.All"), "organization-list"),
    Rule("GET", r"users", USER_READ, "user-list"),
    Rule("GET", r"users/\$count", USER_READ, "user-list"),
    Rule("GET", r"users/delta(?:\(\))?", USER_READ, "user-delta"),
    Rule("POST", r"users", USER_WRITE, "user-post-users"),
    Rule("GET", rf"users/{_ID}", USER_READ, "user-get"),
    Rule("PATCH", rf"users/{_ID}", ("User.ReadUpdate.All",) + USER_WRITE, "user-update"),
    Rule("DELETE", rf"users/{_ID}", ("User.ReadWrite.All",), "user-delete"),
    Rule("GET", rf"users/{_ID}/manager", USER_READ, "user-list-manager"),
    Rule("PUT", rf"users/{_ID}/manager/\$ref", USER_WRITE, "user-post-manager"),
    Rule("DELETE", rf"users/{_ID}/manager/\$ref", USER_WRITE, "user-delete-manager"),
    # Another user's direct memberships, app-only: Directory.Read.All at least (the page's second table).
    Rule("GET", rf"users/{_ID}/memberOf", ("Directory.Read.All", "Directory.ReadWrite.All"), "user-list-memberof"),
    Rule("GET", r"groups", GROUP_READ, "group-list"),
    Rule("POST", r"groups", ("Group.Create", "Group.ReadWrite.All", "Directory.ReadWrite.All"), "group-post-groups"),
    Rule("GET", rf"groups/{_ID}", GROUP_READ, "group-get"),
    Rule("PATCH", rf"groups/{_ID}", ("Group.ReadWrite.All", "Directory.ReadWrite.All"), "group-update"),
    Rule("DELETE", rf"groups/{_ID}", ("Group.ReadWrite.All",), "group-delete"),
    Rule("GET", rf"groups/{_ID}/members", ("GroupMember.Read.All", "Group.Read.All", "Group.ReadWrite.All",
                                           "GroupMember.ReadWrite.All", "Directory.Read.All"), "group-list-members"),
    Rule("POST", rf"groups/{_ID}/members/\$ref",
         ("GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All"), "group-post-members"),
    Rule("DELETE", rf"groups/{_ID}/members/[^/]+/\$ref",
         ("GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All"), "group-delete-members"),
    # deletedItems pages name one permission per resource type and no higher privileged ones: only that one.
    Rule("GET", r"directory/deletedItems/microsoft\.graph\.user", USER_READ, "directory-deleteditems-list"),
    Rule("GET", r"directory/deletedItems/microsoft\.graph\.group", ("Group.Read.All", "Group.ReadWrite.All",
                                                                    "Directory.Read.All", "Directory.ReadWrite.All"),
         "directory-deleteditems-list"),
    Rule("GET", rf"directory/deletedItems/(?P<oid>{_ID})", (), "directory-deleteditems-get",
         by_kind={"user": ("User.Read.All",), "group": ("Group.Read.All",)}),
    Rule("DELETE", rf"directory/deletedItems/(?P<oid>{_ID})", (), "directory-deleteditems-delete",
         by_kind={"user": ("User.DeleteRestore.All",), "group": ()}),  # group, app-only: "Not supported."
    Rule("POST", rf"directory/deletedItems/(?P<oid>{_ID})/(?:microsoft\.graph\.)?restore", (),
         "directory-deleteditems-restore",
         by_kind={"user": ("User.DeleteRestore.All", "User.ReadWrite.All"), "group": ("Group.ReadWrite.All",)}),
    Rule("GET", r"applications", APP_READ, "application-list"),
    Rule("GET", _APP, APP_READ + ("Directory.ReadWrite.All",), "application-get"),
    Rule("GET", _APP + r"/extensionProperties", APP_READ, "application-list-extensionproperty"),
    Rule("POST", _APP + r"/extensionProperties", EXT_WRITE, "application-post-extensionproperty"),
    Rule("DELETE", _APP + r"/extensionProperties/[^/]+", EXT_WRITE, "extensionproperty-delete"),
]
_COMPILED = [(re.compile(rule.pattern + r"/?$"), rule) for rule in TABLE]


def denied() -> GraphError:
    return GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")


def rule_for(method: str, path: str):
    """(rule, match) of a call, or (None, None) when the tenant serves no such call."""
    for pattern, rule in _COMPILED:
        match = pattern.match(path)
        if match and rule.method == method:
            return rule, match
    return None, None


def check(db, method: str, path: str, claims: dict, *, served: bool = False) -> None:
    """Raises 403 unless the token allows the call. Delegated tokens (`scp`) are checked against the same
    names; the signed-in user must also hold a directory role (wids), as delegated access is limited to what
    the user may do."""
    rule, match = rule_for(method, path)
    if rule is None:
        if served:  # a call without its row would be open to any token: kinder than Graph
            raise GraphError(500, "InternalServerError", f"The local tenant serves {method} {path} but has no "
                             "permission row for it: add the call's documented permissions to TABLE.")
        return  # not a call the tenant serves: the directory answers 400/405 as Graph does
    accepted = rule.accepted
    if rule.by_kind is not None:
        row = db.execute("SELECT kind FROM objects WHERE id=?", (match.group("oid").lower(),)).fetchone()
        if row is None:
            return  # 404 from the handler: nothing is disclosed about a missing object
        accepted = rule.by_kind[row["kind"]]
    if claims.get("idtyp") == "user":
        held = set(str(claims.get("scp", "")).split())
        if not claims.get("wids"):
            raise denied()
    else:
        held = set(claims.get("roles") or [])
    if held & (set(accepted) - {OWNED_BY}):
        return
    if OWNED_BY in accepted and OWNED_BY in held:
        groups = match.groupdict()
        column, value = ("object_id", groups["app_oid"]) if groups.get("app_oid") else ("app_id", groups.get("app_id"))
        if value is not None and db.execute(
                f"SELECT 1 FROM apps JOIN app_owners ON app_owners.app_object_id = apps.object_id "
                f"WHERE apps.{column}=? AND app_owners.owner_app_id=?",
                (value.lower(), str(claims.get("appid", "")).lower())).fetchone():
            return
    raise denied()
