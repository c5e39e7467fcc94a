"""An administrator signs in to the local tenant as Microsoft's "Microsoft Graph Command Line Tools" public
client, with real MSAL Python: device code approved by a named user, and the browser flow (authorization code
with PKCE) through the tenant's sign-in page in headless chromium."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import msal
import pytest

from .conftest import http_session

CLI_TOOLS = "14d82eec-204b-4c2f-b7e8-296a70dab67e"
GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
PRIVILEGED_ROLE_ADMIN = "e8611ab8-c189-46e8-94e1-60213ab1f814"
SIGN_IN_SCRIPT = Path(__file__).resolve().parents[2] / "browser" / "sign-in.mjs"
WIZARD_SCOPES = ("Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All", "User.Read")


def claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def scopes(tenant, names=WIZARD_SCOPES) -> list[str]:
    return [f"{tenant.graph_endpoint}/{n}" for n in names]


@pytest.fixture(scope="module")
def admin(tenant):
    upn, password = f"pra-{uuid.uuid4().hex[:6]}@contoso.com", "Sign-in " + secrets.token_urlsafe(12)
    user = tenant.add_user(upn, password, roles=["Privileged Role Administrator"])
    return {**user, "password": password}


@pytest.fixture(scope="module")
def plain_user(tenant):
    upn, password = f"user-{uuid.uuid4().hex[:6]}@contoso.com", "Plain " + secrets.token_urlsafe(12)
    return {**tenant.add_user(upn, password), "password": password}


@pytest.fixture
def app(tenant):
    return msal.PublicClientApplication(CLI_TOOLS, authority=f"{tenant.url}/{tenant.tenant_id}",
                                        instance_discovery=False, http_client=http_session(tenant))


def device_flow(app, tenant, names=WIZARD_SCOPES) -> dict:
    flow = app.initiate_device_flow(scopes=scopes(tenant, names))
    assert "user_code" in flow, flow
    return flow


def redeem(app, flow) -> dict:
    flow["expires_at"] = 0  # one poll: the sign-in is already decided, or the test wants the first answer
    return app.acquire_token_by_device_flow(flow)


def test_a_user_made_through_the_admin_api_is_a_directory_user_with_roles(tenant, admin):
    assert admin["roles"] == [PRIVILEGED_ROLE_ADMIN]
    with pytest.raises(RuntimeError, match="password"):  # Entra's complexity rule for cloud users
        tenant.add_user(f"weak-{uuid.uuid4().hex[:6]}@contoso.com", "short")
    with pytest.raises(RuntimeError, match="Unknown directory roles"):
        tenant.add_user(f"x-{uuid.uuid4().hex[:6]}@contoso.com", "Passw0rd-long", roles=["Chief"])
    with pytest.raises(RuntimeError, match="same value for property userPrincipalName"):
        tenant.add_user(admin["userPrincipalName"], "Passw0rd-long")


def test_device_code_approved_by_a_named_user_gives_that_users_token(tenant, app, admin):
    flow = device_flow(app, tenant)
    pending = [p for p in tenant.pending_device_codes() if p["userCode"] == flow["user_code"]]
    assert len(pending) == 1 and pending[0]["clientId"] == CLI_TOOLS
    assert set(scopes(tenant)) <= set(pending[0]["scope"].split())
    assert tenant.approve_device_code(flow["user_code"], admin["userPrincipalName"], admin["password"])
    assert flow["user_code"] not in {p["userCode"] for p in tenant.pending_device_codes()}
    result = redeem(app, flow)
    assert "access_token" in result, result.get("error_description")
    token = claims(result["access_token"])
    assert (token["idtyp"], token["oid"], token["upn"], token["appid"]) == (
        "user", admin["id"], admin["userPrincipalName"], CLI_TOOLS)
    assert token["wids"] == [PRIVILEGED_ROLE_ADMIN]
    assert sorted(token["scp"].split()) == sorted(WIZARD_SCOPES)
    assert result["id_token_claims"]["oid"] == admin["id"] and result["id_token_claims"]["aud"] == CLI_TOOLS
    issued = tenant.issued_user_tokens()
    assert result["access_token"] in issued["accessTokens"] and result["refresh_token"] in issued["refreshTokens"]


def test_the_refresh_token_gives_new_tokens_for_the_consented_scopes_only(tenant, app, admin):
    flow = device_flow(app, tenant)
    tenant.approve_device_code(flow["user_code"], admin["userPrincipalName"], admin["password"])
    first = redeem(app, flow)
    again = app.acquire_token_by_refresh_token(first["refresh_token"], scopes(tenant, ["User.Read"]))
    assert "access_token" in again, again.get("error_description")
    assert claims(again["access_token"])["scp"] == "User.Read" and again["access_token"] != first["access_token"]
    more = app.acquire_token_by_refresh_token(first["refresh_token"], scopes(tenant, ["Directory.ReadWrite.All"]))
    assert more.get("error") == "invalid_grant" and 65001 in more["error_codes"]
    tenant.revoke_tokens()  # revoking the sessions ends refresh tokens too
    gone = app.acquire_token_by_refresh_token(first["refresh_token"], scopes(tenant, ["User.Read"]))
    assert gone.get("error") == "invalid_grant"


def test_device_code_declined(tenant, app):
    flow = device_flow(app, tenant)
    assert tenant.decline_device_code(flow["user_code"])
    result = redeem(app, flow)
    assert result.get("error") == "authorization_declined", result


def test_device_code_on_the_page_names_the_user_and_refuses_a_wrong_password(tenant, app, admin):
    flow = device_flow(app, tenant)
    page = http_session(tenant)
    assert 'name=passwd type=password' in page.get(f"{tenant.url}/devicelogin").text
    form = {"user_code": flow["user_code"], "action": "accept", "login": admin["userPrincipalName"]}
    wrong = page.post(f"{tenant.url}/devicelogin", data={**form, "passwd": "Wr0ng-password"})
    assert "AADSTS50126" in wrong.text and "Wr0ng-password" not in wrong.text
    with pytest.raises(RuntimeError, match="AADSTS50126"):
        tenant.approve_device_code(flow["user_code"], admin["userPrincipalName"], "wrong" + admin["password"])
    assert "authorization_pending" == redeem(app, dict(flow)).get("error")
    ok = page.post(f"{tenant.url}/devicelogin", data={**form, "passwd": admin["password"]})
    assert "You have signed in" in ok.text
    assert claims(redeem(app, flow)["access_token"])["oid"] == admin["id"]


def test_a_user_without_an_admin_role_cannot_consent_to_admin_permissions(tenant, app, plain_user):
    flow = device_flow(app, tenant)
    with pytest.raises(RuntimeError, match="AADSTS90094"):
        tenant.approve_device_code(flow["user_code"], plain_user["userPrincipalName"], plain_user["password"])
    own = device_flow(app, tenant, ["User.Read"])  # what users may consent to themselves
    assert tenant.approve_device_code(own["user_code"], plain_user["userPrincipalName"], plain_user["password"])
    token = claims(redeem(app, own)["access_token"])
    assert token["scp"] == "User.Read" and token["wids"] == []


def test_device_code_blocked_by_conditional_access(tenant, app, admin):
    tenant.configure(blocked_sign_in_flows=["device_code"])
    try:
        flow = device_flow(app, tenant)
        tenant.approve_device_code(flow["user_code"], admin["userPrincipalName"], admin["password"])
        result = redeem(app, flow)
        assert result.get("error") == "invalid_grant" and 53003 in result["error_codes"], result
    finally:
        tenant.configure(blocked_sign_in_flows=[])


def test_unknown_scope_is_refused(tenant, app):
    flow = app.initiate_device_flow(scopes=[f"{tenant.graph_endpoint}/Everything.All"])
    assert flow.get("error") == "invalid_scope" and 70011 in flow["error_codes"], flow


# --- authorization code with PKCE, raw -------------------------------------------------------------------
def authorize(tenant, **changes: str | None):
    """The authorization URL MSAL would open (with `changes`; None drops a parameter) and its verifier."""
    verifier = secrets.token_urlsafe(48)
    params = {"client_id": CLI_TOOLS, "response_type": "code", "redirect_uri": "http://localhost:8400",
              "scope": " ".join(scopes(tenant)) + " openid offline_access", "state": "s-1", "nonce": "n-1",
              "code_challenge": base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode()
              .rstrip("="), "code_challenge_method": "S256", **changes}
    params = {k: v for k, v in params.items() if v is not None}
    return f"{tenant.authority}/oauth2/v2.0/authorize?{urlencode(params)}", verifier


def sign_in(tenant, url, user, password=None, action="accept"):
    session = http_session(tenant)
    page = session.get(url, allow_redirects=False)
    assert page.status_code == 200, page.text
    flow = page.text.split('name=flow value="', 1)[1].split('"', 1)[0]
    return session.post(url.split("?")[0], data={"flow": flow, "login": user["userPrincipalName"], "action": action,
                                                 "passwd": password or user["password"]}, allow_redirects=False)


def code_of(answer) -> str:
    assert answer.status_code == 302, answer.text
    assert answer.headers["Location"].startswith("http://localhost:8400/?")  # reply-url: the trailing slash
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["state"] == ["s-1"]
    return query["code"][0]


def redeem_code(tenant, code, verifier, redirect_uri="http://localhost:8400"):
    return http_session(tenant).post(f"{tenant.authority}/oauth2/v2.0/token", data={
        "grant_type": "authorization_code", "client_id": CLI_TOOLS, "code": code, "redirect_uri": redirect_uri,
        "code_verifier": verifier, "client_info": "1", "scope": " ".join(scopes(tenant))})


def test_code_with_pkce_gives_tokens_once(tenant, admin):
    url, verifier = authorize(tenant)
    code = code_of(sign_in(tenant, url, admin))
    answer = redeem_code(tenant, code, verifier)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert claims(body["id_token"])["nonce"] == "n-1" and claims(body["id_token"])["aud"] == CLI_TOOLS
    info = json.loads(base64.urlsafe_b64decode(body["client_info"] + "=="))
    assert info == {"uid": admin["id"], "utid": tenant.tenant_id}
    assert claims(body["access_token"])["wids"] == [PRIVILEGED_ROLE_ADMIN] and body["refresh_token"]
    reused = redeem_code(tenant, code, verifier)
    assert reused.status_code == 400 and reused.json()["error_codes"] == [54005]


def test_form_post_answers_with_a_form_to_the_redirect_uri(tenant, admin):
    url, verifier = authorize(tenant, response_mode="form_post")
    answer = sign_in(tenant, url, admin)
    assert answer.status_code == 200 and 'action="http://localhost:8400"' in answer.text
    code = answer.text.split('name="code" value="', 1)[1].split('"', 1)[0]
    assert redeem_code(tenant, code, verifier).status_code == 200


def test_code_needs_the_right_verifier_and_redirect(tenant, admin):
    url, verifier = authorize(tenant)
    wrong = redeem_code(tenant, code_of(sign_in(tenant, url, admin)), "x" + verifier)
    assert wrong.status_code == 400 and wrong.json()["error_codes"] == [50148]
    url, verifier = authorize(tenant)
    missing = redeem_code(tenant, code_of(sign_in(tenant, url, admin)), "")
    assert missing.json()["error_codes"] == [50148]
    url, verifier = authorize(tenant)
    moved = redeem_code(tenant, code_of(sign_in(tenant, url, admin)), verifier, "http://localhost:8401")
    assert moved.status_code == 400 and moved.json()["error"] == "invalid_grant"


def test_authorize_refuses_a_request_without_pkce_or_with_plain(tenant):
    for extra in ({"code_challenge": None, "code_challenge_method": None}, {"code_challenge_method": "plain"}):
        url, _ = authorize(tenant, **extra)
        answer = http_session(tenant).get(url, allow_redirects=False)
        assert answer.status_code == 302
        query = parse_qs(urlsplit(answer.headers["Location"]).query)
        assert query["error"] == ["invalid_request"] and query["state"] == ["s-1"]


def test_a_silent_request_finds_nobody_signed_in(tenant):
    url, _ = authorize(tenant, prompt="none")
    answer = http_session(tenant).get(url, allow_redirects=False)
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["error"] == ["login_required"] and query["error_description"][0].startswith("AADSTS50058")


@pytest.mark.parametrize("redirect_uri", ["https://evil.example/cb", "http://127.0.0.1:8400",
                                          "http://localhost:8400/other", "http://localhost.evil.example"])
def test_authorize_never_redirects_to_an_unregistered_uri(tenant, redirect_uri):
    url, _ = authorize(tenant, redirect_uri=redirect_uri)
    answer = http_session(tenant).get(url, allow_redirects=False)
    assert answer.status_code == 400 and "Location" not in answer.headers
    assert "AADSTS50011" in answer.text


def test_wrong_password_shows_the_page_again_and_cancel_returns_access_denied(tenant, admin):
    url, _ = authorize(tenant)
    again = sign_in(tenant, url, admin, password="not-" + admin["password"])
    assert again.status_code == 200 and "AADSTS50126" in again.text and admin["password"] not in again.text
    cancelled = sign_in(tenant, url, admin, action="cancel")
    query = parse_qs(urlsplit(cancelled.headers["Location"]).query)
    assert query["error"] == ["access_denied"] and query["error_description"][0].startswith("AADSTS65004")


def test_the_page_escapes_what_it_echoes(tenant):
    url, _ = authorize(tenant, login_hint='"><script>alert(1)</script>')
    page = http_session(tenant).get(url)
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;" in page.text


def test_authorization_code_blocked_by_conditional_access(tenant, admin):
    tenant.configure(blocked_sign_in_flows=["authorization_code"])
    try:
        url, verifier = authorize(tenant)
        answer = redeem_code(tenant, code_of(sign_in(tenant, url, admin)), verifier)
        assert answer.status_code == 400 and answer.json()["error_codes"] == [53003]
    finally:
        tenant.configure(blocked_sign_in_flows=[])


# --- the browser flow, with MSAL and headless chromium -----------------------------------------------
needs_chromium = pytest.mark.skipif(not (shutil.which("node") and Path("/usr/bin/chromium").exists()),
                                    reason="needs node and Debian's chromium (scripts/setup.sh installs them)")


@pytest.fixture
def browser(monkeypatch):
    def use(user, action="accept"):
        monkeypatch.setenv("BROWSER", f"node {SIGN_IN_SCRIPT} %s &")  # & : webbrowser does not wait for it
        monkeypatch.setenv("DIRSYNC_SIGNIN_USER", user["userPrincipalName"])
        monkeypatch.setenv("DIRSYNC_SIGNIN_PASSWORD", user["password"])
        monkeypatch.setenv("DIRSYNC_SIGNIN_ACTION", action)
        import webbrowser
        monkeypatch.setattr(webbrowser, "_tryorder", None)  # read BROWSER again
    return use


@needs_chromium
def test_interactive_sign_in_through_headless_chromium(tenant, app, admin, browser):
    browser(admin)
    result = app.acquire_token_interactive(scopes(tenant), timeout=60, prompt="select_account")
    assert "access_token" in result, result
    token = claims(result["access_token"])
    assert token["oid"] == admin["id"] and sorted(token["scp"].split()) == sorted(WIZARD_SCOPES)
    assert result["id_token_claims"]["preferred_username"] == admin["userPrincipalName"]
    assert os.environ["DIRSYNC_SIGNIN_PASSWORD"] not in json.dumps(result)


@needs_chromium
def test_cancel_in_the_browser_is_access_denied(tenant, app, admin, browser):
    browser(admin, action="cancel")
    result = app.acquire_token_interactive(scopes(tenant), timeout=60)
    assert result.get("error") == "access_denied" and "AADSTS65004" in result["error_description"], result
