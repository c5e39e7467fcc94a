"""App registrations: create, find, update (and upsert by uniqueName), delete, their certificates
(keyCredentials, addKey/removeKey with proof of possession), owners, and their directory extension
properties. Each handler follows the v1.0 page named in its docstring; docs/local-tenant.md lists the
departures (hard delete, the properties served)."""

from __future__ import annotations

import base64
import binascii
import json
import re
import sqlite3
import time
import uuid
from datetime import datetime, timezone
from typing import Callable

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from .. import jws
from .. import permissions
from ..odata import FilterTranslator, GraphError, bad_request, take_type_annotation
from ..store import CLI_TOOLS_APP_ID, cert_validity
from .base import Request, Response, _extension_value_ok, _has_control
from .query import QueryOptions

# https://learn.microsoft.com/graph/api/resources/application#properties : the ones the tenant serves
APP_WRITABLE = {"displayName", "uniqueName", "signInAudience", "requiredResourceAccess", "keyCredentials"}
APP_READONLY = {"id", "appId", "createdDateTime", "deletedDateTime", "publisherDomain", "passwordCredentials",
                "isFallbackPublicClient"}
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# https://learn.microsoft.com/graph/api/application-addkey : the proof's audience, and nbf..exp at most 10 min
PROOF_AUDIENCE = "00000002-0000-0000-c000-000000000000"
PROOF_MAX_SECONDS = 600
OWNER_REF = re.compile(r"^(?P<base>https://[^/]+)/v1\.0/(?:directoryObjects|servicePrincipals|users)/"
                       r"(?P<id>[0-9a-fA-F-]{36})/?$")


def not_found(value: str) -> GraphError:
    return GraphError(404, "Request_ResourceNotFound", f"Resource '{value}' does not exist or one of its queried "
                      "reference-property objects are not present.")


def invalid(prop: str, why: str = "") -> GraphError:
    return bad_request(f"Invalid value specified for property '{prop}' of resource 'Application'.{why}",
                       details=[{"code": "InvalidValue", "target": prop}])


def _iso(text: str) -> str:
    return text if text.endswith("Z") else text.replace(" ", "T") + "Z"


def _parse_time(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)
    except ValueError:
        return None


def key_json(row: sqlite3.Row) -> dict:
    """https://learn.microsoft.com/graph/api/resources/keycredential : `key` is never returned."""
    return {"customKeyIdentifier": base64.b64encode(bytes.fromhex(row["thumbprint"])).decode(),
            "displayName": row["display_name"], "endDateTime": row["end"], "key": None, "keyId": row["key_id"],
            "startDateTime": row["start"], "type": "AsymmetricX509Cert", "usage": "Verify"}


def parse_key_credential(value) -> tuple[str | None, x509.Certificate, str | None]:
    """(keyId, certificate, displayName) of a keyCredential in a request, or a 400 naming what is wrong."""
    if not isinstance(value, dict):
        raise invalid("keyCredentials")
    unknown = set(value) - {"type", "usage", "key", "keyId", "displayName", "startDateTime", "endDateTime",
                            "customKeyIdentifier", "@odata.type"}
    if unknown:
        raise invalid("keyCredentials", f" Unknown property '{sorted(unknown)[0]}'.")
    if value.get("type") != "AsymmetricX509Cert" or value.get("usage") != "Verify":
        raise invalid("keyCredentials", " The local tenant serves type 'AsymmetricX509Cert' with usage 'Verify'.")
    key_id = value.get("keyId")
    if key_id is not None and not (isinstance(key_id, str) and GUID.match(key_id)):
        raise invalid("keyCredentials", " keyId must be a GUID.")
    try:
        cert = x509.load_der_x509_certificate(base64.b64decode(str(value.get("key") or ""), validate=True))
    except (ValueError, binascii.Error):
        raise invalid("keyCredentials", " key must be the base64 of an X.509 certificate (DER, public part "
                                        "only).") from None
    name = value.get("displayName")
    if name is not None and not isinstance(name, str):
        raise invalid("keyCredentials")
    # The validity is the certificate's own; dates that say otherwise are refused.
    for prop, bound in zip(("startDateTime", "endDateTime"), cert_validity(cert)):
        if value.get(prop) is not None:
            given = _parse_time(value[prop])
            if given is None or abs((given - bound).total_seconds()) > 1:
                raise invalid("keyCredentials", f" {prop} must be the certificate's own ({bound.isoformat()}).")
    return (key_id.lower() if key_id else None), cert, name


def valid_now(row: sqlite3.Row) -> bool:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return row["start"] <= now < row["end"]


class Applications(QueryOptions):
    _delete_sp: Callable[[str], None]  # service_principals.ServicePrincipals

    def _app_json(self, app: sqlite3.Row) -> dict:
        data = json.loads(app["data"])
        keys = self.db.execute("SELECT * FROM key_credentials WHERE app_object_id=? ORDER BY rowid",
                               (app["object_id"],)).fetchall()
        return {"id": app["object_id"], "appId": app["app_id"], "displayName": app["display_name"],
                "uniqueName": data.get("uniqueName"), "createdDateTime": _iso(app["created"]),
                "deletedDateTime": None, "signInAudience": data.get("signInAudience", "AzureADMyOrg"),
                "isFallbackPublicClient": bool(app["public_client"]),
                "requiredResourceAccess": data.get("requiredResourceAccess", []),
                "keyCredentials": [key_json(k) for k in keys],
                "passwordCredentials": [{"hint": None}] if app["secret_hash"] else [],
                **data.get("extensions", {})}

    def _shaped(self, app_json: dict, select: list[str] | None) -> dict:
        """The properties asked for; without $select every property but the directory extensions, which
        (as on users and groups) are returned only when selected."""
        if select:
            return {k: app_json.get(k) for k in select}
        return {k: v for k, v in app_json.items() if not k.startswith("extension_")}

    def _app(self, app_oid: str | None = None, app_id: str | None = None,
             unique_name: str | None = None) -> sqlite3.Row:
        column, value = (("object_id", app_oid) if app_oid else ("app_id", app_id) if app_id
                         else ("unique_name", unique_name))
        app = self.db.execute(f"SELECT * FROM apps WHERE {column}=? AND app_id != ?",
                              ((value or "").lower(), CLI_TOOLS_APP_ID)).fetchone()
        if app is None:
            raise not_found(value or "")
        return app

    def list_applications(self, req: Request) -> Response:
        """https://learn.microsoft.com/graph/api/application-list"""
        # Microsoft's first-party client is registered in Microsoft's tenant, not in this one.
        sql, params = "SELECT * FROM apps WHERE app_id != ?", [CLI_TOOLS_APP_ID]
        if "$filter" in req.query:
            names = {"appId": "app_id", "displayName": "lower(display_name)", "id": "object_id",
                     "uniqueName": "unique_name"}

            def column(name: str) -> str:
                if name not in names:
                    raise bad_request(f"Could not find a property named '{name}' on type "
                                      "'microsoft.graph.application'.", code="BadRequest")
                return names[name]
            where, more = FilterTranslator(column, advanced=self._advanced(req)).translate(req.query["$filter"])
            sql, params = f"{sql} AND {where}", params + more
        apps = [self._app_json(a) for a in self.db.execute(sql + " ORDER BY created, rowid", params)]
        select = self._select(req)
        apps = [self._shaped(a, select) for a in apps]
        return self._ok(200, {"@odata.context": self._context("applications", select), "value": apps})

    def get_application(self, req: Request, **address) -> Response:
        """https://learn.microsoft.com/graph/api/application-get (with $select: the properties asked for,
        directory extensions included)"""
        select = self._select(req)
        return self._ok(200, {"@odata.context": self._context("applications", select, entity=True),
                              **self._shaped(self._app_json(self._app(**address)), select)})

    # --- writes ----------------------------------------------------------------------------------------
    def _app_changes(self, body: dict, *, creating: bool) -> dict:
        take_type_annotation(body, "application")
        extensions = self._extensions("Application")
        for name, value in body.items():
            if name in APP_READONLY:
                raise bad_request(f"Property '{name}' is read-only and cannot be set.")
            if name in extensions:
                # https://learn.microsoft.com/graph/api/resources/extensionproperty : a directory extension
                # whose targetObjects hold Application is set by the application's own update, null removes it
                if not _extension_value_ok(extensions[name], value) or _has_control(value):
                    raise invalid(name)
                continue
            if name not in APP_WRITABLE:
                raise bad_request(f"The property '{name}' does not exist on type 'microsoft.graph.application' "
                                  "or is not served by the local tenant (see docs/local-tenant.md).",
                                  code="BadRequest")
        name = body.get("displayName")
        if (creating or "displayName" in body) and not (isinstance(name, str) and 0 < len(name) <= 256):
            raise invalid("displayName")
        unique = body.get("uniqueName")
        if "uniqueName" in body and not (isinstance(unique, str) and 0 < len(unique) <= 256
                                         and unique.isprintable()):
            raise invalid("uniqueName")
        if body.get("signInAudience", "AzureADMyOrg") != "AzureADMyOrg":
            raise invalid("signInAudience", " The local tenant is single-tenant: only 'AzureADMyOrg'.")
        if "requiredResourceAccess" in body:
            self._check_resource_access(body["requiredResourceAccess"])
        if "keyCredentials" in body:
            keys = body["keyCredentials"]
            if not isinstance(keys, list):
                raise invalid("keyCredentials")
            body["keyCredentials"] = [parse_key_credential(k) for k in keys]
            ids = [k[0] for k in body["keyCredentials"] if k[0]]
            if len(ids) != len(set(ids)):
                raise invalid("keyCredentials", " Each keyId must be unique.")
        return body

    @staticmethod
    def _check_resource_access(value) -> None:
        """https://learn.microsoft.com/graph/api/resources/requiredresourceaccess"""
        ok = isinstance(value, list) and all(
            isinstance(r, dict) and set(r) <= {"resourceAppId", "resourceAccess"}
            and isinstance(r.get("resourceAppId"), str) and GUID.match(r["resourceAppId"])
            and isinstance(r.get("resourceAccess"), list)
            and all(isinstance(a, dict) and set(a) == {"id", "type"} and isinstance(a["id"], str)
                    and GUID.match(a["id"]) and a["type"] in ("Role", "Scope") for a in r["resourceAccess"])
            for r in value)
        if not ok:
            raise invalid("requiredResourceAccess")

    def _unique_conflict(self, unique: str | None, exclude: str | None) -> None:
        if unique and self.db.execute("SELECT 1 FROM apps WHERE unique_name=? AND object_id IS NOT ?",
                                      (unique.lower(), exclude)).fetchone():
            raise bad_request("Another object with the same value for property uniqueName already exists.",
                              details=[{"target": "uniqueName", "code": "ObjectConflict"}])

    def _set_keys(self, app_object_id: str, keys: list) -> None:
        """keyCredentials in a write replace the collection; a key kept (same keyId and certificate) keeps
        its replication time."""
        old = {r["key_id"]: r for r in self.db.execute("SELECT * FROM key_credentials WHERE app_object_id=?",
                                                       (app_object_id,))}
        self.db.execute("DELETE FROM key_credentials WHERE app_object_id=?", (app_object_id,))
        for key_id, cert, name in keys:
            key_id = key_id or str(uuid.uuid4())
            if self.db.execute("SELECT 1 FROM key_credentials WHERE key_id=?", (key_id,)).fetchone():
                raise invalid("keyCredentials", f" keyId {key_id} is already used.")
            same = old.get(key_id)
            thumb = cert.fingerprint(hashes.SHA1()).hex().upper()  # nosec: the thumbprint, not a hash of secrets
            ready = same["ready"] if same is not None and same["thumbprint"] == thumb else self.store.ready_at()
            self.store.add_key(app_object_id, key_id, cert, name, ready=ready)

    def create_application(self, req: Request) -> Response:
        """https://learn.microsoft.com/graph/api/application-post-applications"""
        body = self._app_changes(req.json(), creating=True)
        return self._create_app(req, body)

    def _create_app(self, req: Request, body: dict) -> Response:
        self._unique_conflict(body.get("uniqueName"), None)
        app_id, object_id = str(uuid.uuid4()), str(uuid.uuid4())
        data = {"signInAudience": "AzureADMyOrg", "requiredResourceAccess": body.get("requiredResourceAccess", []),
                "uniqueName": body.get("uniqueName"),
                "extensions": {k: v for k, v in body.items() if k.startswith("extension_") and v is not None}}
        self.db.execute("INSERT INTO apps(app_id, object_id, display_name, unique_name, data, created, ready) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (app_id, object_id, body["displayName"], (body.get("uniqueName") or "").lower() or None,
                         json.dumps(data), datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                         self.store.ready_at()))
        self._set_keys(object_id, body.get("keyCredentials", []))
        # The creator becomes an owner: the signed-in user, or the calling app's service principal (so that
        # an app with Application.ReadWrite.OwnedBy can manage what it made).
        creator = (req.caller.get("oid") if req.caller.get("idtyp") == "user"
                   else permissions.caller_sp_id(self.db, req.caller))
        if creator:
            self.db.execute("INSERT OR IGNORE INTO app_owners VALUES (?, ?)", (object_id, creator.lower()))
        return self._ok(201, {"@odata.context": self._context("applications", None, entity=True),
                              **self._app_json(self._app(object_id))})

    def update_application(self, req: Request, **address) -> Response:
        """https://learn.microsoft.com/graph/api/application-update ; by uniqueName with
        `Prefer: create-if-missing`: https://learn.microsoft.com/graph/api/application-upsert"""
        body = self._app_changes(req.json(), creating=False)
        unique = address.get("unique_name")
        if unique is not None:
            if "uniqueName" in body and body["uniqueName"] != unique:
                raise invalid("uniqueName", " uniqueName is immutable; the address names it.")
            found = self.db.execute("SELECT 1 FROM apps WHERE unique_name=?", (unique.lower(),)).fetchone()
            if found is None and "create-if-missing" in req.headers.get("prefer", "").lower():
                if not body.get("displayName"):
                    raise invalid("displayName")
                return self._create_app(req, {**body, "uniqueName": unique})
        app = self._app(**address)
        data = json.loads(app["data"])
        if "uniqueName" in body and data.get("uniqueName") not in (None, body["uniqueName"]):
            raise invalid("uniqueName", " uniqueName is immutable once set.")
        self._unique_conflict(body.get("uniqueName"), app["object_id"])
        for prop in ("requiredResourceAccess", "uniqueName", "signInAudience"):
            if prop in body:
                data[prop] = body[prop]
        extensions = {**data.get("extensions", {}), **{k: v for k, v in body.items() if k.startswith("extension_")}}
        data["extensions"] = {k: v for k, v in extensions.items() if v is not None}
        self.db.execute("UPDATE apps SET display_name=?, unique_name=?, data=? WHERE object_id=?",
                        (body.get("displayName", app["display_name"]),
                         (data.get("uniqueName") or "").lower() or None, json.dumps(data), app["object_id"]))
        if "keyCredentials" in body:
            self._set_keys(app["object_id"], body["keyCredentials"])
        return 204, {}, None

    def delete_application(self, req: Request, **address) -> Response:
        """https://learn.microsoft.com/graph/api/application-delete ; the tenant deletes for good (no
        deletedItems for applications) and, as Entra does, the app's service principal with it."""
        app = self._app(**address)
        oid = app["object_id"]
        for table, column in (("key_credentials", "app_object_id"), ("app_owners", "app_object_id"),
                              ("extension_properties", "app_object_id"), ("apps", "object_id")):
            self.db.execute(f"DELETE FROM {table} WHERE {column}=?", (oid,))
        sp = self.store.service_principal(app["app_id"])
        if sp is not None:
            self._delete_sp(sp["id"])
        return 204, {}, None

    # --- addKey / removeKey --------------------------------------------------------------------------
    def _check_proof(self, app: sqlite3.Row, proof) -> None:
        """https://learn.microsoft.com/graph/api/application-addkey : a JWT signed with one of the app's
        valid certificates, aud 00000002-0000-0000-c000-000000000000, iss the app's object id, nbf now and
        exp at most 10 minutes later."""
        keys = [k for k in self.db.execute("SELECT * FROM key_credentials WHERE app_object_id=?",
                                           (app["object_id"],)) if valid_now(k)]
        if not keys:
            raise bad_request("The application has no valid certificate to prove possession of: use Update "
                              "application (PATCH keyCredentials) instead.")
        if not isinstance(proof, str) or not proof:
            raise bad_request("Invalid value specified for property 'proof': a signed JWT is required.")
        claims = None
        for key in keys:
            try:
                _, claims = jws.verify(proof, x509.load_pem_x509_certificate(key["cert_pem"].encode()).public_key())
                break
            except jws.InvalidToken:
                continue
        if claims is None:
            raise bad_request("Invalid proof: it is not signed by a valid certificate of the application.")
        now = time.time()
        nbf, exp = claims.get("nbf"), claims.get("exp")
        if claims.get("aud") != PROOF_AUDIENCE:
            raise bad_request(f"Invalid proof: aud must be {PROOF_AUDIENCE}.")
        if str(claims.get("iss", "")).lower() != app["object_id"]:
            raise bad_request("Invalid proof: iss must be the application's object id.")
        if not (isinstance(nbf, (int, float)) and isinstance(exp, (int, float))) or exp - nbf > PROOF_MAX_SECONDS:
            raise bad_request("Invalid proof: nbf and exp are required, exp at most 10 minutes after nbf.")
        if not nbf - 5 <= now < exp:  # a few seconds of clock difference, no more
            raise bad_request("Invalid proof: it is not within its validity (nbf..exp).")

    def add_key(self, req: Request, **address) -> Response:
        """https://learn.microsoft.com/graph/api/application-addkey"""
        app = self._app(**address)
        body = req.json()
        if set(body) - {"keyCredential", "passwordCredential", "proof"} or "keyCredential" not in body:
            raise bad_request("The request body takes keyCredential, passwordCredential and proof.")
        if body.get("passwordCredential") is not None:
            raise bad_request("passwordCredential must be null when adding a certificate (the local tenant "
                              "serves no addPassword).")
        key_id, cert, name = parse_key_credential(body["keyCredential"])
        if key_id is not None:
            raise bad_request("keyCredential.keyId must be null: the service assigns it.")
        self._check_proof(app, body.get("proof"))
        key_id = str(uuid.uuid4())
        self.store.add_key(app["object_id"], key_id, cert, name, ready=self.store.ready_at())
        row = self.db.execute("SELECT * FROM key_credentials WHERE key_id=?", (key_id,)).fetchone()
        return self._ok(200, {"@odata.context": f"{self.meta}#microsoft.graph.keyCredential", **key_json(row)})

    def remove_key(self, req: Request, **address) -> Response:
        """https://learn.microsoft.com/graph/api/application-removekey"""
        app = self._app(**address)
        body = req.json()
        key_id = body.get("keyId")
        if set(body) - {"keyId", "proof"} or not (isinstance(key_id, str) and GUID.match(key_id)):
            raise bad_request("The request body takes keyId (a GUID) and proof.")
        self._check_proof(app, body.get("proof"))
        if self.db.execute("DELETE FROM key_credentials WHERE key_id=? AND app_object_id=?",
                           (key_id.lower(), app["object_id"])).rowcount == 0:
            raise not_found(key_id)
        return 204, {}, None

    # --- owners ------------------------------------------------------------------------------------------
    def _directory_object(self, object_id: str) -> dict | None:
        sp = self.db.execute("SELECT * FROM service_principals WHERE id=?", (object_id,)).fetchone()
        if sp is not None:
            return {"@odata.type": "#microsoft.graph.servicePrincipal", "id": sp["id"], "appId": sp["app_id"],
                    "displayName": sp["display_name"]}
        user = self.db.execute("SELECT * FROM objects WHERE id=? AND kind='user' AND state='active'",
                               (object_id,)).fetchone()
        if user is not None:
            data = json.loads(user["data"])
            return {"@odata.type": "#microsoft.graph.user", "id": user["id"],
                    "displayName": data.get("displayName"), "userPrincipalName": data.get("userPrincipalName")}
        return None

    def list_owners(self, req: Request, **address) -> Response:
        """https://learn.microsoft.com/graph/api/application-list-owners"""
        app = self._app(**address)
        rows = self.db.execute("SELECT owner_id FROM app_owners WHERE app_object_id=? ORDER BY rowid",
                               (app["object_id"],))
        owners = [o for o in (self._directory_object(r["owner_id"]) for r in rows) if o is not None]
        return self._ok(200, {"@odata.context": f"{self.meta}#directoryObjects", "value": owners})

    def add_owner(self, req: Request, **address) -> Response:
        """https://learn.microsoft.com/graph/api/application-post-owners : a user or a service principal."""
        app = self._app(**address)
        ref = req.json().get("@odata.id")
        match = OWNER_REF.match(ref) if isinstance(ref, str) else None
        if match is None or match["base"] not in (self.base, "https://graph.microsoft.com"):
            raise bad_request("Invalid URL format specified in payload.", code="BadRequest")
        owner = match["id"].lower()
        if self._directory_object(owner) is None:
            raise not_found(owner)
        if self.db.execute("INSERT OR IGNORE INTO app_owners VALUES (?, ?)", (app["object_id"], owner)).rowcount == 0:
            raise bad_request("One or more added object references already exist for the following modified "
                              "properties: 'owners'.")
        return 204, {}, None

    def remove_owner(self, req: Request, owner: str, **address) -> Response:
        """https://learn.microsoft.com/graph/api/application-delete-owners"""
        app = self._app(**address)
        if self.db.execute("DELETE FROM app_owners WHERE app_object_id=? AND owner_id=?",
                           (app["object_id"], owner.lower())).rowcount == 0:
            raise not_found(owner)
        return 204, {}, None

    # --- directory extension properties --------------------------------------------------------------
    def _ext_json(self, row: sqlite3.Row, app: sqlite3.Row) -> dict:
        return {"id": row["id"], "deletedDateTime": None, "appDisplayName": app["display_name"],
                "isMultiValued": False, "isSyncedFromOnPremises": False, **json.loads(row["data"]),
                "name": row["name"]}

    def list_extensions(self, req: Request, **address) -> Response:
        """https://learn.microsoft.com/graph/api/application-list-extensionproperty"""
        app = self._app(**address)
        rows = self.db.execute("SELECT * FROM extension_properties WHERE app_object_id=?", (app["object_id"],))
        return self._ok(200, {"@odata.context": f"{self.meta}#applications('{app['object_id']}')/extensionProperties",
                              "value": [self._ext_json(r, app) for r in rows]})

    def create_extension(self, req: Request, **address) -> Response:
        """https://learn.microsoft.com/graph/api/application-post-extensionproperty"""
        app = self._app(**address)
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

    def delete_extension(self, req: Request, ext: str, **address) -> Response:
        """https://learn.microsoft.com/graph/api/extensionproperty-delete"""
        app = self._app(**address)
        if self.db.execute("DELETE FROM extension_properties WHERE id=? AND app_object_id=?",
                           (ext.lower(), app["object_id"])).rowcount == 0:
            raise not_found(ext)
        return 204, {}, None
