"""Sign-in to the local tenant with real MSAL, and Graph's answer to missing, expired and foreign tokens."""

from __future__ import annotations

import secrets
import time
import uuid

import jwt
import msal
import pytest

from dirsync.cloud.graph import GraphClient
from dirsync.cloud.writer import GraphTarget
from dirsync.errors import AuthenticationError
from dirsync_lab.tenant import make_client_certificate
from dirsync_lab.tenant.jws import b64url
from dirsync_lab.tenant.pki import thumbprints
from cryptography import x509

from .conftest import FAST, http_session, msal_app


def graph_get(tenant, token: str | None, path: str = "organization"):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return http_session(tenant).get(f"{tenant.url}/v1.0/{path}", headers=headers)


def test_a_secret_gets_a_token_that_graph_accepts(tenant, secret_app):
    result = msal_app(tenant, secret_app.app_id, secret_app.secret).acquire_token_for_client(
        [f"{tenant.graph_endpoint}/.default"])
    assert result["token_type"] == "Bearer"
    assert graph_get(tenant, result["access_token"]).status_code == 200


def test_a_certificate_gets_a_token_that_graph_accepts(tenant, cert_app, client_cert):
    app, _ = cert_app
    result = msal_app(tenant, app.app_id, {"private_key": client_cert.key_pem,
                                            "thumbprint": client_cert.thumbprint}).acquire_token_for_client(
        [f"{tenant.graph_endpoint}/.default"])
    assert "access_token" in result, result.get("error_description")
    assert graph_get(tenant, result["access_token"]).status_code == 200


def ps256_assertion(tenant, app_id: str, cert_pem: str, key_pem: str, **override) -> str:
    """What newer MSAL and Entra use: PS256 with the SHA-256 thumbprint in x5t#S256 (signed by PyJWT)."""
    _, sha256 = thumbprints(x509.load_pem_x509_certificate(cert_pem.encode()))
    now = int(time.time())
    claims = {"aud": f"{tenant.authority}/oauth2/v2.0/token", "iss": app_id, "sub": app_id,
              "jti": str(uuid.uuid4()), "nbf": now, "exp": now + 600, **override}
    return jwt.encode(claims, key_pem, algorithm="PS256", headers={"x5t#S256": sha256})


def client_assertion_token(tenant, app_id: str, assertion: str):
    return http_session(tenant).post(f"{tenant.authority}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": app_id, "scope": f"{tenant.graph_endpoint}/.default",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion})


def test_a_ps256_assertion_with_x5t_s256_is_accepted(tenant, cert_app, client_cert):
    app, _ = cert_app
    response = client_assertion_token(tenant, app.app_id, ps256_assertion(
        tenant, app.app_id, client_cert.cert_pem, client_cert.key_pem))
    assert response.status_code == 200, response.text
    assert graph_get(tenant, response.json()["access_token"]).status_code == 200


def test_an_assertion_signed_by_another_key_is_refused(tenant, cert_app, client_cert):
    app, _ = cert_app
    other = make_client_certificate("intruder")
    # The registered certificate's thumbprint, but a signature by a key that is not its own.
    response = client_assertion_token(tenant, app.app_id, ps256_assertion(
        tenant, app.app_id, client_cert.cert_pem, other.key_pem))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.json()["error_codes"] == [700027]


def test_a_wrong_secret_is_refused(tenant, secret_app):
    result = msal_app(tenant, secret_app.app_id, "not-the-secret").acquire_token_for_client(
        [f"{tenant.graph_endpoint}/.default"])
    assert result["error"] == "invalid_client"
    assert "AADSTS7000215" in result["error_description"]


def test_an_unregistered_certificate_is_refused(tenant, cert_app):
    app, _ = cert_app
    other = make_client_certificate("not registered")
    result = msal_app(tenant, app.app_id, {"private_key": other.key_pem,
                                            "thumbprint": other.thumbprint}).acquire_token_for_client(
        [f"{tenant.graph_endpoint}/.default"])
    assert result["error"] == "invalid_client"
    assert "AADSTS700027" in result["error_description"]


def test_the_connector_reports_a_refused_secret_without_revealing_it(tenant, secret_app):
    settings = tenant.tenant_settings(secret_app, "secret")
    with pytest.raises(AuthenticationError) as caught:
        GraphTarget(settings, "wrong-secret-value-123", policy=FAST)
    assert "AADSTS7000215" in caught.value.message
    assert "wrong-secret-value-123" not in str(caught.value.to_dict())


def test_graph_without_a_token_answers_401_with_the_documented_body(tenant):
    response = graph_get(tenant, None, "users")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("InvalidAuthenticationToken", "Access token is empty.")
    assert set(error["innerError"]) >= {"date", "request-id", "client-request-id"}


def test_a_forged_token_is_refused(tenant, secret_app):
    token = msal_app(tenant, secret_app.app_id, secret_app.secret).acquire_token_for_client(
        [f"{tenant.graph_endpoint}/.default"])["access_token"]
    head, body, _ = token.split(".")
    forged = f"{head}.{body}.{b64url(b'not a signature')}"
    response = graph_get(tenant, forged)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_a_token_for_another_audience_is_refused(tenant, secret_app):
    result = msal_app(tenant, secret_app.app_id, secret_app.secret).acquire_token_for_client(
        [f"api://{secret_app.app_id}/.default"])
    response = graph_get(tenant, result["access_token"])
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Access token validation failure. Invalid audience."


def test_an_expired_token_is_refused_and_the_connector_gets_a_new_one(tenant, secret_app):
    tenant.configure(token_lifetime=1)
    client = GraphClient(tenant.tenant_settings(secret_app, "secret"), secret_app.secret, policy=FAST)
    expired = client._token
    time.sleep(1.1)  # the token's whole lifetime: nothing to poll for
    response = graph_get(tenant, expired)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Lifetime validation failed, the token is expired."
    tenant.configure(token_lifetime=3600)
    assert client.get_json("organization")["value"]  # refreshed once, transparently
    assert client._token != expired
    client.close()


def test_device_code_sign_in_for_an_administrator(tenant):
    app = tenant.register_app("DirSync admin console", public_client=True)
    public = msal.PublicClientApplication(app.app_id, authority=tenant.authority, instance_discovery=False,
                                          http_client=http_session(tenant))
    flow = public.initiate_device_flow(scopes=[f"{tenant.graph_endpoint}/Organization.Read.All"])
    assert flow["verification_uri"] == f"{tenant.url}/devicelogin" and flow["user_code"] in flow["message"]
    pending = http_session(tenant).post(f"{tenant.authority}/oauth2/v2.0/token", data={
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code", "client_id": app.app_id,
        "device_code": flow["device_code"]})
    assert (pending.status_code, pending.json()["error"]) == (400, "authorization_pending")
    upn, password = f"admin-{uuid.uuid4().hex[:6]}@contoso.com", "Admin " + secrets.token_urlsafe(12)
    admin = tenant.add_user(upn, password, roles=["Global Administrator"])
    assert tenant.approve_device_code(flow["user_code"], upn, password)
    flow["latest_attempt_at"] = 0  # the raw poll above is not MSAL's; let it poll at once
    result = public.acquire_token_by_device_flow(flow)
    assert "access_token" in result, result.get("error_description")
    assert jwt.decode(result["access_token"], options={"verify_signature": False})["oid"] == admin["id"]
    assert graph_get(tenant, result["access_token"]).status_code == 200


def test_an_assertion_with_nbf_and_exp_as_digit_strings_is_accepted(tenant, cert_app, client_cert):
    """MSAL.NET (Azure.Identity's ClientCertificateCredential) writes the times as strings."""
    app, _ = cert_app
    now = int(time.time())
    response = client_assertion_token(tenant, app.app_id, ps256_assertion(
        tenant, app.app_id, client_cert.cert_pem, client_cert.key_pem, nbf=str(now), exp=str(now + 600)))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("times", [{"exp": "soon"}, {"nbf": None}, {"exp": True}])
def test_an_assertion_with_times_that_are_no_numeric_dates_is_refused(tenant, cert_app, client_cert, times):
    app, _ = cert_app
    response = client_assertion_token(tenant, app.app_id, ps256_assertion(
        tenant, app.app_id, client_cert.cert_pem, client_cert.key_pem, **times))
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client" and response.json()["error_codes"] == [50027]
