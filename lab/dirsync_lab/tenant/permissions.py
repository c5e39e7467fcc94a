"""Microsoft Graph's permissions, as the local tenant enforces them.

The tenant's Microsoft Graph service principal (appId 00000003-0000-0000-c000-000000000000) publishes its
app roles by name (GRAPH_APP_ROLES, with Graph's ids: https://learn.microsoft.com/graph/permissions-reference).
An app's client-credentials token carries in `roles` exactly the app roles assigned to its service
principal (the lab's register_app grants them, as "grant admin consent" does in the Entra admin center;
Graph's appRoleAssignedTo does too, counted once replicated).

TABLE lists, for every call the tenant serves, the permissions the call's API reference page accepts
("least privileged" and "higher privileged", application column); docs/local-tenant.md repeats it with
the links. A call whose token holds none of them is answered 403 Authorization_RequestDenied, as Graph
does (https://learn.microsoft.com/graph/errors); each $batch part is checked on its own.
Application.ReadWrite.OwnedBy counts only on an application whose owners include the caller.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .directory.roles import DIRECTORY_ROLES
from .odata import GraphError, bad_request

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
# Graph's application permissions (its service principal's appRoles): value -> id.
GRAPH_APP_ROLES = {
    "Application.Read.All": "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
    "Application.ReadWrite.All": "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
    "Application.ReadWrite.OwnedBy": "18a4783c-866b-4cc7-a460-3d5e5662c884",
    "AppRoleAssignment.ReadWrite.All": "06b708a9-e830-4db3-a914-8e69da51d44f",
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
GRAPH_ROLE_NAMES = {role_id: name for name, role_id in GRAPH_APP_ROLES.items()}
# Graph's delegated permissions used here (its oauth2PermissionScopes), with Graph's ids.
GRAPH_SCOPES = {
    "Application.Read.All": "c79f8feb-a9db-4090-85f9-90d820caa0eb",
    "Application.ReadWrite.All": "bdfbf15f-ee85-4955-8675-146e8e5296b5",
    "AppRoleAssignment.ReadWrite.All": "84bccea3-f856-4a8a-967b-dbe0a3d53a64",
    "Directory.Read.All": "06da0dbc-49e2-44d2-8312-53f166ab848a",
    "Directory.ReadWrite.All": "c5366453-9fb0-48a5-a156-24f0c49a4b84",
    "Organization.Read.All": "4908d5b9-3fb2-4b1e-9336-1888b7937185",
    "User.Read": "e1fe6dd8-ba31-4d61-89e7-88639da4683d",
    "User.Read.All": "a154be20-db9c-4678-8ab7-66f6cc099a59",
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
    """A call (method + path pattern under /v1.0) and the permissions that allow it. An entry of `accepted`
    (application permissions) or `delegated` (None: the same names) is a permission or a tuple of
    permissions that must all be held (the pages' "A and B"); an entry holding Application.ReadWrite.OwnedBy
    counts only on an application the caller owns. `by_kind` is for deletedItems calls, whose page lists
    permissions per resource type (the object's kind decides).

    The signed-in user of a delegated call must also be allowed (the pages' "supported roles"): `members`,
    any member user (Entra's default user permissions); `roles`, a user holding one of these role template
    ids, or with `owner` an owner of the application addressed (`creates`: or anyone when it does not exist
    yet); None, any directory role (calls whose page the tenant reads that way). `self_service`: an app may
    call it on its own registration without any permission (addKey/removeKey). `delegated_only`: /me.
    `body_app`: the application is named by the appId in the body (POST /servicePrincipals)."""

    method: str
    pattern: str
    accepted: tuple
    page: str
    by_kind: dict | None = None
    delegated: tuple | None = None
    roles: tuple | None = None
    members: bool = False
    owner: bool = False
    creates: bool = False
    self_service: bool = False
    delegated_only: bool = False
    body_app: bool = False


_ID = r"[^/()]+"
_APP = (r"applications(?:/(?P<app_oid>[0-9a-fA-F-]{36})|\(appId='(?P<app_id>[^']+)'\)"
        r"|\(uniqueName='(?P<unique_name>[^']+)'\))")
_SP = r"servicePrincipals(?:/(?P<sp_oid>[0-9a-fA-F-]{36})|\(appId='(?P<sp_app_id>[^']+)'\))"
GLOBAL_ADMIN = DIRECTORY_ROLES["Global Administrator"]
PRIVILEGED_ROLE_ADMIN = DIRECTORY_ROLES["Privileged Role Administrator"]
APP_ADMINS = (GLOBAL_ADMIN, DIRECTORY_ROLES["Application Administrator"],
              DIRECTORY_ROLES["Cloud Application Administrator"])
APP_WRITE = (OWNED_BY, "Application.ReadWrite.All")
KEY_WRITE = APP_WRITE + ("Directory.ReadWrite.All",)
SP_READ = ("Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All")
# Granting app roles: https://learn.microsoft.com/graph/api/serviceprincipal-post-approleassignedto ; the user
# must hold Privileged Role Administrator to grant Microsoft Graph's
# (https://learn.microsoft.com/graph/permissions-grant-via-msgraph) - the tenant asks it for every resource.
GRANT = (("AppRoleAssignment.ReadWrite.All", "Application.Read.All"),
         ("AppRoleAssignment.ReadWrite.All", "Directory.Read.All"))
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
    Rule("GET", r"applications", APP_READ, "application-list", members=True),
    Rule("POST", r"applications", APP_WRITE, "application-post-applications", delegated=("Application.ReadWrite.All",),
         members=True, creates=True),
    Rule("GET", _APP, APP_READ + ("Directory.ReadWrite.All",), "application-get", members=True),
    Rule("PATCH", _APP, APP_WRITE, "application-update", delegated=("Application.ReadWrite.All",),
         roles=APP_ADMINS, owner=True, creates=True),  # by uniqueName with Prefer: application-upsert
    Rule("DELETE", _APP, APP_WRITE, "application-delete", delegated=("Application.ReadWrite.All",),
         roles=APP_ADMINS, owner=True),
    Rule("POST", _APP + r"/addKey", KEY_WRITE, "application-addkey", roles=APP_ADMINS, owner=True,
         delegated=("Application.ReadWrite.All", "Directory.ReadWrite.All"), self_service=True),
    Rule("POST", _APP + r"/removeKey", KEY_WRITE, "application-removekey", roles=APP_ADMINS, owner=True,
         delegated=("Application.ReadWrite.All", "Directory.ReadWrite.All"), self_service=True),
    Rule("GET", _APP + r"/owners", APP_READ + ("Directory.ReadWrite.All",), "application-list-owners",
         members=True),
    Rule("POST", _APP + r"/owners/\$ref", ((OWNED_BY, "Directory.Read.All"),
                                           ("Application.ReadWrite.All", "Directory.Read.All"),
                                           "Directory.ReadWrite.All"), "application-post-owners",
         delegated=(("Application.ReadWrite.All", "Directory.Read.All"), "Directory.ReadWrite.All"),
         roles=APP_ADMINS, owner=True),
    Rule("DELETE", _APP + r"/owners/[^/]+/\$ref", ((OWNED_BY, "Directory.Read.All"),
                                                   ("Application.ReadWrite.All", "Directory.Read.All"),
                                                   "Directory.ReadWrite.All"), "application-delete-owners",
         delegated=(("Application.ReadWrite.All", "Directory.Read.All"), "Directory.ReadWrite.All"),
         roles=APP_ADMINS, owner=True),
    Rule("GET", _APP + r"/extensionProperties", APP_READ, "application-list-extensionproperty"),
    Rule("POST", _APP + r"/extensionProperties", EXT_WRITE, "application-post-extensionproperty"),
    Rule("DELETE", _APP + r"/extensionProperties/[^/]+", EXT_WRITE, "extensionproperty-delete"),
    Rule("GET", r"servicePrincipals", SP_READ, "serviceprincipal-list", members=True),
    # OwnedBy on service principals is read as on applications: the caller must own the app (its appId).
    Rule("POST", r"servicePrincipals", APP_WRITE + ("Directory.ReadWrite.All",),
         "serviceprincipal-post-serviceprincipals",
         delegated=("Application.ReadWrite.All", "Directory.ReadWrite.All"), roles=APP_ADMINS, owner=True,
         body_app=True),
    Rule("GET", _SP, SP_READ, "serviceprincipal-get", members=True),
    Rule("PATCH", _SP, APP_WRITE + ("Directory.ReadWrite.All",), "serviceprincipal-update",
         delegated=("Application.ReadWrite.All", "Directory.ReadWrite.All"), roles=APP_ADMINS, owner=True,
         creates=True),  # by appId with Prefer: serviceprincipal-upsert
    Rule("DELETE", _SP, ("Application.ReadWrite.OwnedBy", "Application.ReadWrite.All"), "serviceprincipal-delete",
         delegated=("Application.ReadWrite.All", "Directory.ReadWrite.All"), roles=APP_ADMINS, owner=True),
    Rule("GET", _SP + r"/appRoleAssignedTo", SP_READ, "serviceprincipal-list-approleassignedto", members=True),
    Rule("POST", _SP + r"/appRoleAssignedTo", GRANT, "serviceprincipal-post-approleassignedto",
         roles=(GLOBAL_ADMIN, PRIVILEGED_ROLE_ADMIN)),
    Rule("DELETE", _SP + r"/appRoleAssignedTo/[^/]+", GRANT, "serviceprincipal-delete-approleassignedto",
         roles=(GLOBAL_ADMIN, PRIVILEGED_ROLE_ADMIN)),
    Rule("GET", _SP + r"/appRoleAssignments", SP_READ, "serviceprincipal-list-approleassignments", members=True),
    Rule("GET", r"me", (), "user-get", delegated=("User.Read", "User.ReadWrite", "User.Read.All",
                                                  "Directory.Read.All"), members=True, delegated_only=True),
    Rule("GET", r"me/memberOf", (), "user-list-memberof", delegated=("User.Read", "Directory.Read.All"),
         members=True, delegated_only=True),
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


def names_in(alternatives) -> set[str]:
    """Every permission an accepted list names, conjunctions included."""
    return {n for entry in alternatives for n in ((entry,) if isinstance(entry, str) else entry)}


def _holds(held: set[str], alternatives, owns) -> bool:
    """Whether the permissions held satisfy one of the alternatives (an entry is a name or a conjunction)."""
    for entry in alternatives:
        names = (entry,) if isinstance(entry, str) else entry
        if all(n in held for n in names) and (OWNED_BY not in names or owns()):
            return True
    return False


def _target_app(db, groups: dict, body: bytes, body_app: bool = False):
    """The application a call addresses (by its own path, its service principal's, or the appId in the body
    of POST /servicePrincipals), or None."""
    for group, column in (("app_oid", "object_id"), ("app_id", "app_id"), ("unique_name", "unique_name")):
        if groups.get(group):
            return db.execute(f"SELECT * FROM apps WHERE {column}=?", (groups[group].lower(),)).fetchone()
    app_id = groups.get("sp_app_id")
    if groups.get("sp_oid"):
        sp = db.execute("SELECT app_id FROM service_principals WHERE id=?", (groups["sp_oid"].lower(),)).fetchone()
        app_id = sp["app_id"] if sp else None
    elif body_app:
        try:
            app_id = json.loads(body).get("appId")
        except (ValueError, AttributeError):
            return None  # the handler answers the bad body
    return db.execute("SELECT * FROM apps WHERE app_id=?", (str(app_id).lower(),)).fetchone() if app_id else None


def owns(db, app_object_id: str, owner_id: str) -> bool:
    return db.execute("SELECT 1 FROM app_owners WHERE app_object_id=? AND owner_id=?",
                      (app_object_id, owner_id.lower())).fetchone() is not None


def caller_sp_id(db, claims: dict) -> str:
    sp = db.execute("SELECT id FROM service_principals WHERE app_id=?",
                    (str(claims.get("appid", "")).lower(),)).fetchone()
    return sp["id"] if sp else ""


def check(db, method: str, path: str, claims: dict, *, served: bool = False, body: bytes = b"") -> None:
    """Raises 403 unless the token allows the call: an app's `roles`, or a delegated token's `scp` and its
    user (`wids`, ownership) as the rule says."""
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
    groups = {k: v for k, v in match.groupdict().items() if v is not None}
    if claims.get("idtyp") == "user":
        held = set(str(claims.get("scp", "")).split())
        if not _holds(held, rule.delegated if rule.delegated is not None else accepted, lambda: False):
            raise denied()
        if not _user_allowed(db, rule, claims, groups, body):
            raise denied()
        return
    if rule.delegated_only:
        raise bad_request("/me request is only valid with delegated authentication flow.", code="BadRequest")
    target = (_target_app(db, groups, body, rule.body_app) if OWNED_BY in names_in(accepted) or rule.self_service
              else None)
    if rule.self_service and target is not None and target["app_id"] == str(claims.get("appid", "")).lower():
        return  # "An application does not need any specific permission to roll its own keys."
    held = set(claims.get("roles") or [])
    # OwnedBy: the caller's service principal owns the app, or there is none yet (creating one).
    if _holds(held, accepted, lambda: (target is None and rule.creates) or (
            target is not None and owns(db, target["object_id"], caller_sp_id(db, claims)))):
        return
    raise denied()


def _user_allowed(db, rule: Rule, claims: dict, groups: dict, body: bytes) -> bool:
    wids = set(claims.get("wids") or [])
    if rule.members:
        return True
    if rule.roles is None:
        return bool(wids)
    if wids & set(rule.roles):
        return True
    if not rule.owner:
        return False
    target = _target_app(db, groups, body, rule.body_app)
    if target is None:
        return rule.creates
    return owns(db, target["object_id"], str(claims.get("oid", "")))
