"""App registrations (read) and their directory extension properties."""

from __future__ import annotations

import json
import re
import sqlite3
import uuid

from ..odata import FilterTranslator, GraphError, bad_request, take_type_annotation
from .base import Request, Response
from .query import QueryOptions


class Applications(QueryOptions):
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
        body = take_type_annotation(req.json(), "extensionProperty")
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
