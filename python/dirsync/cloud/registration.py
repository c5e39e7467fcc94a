"""DirSync's own cloud identity: the app registration the wizard makes with an administrator's sign-in,
as Entra Connect does (https://learn.microsoft.com/entra/identity/hybrid/connect/authenticate-application-id).

One single-tenant app registration per DirSync installation, found again by its `uniqueName`
(dirsync-<installation id>) and made with an upsert, so that a retried or interrupted wizard completes the
same app instead of making a second (https://learn.microsoft.com/graph/api/application-upsert); its service
principal (servicePrincipal-upsert); the app's ownership of its own registration (the group anchor's
extension property needs it: application-post-extensionproperty); exactly DirSync's Graph application
permissions, granted as app role assignments on Microsoft Graph's service principal
(https://learn.microsoft.com/graph/permissions-grant-via-msgraph); and a certificate made on this machine.

Steps run in an order that never leaves a working installation without a working credential: the new
certificate is added beside the old one, the new identity is waited for (replication) and verified by
signing in as it, the configuration is saved by the wizard, and only then are the old certificates removed.
"""

from __future__ import annotations

import base64
import socket
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import AuthenticationError, CloudError, DirSyncError, GroupAnchorError, PermissionDeniedError
from ..events import Events
from .certificate import Certificate, make_certificate
from .graph import GraphClient, error_of
from .permissions import REQUIRED_APP_PERMISSIONS

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
# Who may grant Microsoft Graph's application permissions:
# https://learn.microsoft.com/graph/permissions-grant-via-msgraph
GRANTING_ROLES = {"62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
                  "e8611ab8-c189-46e8-94e1-60213ab1f814": "Privileged Role Administrator"}
REPLICATION_TIMEOUT = 300.0  # seconds to wait for a new identity to sign in and hold its permissions
# Sign-in answers of an identity that is still replicating: app unknown, no service principal, key unknown.
REPLICATING = ("AADSTS700016", "AADSTS7000229", "AADSTS700027")


@dataclass(frozen=True)
class Step:
    """One change the wizard makes in the tenant (what -WhatIf lists)."""

    action: str  # create | update | add | remove | grant | revoke
    target: str
    description: str

    def to_dict(self) -> dict:
        return {"action": self.action, "target": self.target, "description": self.description}


@dataclass(frozen=True)
class CloudIdentity:
    tenant_id: str
    app_id: str
    object_id: str
    display_name: str
    unique_name: str
    service_principal_id: str
    certificate: Certificate
    created: bool
    stale_keys: tuple[str, ...] = ()  # keyIds of the certificates to remove once the new one is saved

    def to_dict(self) -> dict:
        return {"appId": self.app_id, "objectId": self.object_id, "displayName": self.display_name,
                "uniqueName": self.unique_name, "servicePrincipalId": self.service_principal_id,
                "certificateThumbprint": self.certificate.thumbprint,
                "certificateExpires": self.certificate.expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "created": self.created, "permissions": [p.name for p in REQUIRED_APP_PERMISSIONS]}


def unique_name(installation_id: str) -> str:
    return f"dirsync-{installation_id}"


def display_name() -> str:
    """Named after this DirSync server, as the administrator sees it in the Entra admin center."""
    return f"DirSync ({socket.gethostname()})"


def _thumbprint(key: dict) -> str:
    """A keyCredential's customKeyIdentifier (the certificate's SHA-1 thumbprint, base64) as hex."""
    raw = key.get("customKeyIdentifier") or ""
    try:
        data = base64.b64decode(raw)
    except ValueError:
        return str(raw).upper()
    return data.hex().upper() if len(data) == 20 else data.decode(errors="replace").upper()


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class Registrar:
    """The administrator's Graph calls that make DirSync's identity; `graph` is signed in as the admin."""

    def __init__(self, graph: GraphClient, tenant_id: str, installation_id: str, events: Events):
        self.graph, self.tenant_id, self.events = graph, tenant_id, events
        self.unique_name = unique_name(installation_id)
        self.display_name = display_name()
        self._graph_sp: dict | None = None

    # --- reading ---------------------------------------------------------------------------------------
    def _get(self, url: str, params: dict | None = None) -> dict | None:
        """The object, or None when Graph answers 404."""
        response = self.graph.request("GET", url, params=params)
        if response.status_code == 404:
            return None
        return self._ok(response, f"GET {url}")

    def _ok(self, response, what: str) -> dict:
        if response.status_code < 300:
            return response.json() if response.content else {}
        code, message = error_of(response.json() if response.content else {})
        if response.status_code == 403:
            raise PermissionDeniedError(
                f"Microsoft Graph refused {what} to the signed-in administrator: {code}: {message}",
                fix="Sign in as a Privileged Role Administrator or Global Administrator and accept the permissions "
                    "the wizard asks for.", target=what)
        raise CloudError(f"Microsoft Graph refused {what}: {response.status_code} {code}: {message}", target=what)

    def check_role(self) -> None:
        """Refuses an administrator who cannot grant Graph's application permissions, before any write."""
        held = {item.get("roleTemplateId") for item in self.graph.pages("me/memberOf")
                if item.get("@odata.type") == "#microsoft.graph.directoryRole"}
        if not held & set(GRANTING_ROLES):
            raise PermissionDeniedError(
                "The signed-in account holds neither the Privileged Role Administrator nor the Global "
                "Administrator role, which granting DirSync's Microsoft Graph application permissions needs. "
                "DirSync created nothing and saved nothing.",
                fix="Run the wizard again and sign in as a Privileged Role Administrator or Global Administrator "
                    "(activate the role first if it is eligible in Privileged Identity Management), or register "
                    "DirSync's app yourself and give -ClientId (docs/administrator-guide.md).")

    def graph_service_principal(self) -> dict:
        if self._graph_sp is None:
            sp = self._get(f"servicePrincipals(appId='{GRAPH_APP_ID}')", {"$select": "id,appRoles"})
            if sp is None:
                raise CloudError("The tenant has no Microsoft Graph service principal.",
                                 fix="This is not a Microsoft Entra tenant DirSync can use.")
            self._graph_sp = sp
        return self._graph_sp

    def role_ids(self) -> dict[str, str]:
        """DirSync's permissions by name -> the id of that app role on Microsoft Graph's service principal."""
        roles = {r["value"]: r["id"] for r in self.graph_service_principal().get("appRoles", [])}
        missing = [p.name for p in REQUIRED_APP_PERMISSIONS if p.name not in roles]
        if missing:
            raise CloudError(f"Microsoft Graph's service principal has no app role {', '.join(missing)}.")
        return {p.name: roles[p.name] for p in REQUIRED_APP_PERMISSIONS}

    def find_app(self) -> dict | None:
        return self._get(f"applications(uniqueName={_literal(self.unique_name)})")

    def find_service_principal(self, app_id: str) -> dict | None:
        return self._get(f"servicePrincipals(appId={_literal(app_id)})", {"$select": "id,appId"})

    def assignments(self, sp_id: str) -> list[dict]:
        resource = self.graph_service_principal()["id"]
        return [a for a in self.graph.pages(f"servicePrincipals/{sp_id}/appRoleAssignments")
                if a.get("resourceId") == resource]

    def owners(self, app_object_id: str) -> set[str]:
        return {o["id"] for o in self.graph.pages(f"applications/{app_object_id}/owners", params={"$select": "id"})}

    # --- what would change -------------------------------------------------------------------------------
    def plan(self) -> list[Step]:
        """What ensure() would change, read from the tenant; nothing is written."""
        app, name = self.find_app(), f"app registration '{self.display_name}' ({self.unique_name})"
        wanted = self.role_ids()
        if app is None:
            return [Step("create", name, "single-tenant app registration for DirSync"),
                    Step("create", f"service principal of {name}", "DirSync's enterprise application"),
                    Step("add", f"owner of {name}", "its own service principal (for the group anchor property)"),
                    *[Step("grant", n, "Microsoft Graph application permission") for n in wanted],
                    Step("add", f"certificate of {name}", "a new certificate made on this machine")]
        steps = []
        if self._differs(app):
            steps.append(Step("update", name, "display name, audience or required permissions"))
        sp = self.find_service_principal(app["appId"])
        if sp is None:
            steps.append(Step("create", f"service principal of {name}", "DirSync's enterprise application"))
        if sp is None or sp["id"] not in self.owners(app["id"]):
            steps.append(Step("add", f"owner of {name}", "its own service principal"))
        current = {a["appRoleId"]: a for a in self.assignments(sp["id"])} if sp else {}
        by_id = {v: k for k, v in wanted.items()}
        steps += [Step("grant", n, "Microsoft Graph application permission") for n, i in wanted.items()
                  if i not in current]
        steps += [Step("revoke", a.get("appRoleId", ""), "a Microsoft Graph application permission DirSync does "
                       "not need") for i, a in current.items() if i not in by_id]
        steps.append(Step("add", f"certificate of {name}", "a new certificate made on this machine"))
        steps += [Step("remove", f"certificate {_thumbprint(k)}", "once the new one works and is saved")
                  for k in app.get("keyCredentials") or []]
        return steps

    # --- making it -----------------------------------------------------------------------------------------
    def _app_body(self) -> dict:
        access = [{"id": role_id, "type": "Role"} for role_id in self.role_ids().values()]
        return {"displayName": self.display_name, "signInAudience": "AzureADMyOrg",
                "requiredResourceAccess": [{"resourceAppId": GRAPH_APP_ID, "resourceAccess": access}]}

    def _differs(self, app: dict) -> bool:
        """Does the registration differ from what ensure() writes (the order of permissions aside)?"""
        def permissions(body: dict) -> set:
            return {(r.get("resourceAppId"), a.get("id"), a.get("type"))
                    for r in body.get("requiredResourceAccess") or [] for a in r.get("resourceAccess") or []}
        wanted = self._app_body()
        return (permissions(wanted) != permissions(app)
                or any(app.get(k) != v for k, v in wanted.items() if k != "requiredResourceAccess"))

    def _upsert(self, url: str, body: dict, what: str) -> tuple[dict, bool]:
        """Create-if-missing on an alternate key: (the object, whether it was created)."""
        response = self._retrying("PATCH", url, body, headers={"Prefer": "create-if-missing"}, what=what)
        if response.status_code == 201:
            return response.json(), True
        found = self._get(url)
        if found is None:
            raise CloudError(f"Microsoft Graph updated {what} but cannot find it.", target=url)
        return found, False

    def _retrying(self, method: str, url: str, body: dict | None = None, *, headers: dict | None = None,
                  what: str):
        """A write that may name an object Graph has not replicated yet (404, or 400 '…do not exist'):
        retried with backoff for up to a minute, as writer.py does for memberships."""
        deadline = time.monotonic() + 60
        attempt = 0
        while True:
            response = self.graph.request(method, url, json=body, headers=headers)
            status = response.status_code
            text = response.text if status in (400, 404) else ""
            if not ((status == 404 or "do not exist" in text) and time.monotonic() < deadline):
                self._ok(response, what)
                return response
            attempt += 1
            self.graph.pause(attempt, f"{what}: waiting for Microsoft Entra ID to replicate", at_most=5.0)

    def ensure(self, held: Certificate | None) -> CloudIdentity:
        """Makes or completes the identity, with a new certificate beside any it has; the old ones are
        removed by finish(), after the wizard saved the new configuration."""
        name = f"app registration '{self.display_name}'"
        self.events.verbose(f"Microsoft 365: creating or updating the {name} ({self.unique_name}).")
        app, created = self._upsert(f"applications(uniqueName={_literal(self.unique_name)})",
                                    self._app_body(), name)
        sp, _ = self._upsert(f"servicePrincipals(appId={_literal(app['appId'])})", {}, f"service principal of {name}")
        if sp["id"] not in self.owners(app["id"]):
            response = self._retrying("POST", f"applications/{app['id']}/owners/$ref",
                                      {"@odata.id": f"{self.graph.base}/directoryObjects/{sp['id']}"},
                                      what=f"owner of {name}")
            self.events.verbose(f"Made DirSync's service principal an owner of its {name} ({response.status_code}).")
        self._grant(sp["id"])
        certificate = make_certificate(self.display_name)
        keys = app.get("keyCredentials") or []
        label = f"DirSync {time.strftime('%Y-%m-%d')}"
        if held is not None and held.key_pem and any(_thumbprint(k) == held.thumbprint for k in keys):
            # The working certificate stays until the new one is verified and saved (addKey keeps it).
            self._retrying("POST", f"applications/{app['id']}/addKey",
                           {"keyCredential": certificate.key_credential(label), "passwordCredential": None,
                            "proof": held.proof(app["id"])}, what=f"certificate of {name}")
        else:
            # No certificate of the app is on this machine (a new app, or one a failed attempt left): the
            # app's keys are replaced by the new one.
            self._retrying("PATCH", f"applications/{app['id']}",
                           {"keyCredentials": [certificate.key_credential(label)]}, what=f"certificate of {name}")
        stale = tuple(k["keyId"] for k in keys if _thumbprint(k) != certificate.thumbprint)
        return CloudIdentity(tenant_id=self.tenant_id, app_id=app["appId"], object_id=app["id"],
                             display_name=self.display_name, unique_name=self.unique_name,
                             service_principal_id=sp["id"], certificate=certificate, created=created,
                             stale_keys=stale)

    def _grant(self, sp_id: str) -> None:
        """Exactly DirSync's permissions: the missing ones granted, any other Graph permission revoked."""
        resource = self.graph_service_principal()["id"]
        wanted = self.role_ids()
        current = {a["appRoleId"]: a for a in self.assignments(sp_id)}
        for permission, role_id in wanted.items():
            if role_id not in current:
                self._retrying("POST", f"servicePrincipals/{resource}/appRoleAssignedTo",
                               {"principalId": sp_id, "resourceId": resource, "appRoleId": role_id},
                               what=f"grant of {permission}")
                self.events.verbose(f"Granted the Microsoft Graph application permission {permission}.")
        for role_id, assignment in current.items():
            if role_id not in wanted.values():
                self._ok(self.graph.request("DELETE", f"servicePrincipals/{resource}/appRoleAssignedTo/"
                                                      f"{assignment['id']}"), "revoke of an extra permission")


def remove_keys(graph: GraphClient, identity: CloudIdentity, events: Events) -> list[str]:
    """Removes the app's other certificates, with a proof signed by the new one (removeKey); works signed
    in as the administrator or as the app itself (Application.ReadWrite.OwnedBy on its own app). Returns
    the thumbprints removed; one that cannot be removed is a warning (the next rotation removes it)."""
    app = graph.get_json(f"applications/{identity.object_id}", params={"$select": "id,keyCredentials"})
    removed = []
    for key in app.get("keyCredentials") or []:
        if key.get("keyId") not in identity.stale_keys:
            continue
        response = graph.request("POST", f"applications/{identity.object_id}/removeKey",
                                 json={"keyId": key["keyId"], "proof": identity.certificate.proof(identity.object_id)})
        if response.status_code < 300:
            removed.append(_thumbprint(key))
        else:
            code, message = error_of(response.json() if response.content else {})
            events.warning(f"The old certificate {_thumbprint(key)} of DirSync's app could not be removed "
                           f"({response.status_code} {code}: {message}); the next Update-CoexistenceCredential "
                           "removes it.")
    if removed:
        events.verbose(f"Removed the old certificate(s) {', '.join(removed)} of DirSync's app.")
    return removed


def verify(tenant, identity: CloudIdentity, events: Events, *, timeout: float = REPLICATION_TIMEOUT) -> None:
    """Waits until the new identity signs in and its token holds every permission (replication), then
    uses each permission once: the tenant's domains, users, groups, and the group anchor property on its
    own app (registered here if it is not yet)."""
    deadline = time.monotonic() + timeout
    attempt = 0
    with tempfile.TemporaryDirectory(prefix="dirsync-") as folder:
        cert_file = Path(folder) / "app.pem"
        cert_file.write_text(identity.certificate.cert_pem)  # the public part only
        settings = replace(tenant, tenant_id=identity.tenant_id or tenant.tenant_id, client_id=identity.app_id,
                           credential_type="certificate", certificate_file=str(cert_file))
        while True:
            attempt += 1
            problem = _try_sign_in(settings, identity, events)
            if problem is None:
                return
            if time.monotonic() >= deadline:
                raise problem
            events.waiting(f"Waiting for Microsoft Entra ID to replicate DirSync's new app ({problem.message})")
            events.sleep(min(10.0, 1.0 * attempt))


def _try_sign_in(settings, identity: CloudIdentity, events: Events) -> DirSyncError | None:
    """None when the identity works; the problem when it does not yet (still replicating)."""
    from .writer import GraphTarget  # the connector, signed in as the new app

    try:
        target = GraphTarget(settings, identity.certificate.key_pem or "", events=events)
    except AuthenticationError as err:
        if any(code in err.message for code in REPLICATING):
            return err
        raise
    try:
        target.graph.check_permissions()  # the grants are in its token
        target.verified_domains()
        for collection in ("users", "groups"):
            response = target.graph.request("GET", collection, params={"$select": "id", "$top": 1})
            if response.status_code != 200:
                code, message = error_of(response.json())
                return CloudError(f"DirSync's new app cannot read {collection}: {code}: {message}")
        target.group_anchor_property  # noqa: B018 - registers the extension property (ownership works)
    except (PermissionDeniedError, GroupAnchorError) as err:  # grants and ownership replicate too
        return err
    finally:
        target.close()
    events.verbose(f"DirSync's app {identity.app_id} signs in and holds its permissions.")
    return None


def rotation_steps(app: dict) -> list[Step]:
    return [Step("add", f"certificate of app {app.get('appId') or app['id']}",
                 "a new certificate made on this machine"),
            *[Step("remove", f"certificate {_thumbprint(k)}", "once the new one works and is saved")
              for k in app.get("keyCredentials") or []]]


def add_certificate(graph: GraphClient, tenant, held: Certificate, events: Events) -> CloudIdentity:
    """A new certificate on DirSync's app beside the one it signs in with (addKey, proof by the held one),
    signed in as the app itself: Application.ReadWrite.OwnedBy on its own registration. Verified before it
    is returned; remove_keys() then removes the others once the caller saved it."""
    app = graph.get_json(f"applications(appId={_literal(tenant.client_id)})",
                         params={"$select": "id,appId,displayName,uniqueName,keyCredentials"})
    certificate = make_certificate(app.get("displayName") or display_name())
    response = graph.request("POST", f"applications/{app['id']}/addKey", json={
        "keyCredential": certificate.key_credential(f"DirSync {time.strftime('%Y-%m-%d')}"),
        "passwordCredential": None, "proof": held.proof(app["id"])})
    if response.status_code >= 300:
        code, message = error_of(response.json() if response.content else {})
        raise CloudError(f"Microsoft Graph refused to add a certificate to DirSync's app {tenant.client_id}: "
                         f"{response.status_code} {code}: {message}",
                         fix="DirSync's app must own its registration (Application.ReadWrite.OwnedBy): re-run the "
                             "configuration wizard, which sets that up, or add the certificate yourself.",
                         target=tenant.client_id)
    identity = CloudIdentity(tenant_id=tenant.tenant_id, app_id=app["appId"], object_id=app["id"],
                             display_name=app.get("displayName") or "", unique_name=app.get("uniqueName") or "",
                             service_principal_id="", certificate=certificate, created=False,
                             stale_keys=tuple(k["keyId"] for k in app.get("keyCredentials") or []))
    verify(tenant, identity, events)
    return identity
