"""The Microsoft Graph application permissions DirSync's app registration needs: one list, the reason for
each, and the calls that need it. Derived from the "Permissions" table of each call's API reference page
(https://learn.microsoft.com/graph/api/...), least privileged first; docs/administrator-guide.md states the
same set and how to grant it."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass

from ..errors import PermissionDeniedError


@dataclass(frozen=True)
class AppPermission:
    name: str
    reason: str
    calls: tuple[str, ...]  # "METHOD path-pattern" (a regex on the path under /v1.0), as DirSync calls them


REQUIRED_APP_PERMISSIONS: tuple[AppPermission, ...] = (
    AppPermission("Organization.Read.All", "read the tenant's verified domains (organization-list)",
                  (r"GET organization",)),
    AppPermission("User.ReadWrite.All", "find, create, update and delete users, set and remove their manager, "
                  "restore deleted users (user-list, user-post-users, user-update, user-delete, "
                  "user-post-manager, user-delete-manager, directory-deleteditems-restore)",
                  (r"GET users.*", r"POST users", r"PATCH users/[^/]+", r"DELETE users/[^/]+",
                   r"PUT users/[^/]+/manager/\$ref", r"DELETE users/[^/]+/manager/\$ref",
                   r"GET directory/deletedItems/microsoft\.graph\.user.*")),
    AppPermission("Group.ReadWrite.All", "find, create, update and delete security groups, add and remove their "
                  "members, restore deleted groups (group-list, group-post-groups, group-update, group-delete, "
                  "group-post-members, group-delete-members, directory-deleteditems-restore)",
                  (r"GET groups.*", r"POST groups", r"PATCH groups/[^/]+", r"DELETE groups/[^/]+",
                   r"POST groups/[^/]+/members/\$ref", r"DELETE groups/[^/]+/members/[^/]+/\$ref",
                   r"GET directory/deletedItems/microsoft\.graph\.group.*")),
    AppPermission("Application.ReadWrite.OwnedBy", "read and register the directory extension properties of "
                  "DirSync's own app (the group anchor, the active-server marker), which the app must own, and "
                  "read and write the marker on it (application-list-extensionproperty, "
                  "application-post-extensionproperty, application-get, application-update)",
                  (r"GET applications.*/extensionProperties", r"POST applications.*/extensionProperties",
                   r"GET applications\(appId='[^']+'\)", r"PATCH applications\(appId='[^']+'\)")),
)

OWNED_BY = "Application.ReadWrite.OwnedBy"


def how_to_grant(names) -> str:
    fix = ("In the Microsoft Entra admin center: App registrations > DirSync's app > API permissions > Add a "
           f"permission > Microsoft Graph > Application permissions, add {', '.join(names)}, then Grant admin "
           "consent for the organization.")
    if OWNED_BY in names:
        fix += (f" {OWNED_BY} also needs the app's service principal as an owner of the app registration "
                "(docs/administrator-guide.md, \"Permissions\").")
    return fix


def token_roles(access_token: str) -> set[str]:
    """The `roles` claim of an app-only access token (read, not verified: Graph verifies it)."""
    try:
        payload = access_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return set()
    roles = claims.get("roles") if isinstance(claims, dict) else None
    return {str(r) for r in roles} if isinstance(roles, list) else set()


def missing_permissions(access_token: str) -> list[str]:
    roles = token_roles(access_token)
    return [p.name for p in REQUIRED_APP_PERMISSIONS if p.name not in roles]


def check_token(access_token: str, client_id: str) -> None:
    """Raises PermissionDeniedError naming every required permission the token lacks."""
    missing = missing_permissions(access_token)
    if missing:
        reasons = {p.name: p.reason.split(" (")[0] for p in REQUIRED_APP_PERMISSIONS}
        each = "; ".join(f"{name}, to {reasons[name]}" for name in missing)
        raise PermissionDeniedError(f"The app {client_id} lacks {len(missing)} of the Microsoft Graph application "
                                    f"permissions DirSync needs: {each}.", fix=how_to_grant(missing),
                                    target=client_id)


def lacks(access_token: str, method: str, path: str) -> bool:
    """Does the token lack what the call needs (any of DirSync's permissions, for a call the list does not
    name)?"""
    permission = permission_for(method, path)
    if permission is None:
        return bool(missing_permissions(access_token))
    return permission.name not in token_roles(access_token)


def permission_for(method: str, path: str) -> AppPermission | None:
    """The required permission a call of DirSync's needs; `path` is relative to /v1.0, query dropped."""
    call = f"{method.upper()} {path.split('?')[0].strip('/')}"
    for permission in REQUIRED_APP_PERMISSIONS:
        if any(re.fullmatch(pattern, call) for pattern in permission.calls):
            return permission
    return None


def denied_error(method: str, path: str, client_id: str) -> PermissionDeniedError:
    """The error for a 403 Authorization_RequestDenied from Graph, naming the permission the call needs."""
    permission = permission_for(method, path)
    # a call the list does not name (a restore: user or group): one of DirSync's permissions is missing
    names = [permission.name] if permission else [p.name for p in REQUIRED_APP_PERMISSIONS]
    return PermissionDeniedError(f"Microsoft Graph refused {method.upper()} {path.split('?')[0]}: the app "
                                 f"{client_id} lacks {' or '.join(names)}.", fix=how_to_grant(names),
                                 target=client_id)
