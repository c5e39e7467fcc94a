"""Microsoft Graph v1.0 directory resources of the local tenant: organization, users, security groups,
membership and manager references, deleted items, users delta, applications (keys, owners, directory
extension properties), service principals and their app-role assignments, /me. Each handler follows the
API reference page named in its docstring; docs/local-tenant.md lists them with what is deliberately left
out.

Handlers take a Request and return (status, headers, body) or raise GraphError; routes.py turns errors
into Graph's error body and runs the same handlers for each part of a $batch. Directory puts together the
resources (users.py, groups.py, deleted.py, applications.py, service_principals.py), which build on the
query options (query.py) and what they share (base.py), and routes each request to its handler.
"""

from __future__ import annotations

import re

from ..odata import GraphError, bad_request
from ..store import Store
from .applications import Applications
from .base import Request, Response
from .deleted import DeletedItems
from .groups import Groups
from .service_principals import ServicePrincipals
from .users import Users

__all__ = ["Directory", "Request", "Response"]


class Directory(Users, Groups, DeletedItems, Applications, ServicePrincipals):
    def __init__(self, store: Store, base_url: str):
        self.store = store
        self.db = store.db
        self.base = base_url.rstrip("/")
        self.meta = f"{self.base}/v1.0/$metadata"
        self.lag = lambda: 0.0
        self._unseen = {}
        m = r"(?P<oid>[^/()]+)"
        app = (r"applications(?:/(?P<app_oid>[0-9a-fA-F-]{36})|\(appId='(?P<app_id>[^']+)'\)"
               r"|\(uniqueName='(?P<unique_name>[^']+)'\))")
        sp = r"servicePrincipals(?:/(?P<sp_oid>[0-9a-fA-F-]{36})|\(appId='(?P<sp_app_id>[^']+)'\))"
        self.routes = [
            (r"organization", {"GET": self.get_organization}),
            (r"users", {"GET": self.list_users, "POST": self.create_user}),
            (r"users/delta(?:\(\))?", {"GET": self.users_delta}),
            (r"users/\$count", {"GET": self.count_users}),
            (rf"users/{m}", {"GET": self.get_user, "PATCH": self.update_user, "DELETE": self.delete_user}),
            (rf"users/{m}/manager", {"GET": self.get_manager}),
            (rf"users/{m}/memberOf", {"GET": self.list_member_of}),
            (rf"users/{m}/manager/\$ref", {"PUT": self.set_manager, "DELETE": self.remove_manager}),
            (r"groups", {"GET": self.list_groups, "POST": self.create_group}),
            (rf"groups/{m}", {"GET": self.get_group, "PATCH": self.update_group, "DELETE": self.delete_group}),
            (rf"groups/{m}/members", {"GET": self.list_members}),
            (rf"groups/{m}/members/\$ref", {"POST": self.add_member}),
            (rf"groups/{m}/members/(?P<member>[^/]+)/\$ref", {"DELETE": self.remove_member}),
            (r"directory/deletedItems/microsoft\.graph\.(?P<kind>user|group)", {"GET": self.list_deleted}),
            (rf"directory/deletedItems/{m}", {"GET": self.get_deleted, "DELETE": self.purge_deleted}),
            (rf"directory/deletedItems/{m}/(?:microsoft\.graph\.)?restore", {"POST": self.restore_deleted}),
            (r"applications", {"GET": self.list_applications, "POST": self.create_application}),
            (app, {"GET": self.get_application, "PATCH": self.update_application,
                   "DELETE": self.delete_application}),
            (app + r"/addKey", {"POST": self.add_key}),
            (app + r"/removeKey", {"POST": self.remove_key}),
            (app + r"/owners", {"GET": self.list_owners}),
            (app + r"/owners/\$ref", {"POST": self.add_owner}),
            (app + r"/owners/(?P<owner>[^/]+)/\$ref", {"DELETE": self.remove_owner}),
            (app + r"/extensionProperties", {"GET": self.list_extensions, "POST": self.create_extension}),
            (app + r"/extensionProperties/(?P<ext>[^/]+)", {"DELETE": self.delete_extension}),
            (r"servicePrincipals", {"GET": self.list_service_principals, "POST": self.create_service_principal}),
            (sp, {"GET": self.get_service_principal, "PATCH": self.update_service_principal,
                  "DELETE": self.delete_service_principal}),
            (sp + r"/appRoleAssignedTo", {"GET": self.list_assigned_to, "POST": self.assign_app_role}),
            (sp + r"/appRoleAssignedTo/(?P<assignment>[^/]+)", {"DELETE": self.remove_app_role}),
            (sp + r"/appRoleAssignments", {"GET": self.list_assignments}),
            (r"me", {"GET": self.get_me}),
            (r"me/memberOf", {"GET": self.list_my_member_of}),
        ]
        self.routes = [(re.compile(p + r"/?$"), h) for p, h in self.routes]

    # --- dispatch --------------------------------------------------------------------------------------
    def serves(self, method: str, path: str) -> bool:
        return any(method in handlers for pattern, handlers in self.routes if pattern.match(path))

    def handle(self, req: Request) -> Response:
        for pattern, handlers in self.routes:
            match = pattern.match(req.path)
            if match:
                handler = handlers.get(req.method)
                if handler is None:
                    raise GraphError(405, "Request_BadRequest",
                                     "Specified HTTP method is not allowed for the request target.")
                with self.store.lock:
                    self.purge_expired()
                    return handler(req, **{k: v for k, v in match.groupdict().items() if v is not None})
        segment = req.path.split("/")[0] or req.path
        raise bad_request(f"Resource not found for the segment '{segment}'.", code="BadRequest")

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
