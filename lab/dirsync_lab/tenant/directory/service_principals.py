"""Service principals (create, find, upsert by appId, delete), the app roles assigned to them
(appRoleAssignedTo / appRoleAssignments) and /me. Microsoft Graph's own service principal is in every
tenant (store._seed_graph) with its app roles and delegated scopes (permissions.GRAPH_APP_ROLES,
GRAPH_SCOPES). Each handler follows the v1.0 page named in its docstring."""

from __future__ import annotations

import json
import sqlite3
import uuid
from typing import Callable

from .. import permissions
from ..odata import FilterTranslator, GraphError, bad_request, take_type_annotation
from .applications import GUID, not_found
from .base import Request, Response
from .query import QueryOptions

MICROSOFT_TENANT = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"  # appOwnerOrganizationId of Microsoft's own apps
SP_WRITABLE = {"appId", "accountEnabled", "tags"}


def _graph_roles() -> list[dict]:
    # Display names and descriptions are the permission names: the tenant does not copy Graph's texts.
    return [{"allowedMemberTypes": ["Application"], "description": f"Microsoft Graph application permission "
             f"{name}.", "displayName": name, "id": role_id, "isEnabled": True, "origin": "Application",
             "value": name} for name, role_id in permissions.GRAPH_APP_ROLES.items()]


def _graph_scopes() -> list[dict]:
    return [{"adminConsentDescription": f"Microsoft Graph delegated permission {name}.",
             "adminConsentDisplayName": name, "id": scope_id, "isEnabled": True, "type": "Admin",
             "userConsentDescription": None, "userConsentDisplayName": None, "value": name}
            for name, scope_id in permissions.GRAPH_SCOPES.items()]


class ServicePrincipals(QueryOptions):
    get_user: Callable[..., Response]           # users.Users
    list_member_of: Callable[..., Response]     # roles.DirectoryRoles

    def _sp_json(self, sp: sqlite3.Row) -> dict:
        data = json.loads(sp["data"])
        graph = sp["app_id"] == permissions.GRAPH_APP_ID
        return {"id": sp["id"], "deletedDateTime": None, "accountEnabled": data.get("accountEnabled", True),
                "appId": sp["app_id"], "appDisplayName": sp["display_name"], "displayName": sp["display_name"],
                "appOwnerOrganizationId": MICROSOFT_TENANT if graph else self.store.tenant_id,
                "servicePrincipalType": "Application", "servicePrincipalNames": [sp["app_id"]],
                "signInAudience": "AzureADMultipleOrgs" if graph else "AzureADMyOrg", "tags": data.get("tags", []),
                "appRoles": _graph_roles() if graph else [],
                "oauth2PermissionScopes": _graph_scopes() if graph else []}

    def _sp(self, sp_oid: str | None = None, sp_app_id: str | None = None) -> sqlite3.Row:
        column, value = ("id", sp_oid) if sp_oid else ("app_id", sp_app_id)
        sp = self.db.execute(f"SELECT * FROM service_principals WHERE {column}=?", ((value or "").lower(),)).fetchone()
        if sp is None:
            raise not_found(value or "")
        return sp

    def _sp_changes(self, body: dict) -> dict:
        take_type_annotation(body, "servicePrincipal")
        for name in body:
            if name not in SP_WRITABLE:
                raise bad_request(f"The property '{name}' does not exist on type 'microsoft.graph.servicePrincipal' "
                                  "or is not served by the local tenant (see docs/local-tenant.md).",
                                  code="BadRequest")
        if "appId" in body and not (isinstance(body["appId"], str) and GUID.match(body["appId"])):
            raise bad_request("Invalid value specified for property 'appId' of resource 'ServicePrincipal'.")
        if "accountEnabled" in body and not isinstance(body["accountEnabled"], bool):
            raise bad_request("Invalid value specified for property 'accountEnabled' of resource 'ServicePrincipal'.")
        if "tags" in body and not (isinstance(body["tags"], list) and all(isinstance(t, str) for t in body["tags"])):
            raise bad_request("Invalid value specified for property 'tags' of resource 'ServicePrincipal'.")
        return body

    def list_service_principals(self, req: Request) -> Response:
        """https://learn.microsoft.com/graph/api/serviceprincipal-list"""
        sql, params = "SELECT * FROM service_principals WHERE 1=1", []
        if "$filter" in req.query:
            names = {"appId": "app_id", "displayName": "lower(display_name)", "id": "id"}

            def column(name: str) -> str:
                if name not in names:
                    raise bad_request(f"Could not find a property named '{name}' on type "
                                      "'microsoft.graph.servicePrincipal'.", code="BadRequest")
                return names[name]
            where, params = FilterTranslator(column, advanced=self._advanced(req)).translate(req.query["$filter"])
            sql += f" AND {where}"
        sps = [self._sp_json(s) for s in self.db.execute(sql + " ORDER BY created, rowid", params)]
        select = self._select(req)
        if select:
            sps = [{k: s.get(k) for k in select} for s in sps]
        return self._ok(200, {"@odata.context": self._context("servicePrincipals", select), "value": sps})

    def get_service_principal(self, req: Request, **address) -> Response:
        """https://learn.microsoft.com/graph/api/serviceprincipal-get"""
        return self._ok(200, {"@odata.context": self._context("servicePrincipals", None, entity=True),
                              **self._sp_json(self._sp(**address))})

    def create_service_principal(self, req: Request) -> Response:
        """https://learn.microsoft.com/graph/api/serviceprincipal-post-serviceprincipals"""
        body = self._sp_changes(req.json())
        return self._create_sp(body.get("appId"), body)

    def _create_sp(self, app_id: str | None, body: dict) -> Response:
        if app_id is None or not GUID.match(app_id):
            raise bad_request("Invalid value specified for property 'appId' of resource 'ServicePrincipal'.")
        app = self.store.app(app_id.lower())
        if app is None:
            raise bad_request(f"The appId '{app_id}' of the service principal does not reference a valid "
                              "application object.")
        if self.store.service_principal(app["app_id"]) is not None:
            raise GraphError(409, "Request_MultipleObjectsWithSameKeyValue", "The service principal cannot be "
                             f"created, updated, or restored because the service principal name {app_id} is "
                             "already in use.")
        sp_id = str(uuid.uuid4())
        self.store.add_service_principal(sp_id, app["app_id"], app["display_name"], ready=self.store.ready_at())
        self._update_sp_data(sp_id, body)
        return self._ok(201, {"@odata.context": self._context("servicePrincipals", None, entity=True),
                              **self._sp_json(self._sp(sp_id))})

    def _update_sp_data(self, sp_id: str, body: dict) -> None:
        sp = self._sp(sp_id)
        data = {**json.loads(sp["data"]), **{k: v for k, v in body.items() if k in ("accountEnabled", "tags")}}
        self.db.execute("UPDATE service_principals SET data=? WHERE id=?", (json.dumps(data), sp_id))

    def update_service_principal(self, req: Request, **address) -> Response:
        """https://learn.microsoft.com/graph/api/serviceprincipal-update ; by appId with
        `Prefer: create-if-missing`: https://learn.microsoft.com/graph/api/serviceprincipal-upsert"""
        body = self._sp_changes(req.json())
        app_id = address.get("sp_app_id")
        if app_id is not None:
            if "appId" in body and body["appId"].lower() != app_id.lower():
                raise bad_request("appId is the address of this request and cannot be changed.")
            if (self.store.service_principal(app_id.lower()) is None
                    and "create-if-missing" in req.headers.get("prefer", "").lower()):
                return self._create_sp(app_id, body)
        sp = self._sp(**address)
        if "appId" in body and body["appId"].lower() != sp["app_id"]:
            raise bad_request("Property 'appId' is read-only and cannot be changed.")
        self._update_sp_data(sp["id"], body)
        return 204, {}, None

    def delete_service_principal(self, req: Request, **address) -> Response:
        """https://learn.microsoft.com/graph/api/serviceprincipal-delete (for good: no deletedItems here)."""
        sp = self._sp(**address)
        if sp["app_id"] == permissions.GRAPH_APP_ID:
            # Deleting it would leave the tenant without Graph's permissions; a lab refusal, documented.
            raise bad_request("The local tenant does not delete Microsoft Graph's service principal.")
        self._delete_sp(sp["id"])
        return 204, {}, None

    def _delete_sp(self, sp_id: str) -> None:
        self.db.execute("DELETE FROM app_role_assignments WHERE principal_id=? OR resource_id=?", (sp_id, sp_id))
        self.db.execute("DELETE FROM app_owners WHERE owner_id=?", (sp_id,))
        self.db.execute("DELETE FROM service_principals WHERE id=?", (sp_id,))

    # --- app role assignments ----------------------------------------------------------------------------
    def _assignment_json(self, row: sqlite3.Row) -> dict:
        names = {r["id"]: r["display_name"] for r in self.db.execute(
            "SELECT id, display_name FROM service_principals WHERE id IN (?, ?)",
            (row["principal_id"], row["resource_id"]))}
        return {"id": row["id"], "deletedDateTime": None, "appRoleId": row["app_role_id"],
                "createdDateTime": row["created"], "principalDisplayName": names.get(row["principal_id"]),
                "principalId": row["principal_id"], "principalType": "ServicePrincipal",
                "resourceDisplayName": names.get(row["resource_id"]), "resourceId": row["resource_id"]}

    def _assignments(self, column: str, sp_id: str) -> list[dict]:
        rows = self.db.execute(f"SELECT * FROM app_role_assignments WHERE {column}=? ORDER BY created", (sp_id,))
        return [self._assignment_json(r) for r in rows]

    def list_assigned_to(self, req: Request, **address) -> Response:
        """https://learn.microsoft.com/graph/api/serviceprincipal-list-approleassignedto"""
        sp = self._sp(**address)
        return self._ok(200, {"@odata.context": f"{self.meta}#servicePrincipals('{sp['id']}')/appRoleAssignedTo",
                              "value": self._assignments("resource_id", sp["id"])})

    def list_assignments(self, req: Request, **address) -> Response:
        """https://learn.microsoft.com/graph/api/serviceprincipal-list-approleassignments"""
        sp = self._sp(**address)
        return self._ok(200, {"@odata.context": f"{self.meta}#servicePrincipals('{sp['id']}')/appRoleAssignments",
                              "value": self._assignments("principal_id", sp["id"])})

    def assign_app_role(self, req: Request, **address) -> Response:
        """https://learn.microsoft.com/graph/api/serviceprincipal-post-approleassignedto"""
        resource = self._sp(**address)
        body = take_type_annotation(req.json(), "appRoleAssignment")
        if set(body) - {"principalId", "resourceId", "appRoleId"}:
            raise bad_request("An appRoleAssignment takes principalId, resourceId and appRoleId.")
        for prop in ("principalId", "resourceId", "appRoleId"):
            if not (isinstance(body.get(prop), str) and GUID.match(body[prop])):
                raise bad_request(f"Invalid value specified for property '{prop}' of resource 'AppRoleAssignment'.")
        if body["resourceId"].lower() != resource["id"]:
            raise bad_request("resourceId must be the id of the service principal in the request's address.")
        principal = self.db.execute("SELECT * FROM service_principals WHERE id=?",
                                    (body["principalId"].lower(),)).fetchone()
        if principal is None:  # users and groups are not assigned app roles in the local tenant
            raise not_found(body["principalId"])
        roles = {r["id"] for r in self._sp_json(resource)["appRoles"]}
        if body["appRoleId"].lower() not in roles:
            raise bad_request(f"Permission being assigned was not found on application '{resource['app_id']}'.")
        try:
            assignment_id = self.store.add_assignment(principal["id"], resource["id"], body["appRoleId"].lower(),
                                                      ready=self.store.ready_at())
        except sqlite3.IntegrityError:
            raise bad_request("Permission being assigned already exists on the object.") from None
        row = self.db.execute("SELECT * FROM app_role_assignments WHERE id=?", (assignment_id,)).fetchone()
        return self._ok(201, {"@odata.context": f"{self.meta}#servicePrincipals('{resource['id']}')/"
                                                "appRoleAssignedTo/$entity", **self._assignment_json(row)})

    def remove_app_role(self, req: Request, assignment: str, **address) -> Response:
        """https://learn.microsoft.com/graph/api/serviceprincipal-delete-approleassignedto"""
        resource = self._sp(**address)
        if self.db.execute("DELETE FROM app_role_assignments WHERE id=? AND resource_id=?",
                           (assignment, resource["id"])).rowcount == 0:
            raise not_found(assignment)
        return 204, {}, None

    # --- the signed-in user ----------------------------------------------------------------------------
    def get_me(self, req: Request) -> Response:
        """https://learn.microsoft.com/graph/api/user-get (GET /me: the token's user)"""
        return self.get_user(req, str(req.caller.get("oid", "")))

    def list_my_member_of(self, req: Request) -> Response:
        """https://learn.microsoft.com/graph/api/user-list-memberof (GET /me/memberOf)"""
        return self.list_member_of(req, str(req.caller.get("oid", "")))
