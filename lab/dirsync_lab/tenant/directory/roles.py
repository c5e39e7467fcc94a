"""Directory roles held by users, and what Graph refuses because of them: a user who holds an administrator
role is protected from apps that hold only User.ReadWrite.All, and a password reset needs a role of its own.
Also users synchronized by another engine (Entra Connect), whose on-premises-mastered properties Graph
refuses to change. The admin API sets both up (routes.admin_action)."""

from __future__ import annotations

import json
from typing import Callable

from ..odata import GraphError, bad_request
from .base import DirectoryBase, Request, Response

# Role template ids: https://learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference
DIRECTORY_ROLES = {
    "Global Administrator": "62e90394-69f5-4237-9190-012177145e10",
    "Privileged Authentication Administrator": "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
    "Privileged Role Administrator": "e8611ab8-c189-46e8-94e1-60213ab1f814",
    "User Administrator": "fe930be7-5e62-47db-91af-98c3a49a38b1",
    "Helpdesk Administrator": "729827e3-9c14-49f7-bb1b-9608f156bbb8",
    "Exchange Administrator": "29232cdf-9323-42fd-ade2-1d097af3e4de",
    "Application Administrator": "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
    "Cloud Application Administrator": "158c047a-c907-4556-b7ef-446551a6b5f7",
}
# https://learn.microsoft.com/graph/api/resources/users#who-can-perform-sensitive-actions : the properties
# whose change is a sensitive action (plus delete and restore).
SENSITIVE = {"accountEnabled", "businessPhones", "mobilePhone", "otherMails", "onPremisesImmutableId",
             "passwordProfile", "userPrincipalName"}
# Who may perform sensitive actions on an administrator (same page): these two roles.
ADMIN_GUARDIANS = {DIRECTORY_ROLES["Global Administrator"],
                   DIRECTORY_ROLES["Privileged Authentication Administrator"]}
# https://learn.microsoft.com/graph/api/resources/user (passwordProfile): in app-only access the app also
# needs at least the User Administrator role; Helpdesk Administrator resets non-admin passwords too.
PASSWORD_RESETTERS = ADMIN_GUARDIANS | {DIRECTORY_ROLES["User Administrator"],
                                        DIRECTORY_ROLES["Helpdesk Administrator"]}
# What Entra Connect masters for a synchronized user (the cloud-only ones stay writable): user resource,
# "onPremisesSyncEnabled"; the message is the one Graph answers (microsoft-graph-docs issues 7301, 18038).
ON_PREMISES_MASTERED = {
    "accountEnabled", "city", "companyName", "country", "department", "displayName", "employeeId",
    "employeeType", "faxNumber", "givenName", "jobTitle", "mail", "mailNickname", "mobilePhone",
    "businessPhones", "officeLocation", "onPremisesExtensionAttributes", "onPremisesImmutableId",
    "otherMails", "passwordProfile", "postalCode", "state", "streetAddress", "surname", "userPrincipalName",
}
SYNCED_MESSAGE = ("Unable to update the specified properties for on-premises mastered Directory Sync objects or "
                  "objects currently undergoing migration.")


def denied() -> GraphError:
    # https://learn.microsoft.com/graph/api/user-delete ; https://learn.microsoft.com/graph/resolve-auth-errors
    return GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")


class DirectoryRoles(DirectoryBase):
    _shape: Callable[..., dict]  # query.QueryOptions

    def roles_of(self, user_id: str) -> set[str]:
        rows = self.db.execute("SELECT role_id FROM role_members WHERE user_id=?", (user_id.lower(),))
        return {r["role_id"] for r in rows}

    def assign_role(self, user: str, role: str) -> dict:
        """Admin action: give a user a directory role (by display name or template id)."""
        role_id = DIRECTORY_ROLES.get(role, role)
        if role_id not in DIRECTORY_ROLES.values():
            raise ValueError(f"Unknown directory role {role!r}; known: {', '.join(DIRECTORY_ROLES)}.")
        row = self._row(user, "user")
        self.db.execute("INSERT OR IGNORE INTO role_members VALUES (?, ?)", (role_id, row["id"]))
        return {"userId": row["id"], "roles": sorted(self.roles_of(row["id"]))}

    def mark_synced(self, user: str, enabled: bool = True) -> dict:
        """Admin action: the user is synchronized by Entra Connect (onPremisesSyncEnabled true)."""
        row = self._row(user, "user")
        data = json.loads(row["data"])
        data["onPremisesSyncEnabled"] = True if enabled else None
        self._write(row["id"], "user", data)
        return {"userId": row["id"], "onPremisesSyncEnabled": data["onPremisesSyncEnabled"]}

    def list_member_of(self, req: Request, oid: str) -> Response:
        """https://learn.microsoft.com/graph/api/user-list-memberof : the user's groups and directory roles
        (one page)."""
        user = self._row(oid, "user")
        names = {v: k for k, v in DIRECTORY_ROLES.items()}
        roles = [{"@odata.type": "#microsoft.graph.directoryRole", "id": role_id, "deletedDateTime": None,
                  "description": None, "displayName": names[role_id], "roleTemplateId": role_id}
                 for role_id in sorted(self.roles_of(user["id"]))]
        groups = self.db.execute("SELECT o.* FROM members m JOIN objects o ON o.id=m.group_id "
                                 "WHERE m.member_id=? AND o.state='active'", (user["id"],)).fetchall()
        select = req.query.get("$select")
        value = [self._shape(g, None, typed=True) for g in groups] + roles
        if select:
            keep = {"@odata.type", *(s.strip() for s in select.split(","))}
            value = [{k: v for k, v in item.items() if k in keep} for item in value]
        return self._ok(200, {"@odata.context": f"{self.meta}#directoryObjects", "value": value})

    def _guard_user_write(self, req: Request, row, changed: set[str] | None) -> None:
        """Refuse what Graph refuses to this caller on this user; changed None means delete or restore."""
        data = json.loads(row["data"])
        caller_roles = set(req.caller.get("wids") or [])
        sensitive = changed is None or bool(changed & SENSITIVE)
        if sensitive and self.roles_of(row["id"]) and not caller_roles & ADMIN_GUARDIANS:
            raise denied()
        if changed and "passwordProfile" in changed and not caller_roles & PASSWORD_RESETTERS:
            raise denied()
        if changed and data.get("onPremisesSyncEnabled") and changed & ON_PREMISES_MASTERED:
            raise bad_request(SYNCED_MESSAGE)
