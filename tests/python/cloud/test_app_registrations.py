"""App registrations, service principals, keys and app-role grants made through the local tenant's Graph,
as the wizard will make DirSync's own identity (issue 14): every request is plain HTTPS with requests
(no Graph SDK, no MSAL) against the real tenant process; administrators sign in with MSAL's device code
flow and one app sign-in also goes through MSAL."""

from __future__ import annotations

import base64
import secrets
import time
import uuid

import jwt
import msal
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from dirsync_lab.tenant import DIRSYNC_PERMISSIONS, make_client_certificate
from dirsync_lab.tenant.store import CLI_TOOLS_APP_ID
from dirsync_lab.tenant.permissions import GRAPH_APP_ID, GRAPH_APP_ROLES, GRAPH_SCOPES, PRIVILEGED_ROLE_ADMIN

from .conftest import http_session, unique
from .test_auth import client_assertion_token, ps256_assertion

PROOF_AUDIENCE = "00000002-0000-0000-c000-000000000000"
# What the pages ask for everything here (owners also need Directory.Read.All, grants Application.Read.All).
ADMIN_PERMISSIONS = ("Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All", "Application.Read.All",
                     "Directory.Read.All")
# The least delegated scopes the pages allow for what the wizard does (owners and grants need Directory.Read.All).
WIZARD_SCOPES = ("Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All", "Directory.Read.All", "User.Read")


@pytest.fixture(autouse=True)
def _replication(tenant):
    # Most tests need what they make at once; the replication test sets its own delay.
    tenant.configure(identity_replication_seconds=0)
    yield
    tenant.configure(identity_replication_seconds=5)


def session_with(tenant, token: str):
    session = http_session(tenant)
    session.headers["Authorization"] = f"Bearer {token}"
    session.base = f"{tenant.url}/v1.0"
    return session


def secret_token(tenant, app) -> str:
    response = http_session(tenant).post(f"{tenant.authority}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": app.app_id, "client_secret": app.secret,
        "scope": f"{tenant.graph_endpoint}/.default"})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def app_session(tenant, *permissions: str):
    app = tenant.register_app(unique("caller"), secret=True, permissions=permissions)
    return session_with(tenant, secret_token(tenant, app))


def signed_in(tenant, user: dict, *scopes: str):
    """A Graph session of `user` signed in as the wizard will: MSAL's device code flow for Microsoft Graph
    Command Line Tools, approved with the user's password through the tenant's admin API."""
    client = msal.PublicClientApplication(CLI_TOOLS_APP_ID, authority=tenant.authority, instance_discovery=False,
                                          http_client=http_session(tenant))
    flow = client.initiate_device_flow(scopes=[f"{tenant.graph_endpoint}/{s}" for s in scopes])
    assert tenant.approve_device_code(flow["user_code"], user["userPrincipalName"], user["password"])
    flow["expires_at"] = 0  # one poll: the sign-in is already approved
    result = client.acquire_token_by_device_flow(flow)
    assert "access_token" in result, result.get("error_description")
    return session_with(tenant, result["access_token"])


def add_user(tenant, *roles: str) -> dict:
    upn, password = f"{unique('admin')}@contoso.com", "Sign-in " + secrets.token_urlsafe(12)
    return {**tenant.add_user(upn, password, roles=roles), "password": password}


@pytest.fixture
def admin(tenant):
    session = app_session(tenant, *ADMIN_PERMISSIONS)
    yield session
    session.close()


def graph_sp(session) -> dict:
    found = session.get(f"{session.base}/servicePrincipals", params={"$filter": f"appId eq '{GRAPH_APP_ID}'"})
    assert found.status_code == 200, found.text
    (sp,) = found.json()["value"]
    return sp


def der_b64(cert_pem: str) -> str:
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def key_credential(cert_pem: str, name: str = "DirSync") -> dict:
    return {"type": "AsymmetricX509Cert", "usage": "Verify", "key": der_b64(cert_pem), "displayName": name}


def proof(object_id: str, key_pem: str, **override) -> str:
    now = int(time.time())
    return jwt.encode({"aud": PROOF_AUDIENCE, "iss": object_id, "nbf": now, "exp": now + 600, **override},
                      key_pem, algorithm="RS256")


def create_app(session, **body) -> dict:
    response = session.post(f"{session.base}/applications", json={"displayName": unique("app"), **body})
    assert response.status_code == 201, response.text
    return response.json()


def create_sp(session, app_id: str) -> dict:
    response = session.post(f"{session.base}/servicePrincipals", json={"appId": app_id})
    assert response.status_code == 201, response.text
    return response.json()


def sign_in(tenant, app_id: str, cert) -> dict:
    response = client_assertion_token(tenant, app_id, ps256_assertion(tenant, app_id, cert.cert_pem, cert.key_pem))
    return response.json()


def token_roles(token: str) -> list[str]:
    return jwt.decode(token, options={"verify_signature": False}).get("roles", [])


# --- applications ----------------------------------------------------------------------------------------
def test_an_app_is_created_found_updated_and_deleted(admin):
    name = unique("dirsync")
    access = [{"resourceAppId": GRAPH_APP_ID,
               "resourceAccess": [{"id": GRAPH_APP_ROLES["User.Read.All"], "type": "Role"}]}]
    app = create_app(admin, displayName=name, uniqueName=name, signInAudience="AzureADMyOrg",
                     requiredResourceAccess=access)
    assert (app["displayName"], app["uniqueName"], app["requiredResourceAccess"]) == (name, name, access)
    assert app["keyCredentials"] == [] and app["signInAudience"] == "AzureADMyOrg"
    for query in (f"appId eq '{app['appId']}'", f"uniqueName eq '{name}'", f"displayName eq '{name}'"):
        found = admin.get(f"{admin.base}/applications", params={"$filter": query}).json()["value"]
        assert [a["id"] for a in found] == [app["id"]], query
    for address in (app["id"], f"(appId='{app['appId']}')", f"(uniqueName='{name}')"):
        url = f"{admin.base}/applications{'/' if '(' not in address else ''}{address}"
        assert admin.get(url).json()["id"] == app["id"]
    patched = admin.patch(f"{admin.base}/applications/{app['id']}", json={"displayName": name + " renamed"})
    assert patched.status_code == 204, patched.text
    assert admin.get(f"{admin.base}/applications/{app['id']}").json()["displayName"] == name + " renamed"
    assert admin.delete(f"{admin.base}/applications/{app['id']}").status_code == 204
    gone = admin.get(f"{admin.base}/applications/{app['id']}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "Request_ResourceNotFound"


@pytest.mark.parametrize("body,fragment", [
    ({"displayName": "x", "web": {}}, "'web' does not exist"),
    ({"displayName": "x", "appId": str(uuid.uuid4())}, "read-only"),
    ({}, "displayName"),
    ({"displayName": "x", "signInAudience": "AzureADMultipleOrgs"}, "signInAudience"),
    ({"displayName": "x", "requiredResourceAccess": [{"resourceAppId": GRAPH_APP_ID,
                                                      "resourceAccess": [{"id": "nope", "type": "Role"}]}]},
     "requiredResourceAccess"),
    ({"displayName": "x", "keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "key": "bm9wZQ=="}]},
     "X.509"),
])
def test_a_bad_application_body_is_a_specific_400(admin, body, fragment):
    response = admin.post(f"{admin.base}/applications", json=body)
    assert response.status_code == 400, response.text
    assert fragment in response.json()["error"]["message"]


def test_unique_name_is_unique_and_upsert_makes_one_app(admin):
    name = unique("server")
    url = f"{admin.base}/applications(uniqueName='{name}')"
    assert admin.patch(url, json={"displayName": name}).status_code == 404  # no Prefer: an update
    created = admin.patch(url, json={"displayName": name}, headers={"Prefer": "create-if-missing"})
    assert created.status_code == 201, created.text
    assert created.json()["uniqueName"] == name
    again = admin.patch(url, json={"displayName": name + "2"}, headers={"Prefer": "create-if-missing"})
    assert again.status_code == 204 and again.text == ""
    found = admin.get(f"{admin.base}/applications", params={"$filter": f"uniqueName eq '{name}'"}).json()["value"]
    assert [a["displayName"] for a in found] == [name + "2"]
    duplicate = admin.post(f"{admin.base}/applications", json={"displayName": "x", "uniqueName": name})
    assert duplicate.status_code == 400 and duplicate.json()["error"]["details"][0]["code"] == "ObjectConflict"


# --- service principals, owners ------------------------------------------------------------------------
def test_a_service_principal_is_created_once_and_upserted_by_app_id(admin):
    app = create_app(admin)
    sp = create_sp(admin, app["appId"])
    assert (sp["appId"], sp["displayName"], sp["appRoles"]) == (app["appId"], app["displayName"], [])
    twice = admin.post(f"{admin.base}/servicePrincipals", json={"appId": app["appId"]})
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "Request_MultipleObjectsWithSameKeyValue"
    url = f"{admin.base}/servicePrincipals(appId='{app['appId']}')"
    assert admin.patch(url, json={"tags": ["DirSync"]}, headers={"Prefer": "create-if-missing"}).status_code == 204
    assert admin.get(url).json()["tags"] == ["DirSync"]
    other = create_app(admin)
    made = admin.patch(f"{admin.base}/servicePrincipals(appId='{other['appId']}')", json={},
                       headers={"Prefer": "create-if-missing"})
    assert made.status_code == 201 and made.json()["appId"] == other["appId"]
    no_app = admin.post(f"{admin.base}/servicePrincipals", json={"appId": str(uuid.uuid4())})
    assert no_app.status_code == 400 and "does not reference a valid application" in no_app.text
    for bad in ({}, {"appId": 42}, {"appId": app["appId"], "homepage": "x"}):
        assert admin.post(f"{admin.base}/servicePrincipals", json=bad).status_code == 400, bad
    found = admin.get(f"{admin.base}/servicePrincipals", params={"$filter": f"appId eq '{app['appId']}'"})
    assert [s["id"] for s in found.json()["value"]] == [sp["id"]]
    assert admin.delete(f"{admin.base}/applications/{app['id']}").status_code == 204
    assert admin.get(f"{admin.base}/servicePrincipals/{sp['id']}").status_code == 404  # went with its app


def test_microsofts_own_client_is_no_app_registration_of_the_tenant(admin):
    listed = admin.get(f"{admin.base}/applications").json()["value"]
    assert CLI_TOOLS_APP_ID not in [a["appId"] for a in listed]
    assert admin.get(f"{admin.base}/applications(appId='{CLI_TOOLS_APP_ID}')").status_code == 404


def test_graph_publishes_its_app_roles_and_scopes(admin):
    sp = graph_sp(admin)
    roles = {r["value"]: r for r in sp["appRoles"]}
    assert {v: r["id"] for v, r in roles.items()} == GRAPH_APP_ROLES
    assert all(r["allowedMemberTypes"] == ["Application"] and r["isEnabled"] for r in roles.values())
    assert {s["value"]: s["id"] for s in sp["oauth2PermissionScopes"]} == GRAPH_SCOPES
    by_name = admin.get(f"{admin.base}/servicePrincipals", params={"$filter": "displayName eq 'Microsoft Graph'"})
    assert [s["appId"] for s in by_name.json()["value"]] == [GRAPH_APP_ID]
    assert admin.delete(f"{admin.base}/servicePrincipals/{sp['id']}").status_code == 400  # the lab keeps it


def test_owners_are_added_listed_and_removed(admin):
    app = create_app(admin)
    sp = create_sp(admin, app["appId"])
    owners_url = f"{admin.base}/applications/{app['id']}/owners"
    ref = {"@odata.id": f"{admin.base}/directoryObjects/{sp['id']}"}
    assert admin.post(owners_url + "/$ref", json=ref).status_code == 204
    listed = admin.get(owners_url).json()["value"]
    assert sp["id"] in [o["id"] for o in listed]
    assert next(o for o in listed if o["id"] == sp["id"])["@odata.type"] == "#microsoft.graph.servicePrincipal"
    again = admin.post(owners_url + "/$ref", json=ref)
    assert again.status_code == 400 and "already exist" in again.text
    missing = admin.post(owners_url + "/$ref", json={"@odata.id": f"{admin.base}/directoryObjects/{uuid.uuid4()}"})
    assert missing.status_code == 404
    assert admin.delete(f"{owners_url}/{sp['id']}/$ref").status_code == 204
    assert admin.delete(f"{owners_url}/{sp['id']}/$ref").status_code == 404


# --- grants, keys, sign-in -------------------------------------------------------------------------------
def test_what_graph_made_signs_in_only_after_replication_with_its_grants(tenant, admin):
    tenant.configure(identity_replication_seconds=2)
    cert = make_client_certificate("DirSync replication")
    app = create_app(admin, keyCredentials=[key_credential(cert.cert_pem)])
    assert [k["key"] for k in app["keyCredentials"]] == [None]  # never returned
    thumbprint = base64.b64decode(app["keyCredentials"][0]["customKeyIdentifier"]).hex().upper()
    assert thumbprint == cert.thumbprint
    sp = create_sp(admin, app["appId"])
    graph = graph_sp(admin)
    role = next(r["id"] for r in graph["appRoles"] if r["value"] == "User.Read.All")
    grant_url = f"{admin.base}/servicePrincipals/{graph['id']}/appRoleAssignedTo"
    granted = admin.post(grant_url, json={"principalId": sp["id"], "resourceId": graph["id"], "appRoleId": role})
    assert granted.status_code == 201, granted.text
    assert (granted.json()["principalType"], granted.json()["appRoleId"]) == ("ServicePrincipal", role)
    too_soon = sign_in(tenant, app["appId"], cert)
    assert too_soon["error"] == "unauthorized_client" and "AADSTS700016" in too_soon["error_description"]
    time.sleep(2.2)
    result = sign_in(tenant, app["appId"], cert)
    assert token_roles(result["access_token"]) == ["User.Read.All"]
    # MSAL signs in the same way (x5t, RS256).
    msal_result = msal.ConfidentialClientApplication(
        app["appId"], authority=tenant.authority, instance_discovery=False, http_client=http_session(tenant),
        client_credential={"private_key": cert.key_pem, "thumbprint": cert.thumbprint},
    ).acquire_token_for_client([f"{tenant.graph_endpoint}/.default"])
    assert token_roles(msal_result["access_token"]) == ["User.Read.All"], msal_result.get("error_description")
    twice = admin.post(grant_url, json={"principalId": sp["id"], "resourceId": graph["id"], "appRoleId": role})
    assert twice.status_code == 400 and "already exists" in twice.text
    unknown = admin.post(grant_url, json={"principalId": sp["id"], "resourceId": graph["id"],
                                          "appRoleId": str(uuid.uuid4())})
    assert unknown.status_code == 400 and "not found" in unknown.text
    listed = admin.get(f"{admin.base}/servicePrincipals/{sp['id']}/appRoleAssignments").json()["value"]
    assert [a["id"] for a in listed] == [granted.json()["id"]]
    assert admin.delete(f"{grant_url}/{granted.json()['id']}").status_code == 204
    assert token_roles(sign_in(tenant, app["appId"], cert)["access_token"]) == []


def test_keys_are_rolled_with_add_key_and_remove_key_by_the_app_itself(tenant):
    old = make_client_certificate("DirSync old")
    registered = tenant.register_app(unique("roller"), certificate_pem=old.cert_pem)  # no permissions at all
    me = session_with(tenant, sign_in(tenant, registered.app_id, old)["access_token"])
    url = f"{me.base}/applications/{registered.object_id}"
    new = make_client_certificate("DirSync new")
    body = {"keyCredential": key_credential(new.cert_pem, "next"), "passwordCredential": None,
            "proof": proof(registered.object_id, old.key_pem)}
    for bad in (proof(registered.object_id, new.key_pem),                      # not signed by a key it has
                proof(registered.object_id, old.key_pem, aud="api://other"),
                proof(str(uuid.uuid4()), old.key_pem),                          # iss: another object
                proof(registered.object_id, old.key_pem, exp=int(time.time()) + 3600)):  # more than 10 minutes
        refused = me.post(url + "/addKey", json={**body, "proof": bad})
        assert refused.status_code == 400 and "proof" in refused.text.lower(), refused.text
    added = me.post(url + "/addKey", json=body)
    assert added.status_code == 200, added.text
    assert added.json()["key"] is None and added.json()["displayName"] == "next"
    old_id = next(k for k in tenant_keys(tenant, registered.app_id) if k["keyId"] != added.json()["keyId"])["keyId"]
    removed = me.post(url + "/removeKey", json={"keyId": old_id, "proof": proof(registered.object_id, new.key_pem)})
    assert removed.status_code == 204, removed.text
    assert sign_in(tenant, registered.app_id, old)["error"] == "invalid_client"   # AADSTS700027
    assert "access_token" in sign_in(tenant, registered.app_id, new)
    missing = me.post(url + "/removeKey", json={"keyId": old_id, "proof": proof(registered.object_id, new.key_pem)})
    assert missing.status_code == 404
    me.close()


def tenant_keys(tenant, app_id: str) -> list[dict]:
    admin = app_session(tenant, "Application.Read.All")
    keys = admin.get(f"{admin.base}/applications(appId='{app_id}')").json()["keyCredentials"]
    admin.close()
    return keys


def test_add_key_needs_a_valid_certificate_and_update_works_instead(admin):
    app = create_app(admin)
    cert = make_client_certificate("first")
    refused = admin.post(f"{admin.base}/applications/{app['id']}/addKey", json={
        "keyCredential": key_credential(cert.cert_pem), "passwordCredential": None,
        "proof": proof(app["id"], cert.key_pem)})
    assert refused.status_code == 400 and "Update application" in refused.text
    patched = admin.patch(f"{admin.base}/applications/{app['id']}", json={"keyCredentials": [
        key_credential(cert.cert_pem)]})
    assert patched.status_code == 204
    assert len(admin.get(f"{admin.base}/applications/{app['id']}").json()["keyCredentials"]) == 1
    assert admin.patch(f"{admin.base}/applications/{app['id']}", json={"keyCredentials": []}).status_code == 204
    assert admin.get(f"{admin.base}/applications/{app['id']}").json()["keyCredentials"] == []


def test_an_expired_certificate_a_missing_or_disabled_service_principal_are_refused(tenant, admin):
    expired = make_client_certificate("expired", days=0)
    app = tenant.register_app(unique("expired"), certificate_pem=expired.cert_pem)
    result = sign_in(tenant, app.app_id, expired)
    assert result["error"] == "invalid_client" and "AADSTS700027" in result["error_description"]
    assert "expired" in result["error_description"]
    cert = make_client_certificate("no sp")
    lonely = create_app(admin, keyCredentials=[key_credential(cert.cert_pem)])
    result = sign_in(tenant, lonely["appId"], cert)
    assert result["error"] == "invalid_client" and "AADSTS7000229" in result["error_description"]
    sp = create_sp(admin, lonely["appId"])
    assert "access_token" in sign_in(tenant, lonely["appId"], cert)
    disabled = admin.patch(f"{admin.base}/servicePrincipals/{sp['id']}", json={"accountEnabled": False})
    assert disabled.status_code == 204
    result = sign_in(tenant, lonely["appId"], cert)
    assert result["error"] == "unauthorized_client" and "AADSTS7000112" in result["error_description"]


# --- who may -----------------------------------------------------------------------------------------------
def test_app_only_callers_need_the_pages_permissions(tenant, admin):
    reader = app_session(tenant, "Application.Read.All")
    assert reader.post(f"{reader.base}/applications", json={"displayName": "x"}).status_code == 403
    other = create_app(admin)
    owned_by = app_session(tenant, "Application.ReadWrite.OwnedBy")
    assert owned_by.patch(f"{owned_by.base}/applications/{other['id']}",
                          json={"displayName": "taken"}).status_code == 403
    mine = create_app(owned_by)   # the creating app becomes an owner
    assert owned_by.patch(f"{owned_by.base}/applications/{mine['id']}",
                          json={"displayName": "mine"}).status_code == 204
    # Granting needs AppRoleAssignment.ReadWrite.All *and* Application.Read.All (or Directory.Read.All).
    half = app_session(tenant, "AppRoleAssignment.ReadWrite.All")
    graph = graph_sp(admin)
    sp = create_sp(admin, other["appId"])
    body = {"principalId": sp["id"], "resourceId": graph["id"], "appRoleId": GRAPH_APP_ROLES["User.Read.All"]}
    assert half.post(f"{half.base}/servicePrincipals/{graph['id']}/appRoleAssignedTo", json=body).status_code == 403
    for session in (reader, owned_by, half):
        session.close()


def test_delegated_calls_need_the_scopes_and_the_users_role(tenant, admin):
    pra = add_user(tenant, "Privileged Role Administrator")
    member = signed_in(tenant, pra, *WIZARD_SCOPES)
    me = member.get(f"{member.base}/me")
    assert me.status_code == 200 and me.json()["userPrincipalName"] == pra["userPrincipalName"]
    roles = member.get(f"{member.base}/me/memberOf").json()["value"]
    assert [r["roleTemplateId"] for r in roles if r["@odata.type"] == "#microsoft.graph.directoryRole"] == [
        PRIVILEGED_ROLE_ADMIN]
    # A member user may register an app (Entra's default) and becomes its owner; Privileged Role
    # Administrator is no application administrator: another's app stays out of reach.
    app = create_app(member)
    owners = admin.get(f"{admin.base}/applications/{app['id']}/owners").json()["value"]
    assert [o["id"] for o in owners] == [pra["id"]]
    assert member.patch(f"{member.base}/applications/{app['id']}", json={"displayName": "own"}).status_code == 204
    sp = create_sp(member, app["appId"])
    other = create_app(admin)
    assert member.patch(f"{member.base}/applications/{other['id']}", json={"displayName": "x"}).status_code == 403
    graph_principal = graph_sp(admin)
    grant = {"principalId": sp["id"], "resourceId": graph_principal["id"],
             "appRoleId": GRAPH_APP_ROLES["User.Read.All"]}
    grant_url = f"{member.base}/servicePrincipals/{graph_principal['id']}/appRoleAssignedTo"
    assert member.post(grant_url, json=grant).status_code == 201
    # An Application Administrator changes any app but may not grant Microsoft Graph's app roles.
    app_admin = signed_in(tenant, add_user(tenant, "Application Administrator"), *WIZARD_SCOPES)
    assert app_admin.patch(f"{app_admin.base}/applications/{other['id']}", json={"displayName": "y"}).status_code == 204
    grant["appRoleId"] = GRAPH_APP_ROLES["Group.Read.All"]
    assert app_admin.post(grant_url, json=grant).status_code == 403
    # The scopes count too: without a Read permission beside AppRoleAssignment.ReadWrite.All, no grant.
    narrow = signed_in(tenant, pra, "Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All", "User.Read")
    refused = narrow.post(grant_url, json=grant)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "Authorization_RequestDenied"
    for session in (member, app_admin, narrow):
        session.close()


def test_a_privileged_role_administrator_alone_sets_up_dirsyncs_identity(tenant):
    """What the wizard's page 1 does, with the least the pages allow: a member user holding Privileged Role
    Administrator, delegated scopes Application.ReadWrite.All, AppRoleAssignment.ReadWrite.All,
    Directory.Read.All (owners and grants need a Read permission besides) and User.Read."""
    tenant.configure(identity_replication_seconds=1)
    wizard = signed_in(tenant, add_user(tenant, "Privileged Role Administrator"), *WIZARD_SCOPES)
    cert = make_client_certificate("DirSync server")
    name = unique("DirSync-server")
    made = wizard.patch(f"{wizard.base}/applications(uniqueName='{name}')", headers={"Prefer": "create-if-missing"},
                        json={"displayName": name, "keyCredentials": [key_credential(cert.cert_pem)]})
    assert made.status_code == 201, made.text
    app = made.json()
    sp = wizard.patch(f"{wizard.base}/servicePrincipals(appId='{app['appId']}')", json={},
                      headers={"Prefer": "create-if-missing"})
    assert sp.status_code == 201, sp.text
    sp_id = sp.json()["id"]
    owner = wizard.post(f"{wizard.base}/applications/{app['id']}/owners/$ref",
                        json={"@odata.id": f"{wizard.base}/directoryObjects/{sp_id}"})
    assert owner.status_code == 204, owner.text
    graph_principal = graph_sp(wizard)
    for permission in DIRSYNC_PERMISSIONS:
        granted = wizard.post(f"{wizard.base}/servicePrincipals/{graph_principal['id']}/appRoleAssignedTo",
                              json={"principalId": sp_id, "resourceId": graph_principal["id"],
                                    "appRoleId": GRAPH_APP_ROLES[permission]})
        assert granted.status_code == 201, granted.text
    wizard.close()
    deadline = time.time() + 10
    while "access_token" not in (result := sign_in(tenant, app["appId"], cert)) and time.time() < deadline:
        time.sleep(0.2)  # the documented way: retry until replicated
    assert token_roles(result["access_token"]) == sorted(DIRSYNC_PERMISSIONS)
    itself = session_with(tenant, result["access_token"])  # OwnedBy now covers its own registration
    extensions = itself.get(f"{itself.base}/applications(appId='{app['appId']}')/extensionProperties")
    assert extensions.status_code == 200, extensions.text
    itself.close()


def test_an_apps_own_directory_extension_is_set_by_its_update_and_read_with_select(tenant):
    """DirSync's active-server marker: a directory extension whose targetObjects is Application, set on the
    app's own registration by Update application (Application.ReadWrite.OwnedBy, owned), returned only when
    selected, a String of 256 characters at most, removed by null
    (https://learn.microsoft.com/graph/api/resources/extensionproperty)."""
    app = tenant.register_app(unique("DirSync"), secret=True, permissions=DIRSYNC_PERMISSIONS)
    itself = session_with(tenant, secret_token(tenant, app))
    base = f"{itself.base}/applications(appId='{app.app_id}')"
    made = itself.post(f"{base}/extensionProperties",
                       json={"name": "marker", "dataType": "String", "targetObjects": ["Application"]})
    for_groups = itself.post(f"{base}/extensionProperties",
                             json={"name": "groupsOnly", "dataType": "String", "targetObjects": ["Group"]})
    assert made.status_code == for_groups.status_code == 201, (made.text, for_groups.text)
    prop, groups_only = made.json()["name"], for_groups.json()["name"]
    assert itself.patch(base, json={prop: "server-1"}).status_code == 204
    assert itself.get(base, params={"$select": f"id,{prop}"}).json()[prop] == "server-1"
    assert prop not in itself.get(base).json()  # directory extensions only when selected
    for body in ({prop: "x" * 257}, {prop: 5}, {prop: "a\nb"}, {groups_only: "x"},
                 {f"extension_{uuid.uuid4().hex}_marker": "x"}):
        refused = itself.patch(base, json=body)
        assert refused.status_code == 400, (body, refused.text)
    assert itself.get(base, params={"$select": prop}).json()[prop] == "server-1"
    stranger = session_with(tenant, secret_token(tenant, tenant.register_app(
        unique("other"), secret=True, permissions=DIRSYNC_PERMISSIONS)))  # OwnedBy, but not this app's owner
    denied = stranger.patch(base, json={prop: "server-2"})
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "Authorization_RequestDenied"
    assert itself.patch(base, json={prop: None}).status_code == 204
    assert itself.get(base, params={"$select": prop}).json()[prop] is None
    itself.close()
    stranger.close()
