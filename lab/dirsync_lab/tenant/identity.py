"""The identity side of the local tenant, as the Microsoft identity platform documents it:

- OIDC discovery: https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc
- client credentials with a secret or a certificate (client assertion, RS256+x5t or PS256+x5t#S256):
  https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow ,
  https://learn.microsoft.com/entra/identity-platform/certificate-credentials
- device code: https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code
- token errors: https://learn.microsoft.com/entra/identity-platform/reference-error-codes
- authorization code with PKCE: https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow ,
  redirect URIs (loopback): https://learn.microsoft.com/entra/identity-platform/reply-url
- refresh tokens: https://learn.microsoft.com/entra/identity-platform/refresh-tokens
- ID tokens and client_info: https://learn.microsoft.com/entra/identity-platform/id-token-claims-reference
Access tokens are JWTs the tenant signs with its own key (published at jwks_uri). An app's token carries in
`roles` the Graph permissions granted to it (store.app_roles); permissions.py checks them on every call. A
user's token carries in `scp` the delegated permissions the user consented to and in `wids` the user's roles.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import string
import threading
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import urlsplit

from cryptography import x509

from . import jws
from .people import People, SignInError
from .permissions import GRAPH_APP_ID, GRAPH_SCOPES
from .pki import Pki, thumbprints
from .store import CLI_TOOLS_APP_ID, Store

GRAPH_RESOURCE = "https://graph.microsoft.com"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEVICE_CODE_LIFETIME = 900
AUTH_CODE_LIFETIME = 600          # v2-oauth2-auth-code-flow: codes are short lived, about 10 minutes
REFRESH_LIFETIME = 90 * 24 * 3600  # configurable-token-lifetimes: refresh tokens live 90 days
# Redirect URIs of the first-party public clients (the lab registers none for its own apps).
REDIRECT_URIS = {CLI_TOOLS_APP_ID: ("http://localhost",)}
OIDC_SCOPES = ("openid", "profile", "email", "offline_access")
# Of Microsoft Graph's delegated permissions the tenant knows (permissions.GRAPH_SCOPES), those a user may
# consent to alone; every other one needs an administrator's consent
# (https://learn.microsoft.com/graph/permissions-reference, "Admin consent required").
USER_CONSENTABLE = {"User.Read"}
# Who may consent to permissions that need an administrator (grant-admin-consent, "Prerequisites").
CONSENT_ROLES = {"62e90394-69f5-4237-9190-012177145e10",   # Global Administrator
                 "e8611ab8-c189-46e8-94e1-60213ab1f814",   # Privileged Role Administrator
                 "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",   # Application Administrator
                 "158c047a-c907-4556-b7ef-446551a6b5f7"}   # Cloud Application Administrator


class TokenError(Exception):
    """An OAuth error answer of the token endpoint."""

    def __init__(self, status: int, error: str, aadsts: int, description: str):
        super().__init__(description)
        self.status, self.error, self.aadsts, self.description = status, error, aadsts, description

    def body(self) -> dict:
        trace = str(uuid.uuid4())
        return {"error": self.error, "error_description": f"AADSTS{self.aadsts}: {self.description} "
                f"Trace ID: {trace} Correlation ID: {trace} Timestamp: {_now()}",
                "error_codes": [self.aadsts], "timestamp": _now(), "trace_id": trace,
                "correlation_id": trace, "error_uri": f"https://login.microsoftonline.com/error?code={self.aadsts}"}


class AuthorizeError(Exception):
    """An error of the authorization endpoint: sent back to the app's redirect URI when that URI is known
    good (`redirect`), else shown on the page (a bad client or redirect URI never gets a redirect)."""

    def __init__(self, error: str, aadsts: int, description: str, redirect: dict | None = None):
        super().__init__(description)
        self.error, self.aadsts, self.description, self.redirect = error, aadsts, description, redirect

    def params(self) -> dict:
        return {"error": self.error, "error_description": f"AADSTS{self.aadsts}: {self.description}"}


class AuthFailure(Exception):
    """Graph refuses the bearer token: 401 InvalidAuthenticationToken."""


def _numeric_date(value) -> float | None:
    """A JWT NumericDate (RFC 7519): a number, or a string of digits as MSAL.NET writes nbf and exp in its
    client assertions (Entra accepts those, or MSAL.NET's certificate sign-in would fail); else None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return float(value)
    return None


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


class Identity:
    def __init__(self, store: Store, pki: Pki, base_url: str, people: People):
        self.store, self.pki, self.base, self.people = store, pki, base_url.rstrip("/"), people
        self.graph_audiences = {GRAPH_RESOURCE, GRAPH_APP_ID, self.base}
        # Sign-ins in progress and refresh tokens live in memory: they do not survive restarts.
        self._device: dict[str, dict] = {}   # device_code -> flow
        self._pending: dict[str, dict] = {}  # sign-in page's flow id -> authorization request
        self._codes: dict[str, dict] = {}    # authorization code -> grant
        self._refresh: dict[str, dict] = {}  # refresh token -> grant
        self._lock = threading.Lock()
        self._issued: set[str] = set()    # uti of every token issued since start (revoke() refuses them)
        self._revoked: set[str] = set()
        self.issued_count = 0
        # Every token issued to a user, for the lab's secrets scan (issued_user_tokens); never logged.
        self._user_tokens: dict[str, list[str]] = {"accessTokens": [], "refreshTokens": [], "idTokens": []}

    # --- discovery --------------------------------------------------------------------------------------
    def knows_tenant(self, tenant: str) -> bool:
        tenant = tenant.lower()
        return tenant in (self.store.tenant_id, "organizations") or tenant in {
            d["name"] for d in self.store.domains()}

    def issuer(self) -> str:
        return f"{self.base}/{self.store.tenant_id}/v2.0"

    def openid_configuration(self) -> dict:
        tid = self.store.tenant_id
        root = f"{self.base}/{tid}"
        return {
            "issuer": self.issuer(),
            "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
            "token_endpoint": f"{root}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
            "jwks_uri": f"{self.base}/{tid}/discovery/v2.0/keys",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                      "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "tenant_region_scope": None,
            "cloud_instance_name": "dirsync.local",
            "msgraph_host": self.base.split("://", 1)[1],
        }

    def jwks(self) -> dict:
        numbers = self.pki.signing_key.public_key().public_numbers()
        n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
        e = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
        return {"keys": [{"kty": "RSA", "use": "sig", "kid": self.pki.signing_kid, "n": jws.b64url(n),
                          "e": jws.b64url(e)}]}

    # --- token endpoint ---------------------------------------------------------------------------------
    def token(self, form: dict[str, str], basic: tuple[str, str] | None) -> dict:
        grant = form.get("grant_type")
        if grant == "client_credentials":
            app = self._authenticate_client(form, basic)
            audience = self._resource(form.get("scope", ""))
            return self._issue(audience, {"appid": app["app_id"], "azp": app["app_id"], "oid": app["object_id"],
                                          "sub": app["object_id"], "idtyp": "app",
                                          "roles": self.store.app_roles(app["app_id"])})
        if grant == DEVICE_GRANT:
            return self._redeem_device_code(form)
        if grant == "authorization_code":
            return self._redeem_code(form, basic)
        if grant == "refresh_token":
            return self._redeem_refresh_token(form, basic)
        raise TokenError(400, "unsupported_grant_type", 70003,
                         f"The app requested an unsupported grant type '{grant}'.")

    def _app(self, client_id: str | None):
        if not client_id:
            raise TokenError(400, "invalid_request", 900144,
                             "The request body must contain the following parameter: 'client_id'.")
        app = self.store.app(client_id.lower())
        if app is None:
            raise TokenError(400, "unauthorized_client", 700016,
                             f"Application with identifier '{client_id}' was not found in the directory "
                             f"'{self.store.tenant_id}'.")
        return app

    def _authenticate_client(self, form: dict, basic: tuple[str, str] | None):
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if basic:
            client_id, secret = basic
        app = self._app(client_id)
        # What was made through Graph signs in only once replicated (identity_replication_seconds):
        # until then the identity platform does not know the app yet, as in Entra.
        if app["ready"] > time.time():
            raise TokenError(400, "unauthorized_client", 700016,
                             f"Application with identifier '{client_id}' was not found in the directory "
                             f"'{self.store.tenant_id}'.")
        sp = self.store.service_principal(app["app_id"])
        if sp is None or sp["ready"] > time.time():
            raise TokenError(401, "invalid_client", 7000229, f"The client application {app['app_id']} is missing "
                             f"service principal in the tenant {self.store.tenant_id}.")
        if json.loads(sp["data"]).get("accountEnabled") is False:
            raise TokenError(400, "unauthorized_client", 7000112, f"Application '{app['app_id']}' is disabled.")
        if form.get("client_assertion_type") == ASSERTION_TYPE and form.get("client_assertion"):
            self._check_assertion(app, form["client_assertion"])
        elif secret is not None:
            if not self.store.secret_matches(app, secret):
                raise TokenError(401, "invalid_client", 7000215,
                                 "Invalid client secret provided. Ensure the secret being sent in the request is "
                                 f"the client secret value, not the client secret ID, for a secret added to app "
                                 f"'{app['app_id']}'.")
        else:
            raise TokenError(401, "invalid_client", 7000218, "The request body must contain the following "
                             "parameter: 'client_assertion' or 'client_secret'.")
        return app

    def _check_assertion(self, app, assertion: str) -> None:
        try:
            header, claims, _, _ = jws.parse(assertion)
        except jws.InvalidToken:
            raise TokenError(401, "invalid_client", 50027, "JWT token is invalid or malformed.") from None
        alg = header.get("alg")
        # RS256 names the certificate by x5t (SHA-1), PS256 by x5t#S256 (SHA-256); MSAL pads its base64url.
        named = str(header.get("x5t" if alg == "RS256" else "x5t#S256", "")).rstrip("=")
        cert = key = None
        for row in self.store.usable_keys(app["object_id"]):
            candidate = x509.load_pem_x509_certificate(row["cert_pem"].encode())
            sha1_hex, sha256_b64 = thumbprints(candidate)
            if alg in ("RS256", "PS256") and named == (jws.b64url(bytes.fromhex(sha1_hex)) if alg == "RS256"
                                                       else sha256_b64):
                cert, key = candidate, row
                break
        if cert is None or key is None:
            raise TokenError(401, "invalid_client", 700027, "The certificate with identifier used to sign the "
                             "client assertion is not registered on application.")
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        if not key["start"] <= stamp < key["end"]:
            raise TokenError(401, "invalid_client", 700027, "Client assertion contains an invalid signature. "
                             "[Reason - The key used is expired.]")
        try:
            jws.verify(assertion, cert.public_key())
        except jws.InvalidToken:
            raise TokenError(401, "invalid_client", 700027, "Client assertion failed signature validation.") from None
        now = time.time()
        token_endpoint = self.openid_configuration()["token_endpoint"]
        if claims.get("iss") != app["app_id"] or claims.get("sub") != app["app_id"]:
            raise TokenError(401, "invalid_client", 700023, "Client assertion audience or issuer claim is "
                             "invalid: iss and sub must be the client id.")
        if claims.get("aud") not in (token_endpoint, token_endpoint.replace(self.store.tenant_id, "organizations")):
            raise TokenError(401, "invalid_client", 700021, "Client assertion audience claim does not match "
                             f"Realm issuer. Expected '{token_endpoint}'.")
        nbf, exp = _numeric_date(claims.get("nbf", 0)), _numeric_date(claims.get("exp", 0))
        if nbf is None or exp is None:
            raise TokenError(401, "invalid_client", 50027, "JWT token is invalid or malformed.")
        if not (nbf - 300 <= now < exp + 300):
            raise TokenError(401, "invalid_client", 700024, "Client assertion is not within its valid time range.")

    def _resource(self, scope: str) -> str:
        scopes = scope.split()
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            raise TokenError(400, "invalid_scope", 1002012, f"The provided value for scope {scope} is not valid. "
                             "Client credential flows must have a scope value with /.default suffixed to the "
                             "resource identifier (application ID URI).")
        resource = scopes[0][: -len("/.default")].rstrip("/")
        if resource in self.graph_audiences:
            return GRAPH_RESOURCE
        app_id = resource[len("api://"):] if resource.startswith("api://") else resource
        if self.store.app(app_id.lower()):
            return resource
        raise TokenError(400, "invalid_resource", 500011, f"The resource principal named {resource} was not found "
                         f"in the tenant named {self.store.tenant_id}.")

    def _issue(self, audience: str, claims: dict) -> dict:
        lifetime = int(self.store.settings()["token_lifetime"])
        now = int(time.time())
        payload = {"aud": audience, "iss": self.issuer(), "iat": now, "nbf": now, "exp": now + lifetime,
                   "tid": self.store.tenant_id, "ver": "2.0", "uti": secrets.token_urlsafe(16), **claims}
        token = jws.sign(payload, self.pki.signing_key, {"kid": self.pki.signing_kid})
        with self._lock:
            self._issued.add(payload["uti"])
            self.issued_count += 1
        return {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                "access_token": token}

    # --- delegated scopes and user tokens ------------------------------------------------------------
    def _delegated(self, scope: str) -> dict:
        """The delegated request in `scope`: one resource (as the app wrote it), the Graph permissions asked for
        and the OpenID scopes. A bare permission name means Microsoft Graph (v2-permissions-and-consent)."""
        oidc = [s for s in scope.split() if s in OIDC_SCOPES]
        asked = [s for s in scope.split() if s not in OIDC_SCOPES]
        resources = {s.rsplit("/", 1)[0] if "/" in s else GRAPH_RESOURCE for s in asked}
        if len(resources) > 1:
            raise TokenError(400, "invalid_scope", 28000, "Provided value for the input parameter scope is not "
                             f"valid because it contains more than one resource. Scope {scope} is not valid.")
        resource = resources.pop() if resources else GRAPH_RESOURCE
        audience = self._resource(f"{resource}/.default")
        names = [s.rsplit("/", 1)[-1] for s in asked]
        if ".default" in names:
            if len(names) > 1:
                raise TokenError(400, "invalid_scope", 70011, "The provided value for the input parameter "
                                 f"'scope' is not valid. The scope {scope} is not valid: /.default cannot be "
                                 "combined with other scopes of the resource.")
            return {"resource": resource, "audience": audience, "names": [], "default": True, "oidc": oidc}
        known = {n.lower(): n for n in GRAPH_SCOPES} if audience == GRAPH_RESOURCE else {}
        for name in names:
            if name.lower() not in known:
                raise TokenError(400, "invalid_scope", 70011, "The provided value for the input parameter "
                                 f"'scope' is not valid. The scope '{resource}/{name}' does not exist.")
        names = list(dict.fromkeys(known[n.lower()] for n in names))
        return {"resource": resource, "audience": audience, "names": names, "default": False, "oidc": oidc}

    def _consent(self, request: dict, user) -> None:
        """The user consents on the page; permissions that need an administrator need one of CONSENT_ROLES."""
        admin_only = [n for n in request["names"] if n not in USER_CONSENTABLE]
        if admin_only and not set(self.people.claims(user)["wids"]) & CONSENT_ROLES:
            raise SignInError(90094, "Admin consent is required for the permissions requested by this "
                                     f"application ({', '.join(admin_only)}). An administrator (Global, Privileged "
                                     "Role, Application or Cloud Application Administrator) must sign in.")

    def _blocked(self, flow: str) -> None:
        if flow in (self.store.settings()["blocked_sign_in_flows"] or []):
            raise TokenError(400, "invalid_grant", 53003, "Access has been blocked by Conditional Access "
                             "policies. The access policy does not allow token issuance.")

    def _issue_user(self, grant: dict, form: dict) -> dict:
        """Tokens for a user's grant {client_id, user_id, flow, request, nonce?}: the access token, an ID token
        for openid, a refresh token for offline_access, client_info when asked (client_info=1)."""
        user = self.people.active(grant["user_id"])
        if user is None:
            raise TokenError(400, "invalid_grant", 50057, "The user account is disabled or was deleted.")
        request, client_id, tid = grant["request"], grant["client_id"], self.store.tenant_id
        person = self.people.claims(user)
        # sub is pairwise: the same user has another sub in every app (id-token-claims-reference)
        sub = jws.b64url(hashlib.sha256(f"{person['oid']}:{client_id}".encode()).digest())
        scp = request["names"] or (self.store.app_roles(client_id) if request["default"] else [])
        answer = self._issue(request["audience"], {"appid": client_id, "azp": client_id, "idtyp": "user",
                                                   "amr": ["pwd"], **person, "sub": sub, "scp": " ".join(scp)})
        tokens = [("accessTokens", answer["access_token"])]
        answer["scope"] = " ".join([f"{request['resource']}/{n}" for n in scp] + request["oidc"])
        now = int(time.time())
        if "openid" in request["oidc"]:
            claims = {"aud": client_id, "iss": self.issuer(), "iat": now, "nbf": now,
                      "exp": now + int(self.store.settings()["token_lifetime"]), "sub": sub, "oid": person["oid"],
                      "tid": tid, "ver": "2.0", "name": person["name"],
                      "preferred_username": person["preferred_username"]}
            if grant.get("nonce"):
                claims["nonce"] = grant["nonce"]
            answer["id_token"] = jws.sign(claims, self.pki.signing_key, {"kid": self.pki.signing_kid})
            tokens.append(("idTokens", answer["id_token"]))
        if "offline_access" in request["oidc"]:
            answer["refresh_token"] = secrets.token_urlsafe(48)
            tokens.append(("refreshTokens", answer["refresh_token"]))
        if form.get("client_info") == "1":
            answer["client_info"] = jws.b64url(json.dumps({"uid": person["oid"], "utid": tid}).encode())
        with self._lock:
            if "refresh_token" in answer:
                self._refresh[answer["refresh_token"]] = {**grant, "expires": time.time() + REFRESH_LIFETIME}
            for kind, token in tokens:
                self._user_tokens[kind].append(token)
        return answer

    def issued_user_tokens(self) -> dict:
        with self._lock:
            return {kind: list(tokens) for kind, tokens in self._user_tokens.items()}

    def _public_client(self, form: dict, basic) -> sqlite3.Row:
        """The public client of a user sign-in, which must present no secret (AADSTS700025)."""
        app = self._app(basic[0] if basic else form.get("client_id"))
        if basic or form.get("client_secret") or form.get("client_assertion"):
            raise TokenError(401, "invalid_client", 700025, "Client is public so neither 'client_assertion' nor "
                             "'client_secret' should be presented.")
        if not app["public_client"]:
            raise TokenError(401, "invalid_client", 7000218, "The request body must contain the following "
                             "parameter: 'client_assertion' or 'client_secret'.")
        return app

    # --- authorization code with PKCE -------------------------------------------------------------------
    def begin_authorization(self, params: dict) -> tuple[str, dict]:
        """GET /authorize: checks the request and keeps it under a new flow id for the sign-in page."""
        client_id = (params.get("client_id") or "").lower()
        app = self.store.app(client_id) if client_id else None
        if app is None:
            raise AuthorizeError("unauthorized_client", 700016, f"Application with identifier '{client_id}' was "
                                 f"not found in the directory '{self.store.tenant_id}'.")
        redirect_uri = params.get("redirect_uri") or ""
        if not any(_redirect_matches(r, redirect_uri) for r in REDIRECT_URIS.get(client_id, ())):
            raise AuthorizeError("invalid_request", 50011, f"The redirect URI '{redirect_uri}' specified in the "
                                 f"request does not match the redirect URIs configured for the application "
                                 f"'{client_id}'.")
        mode = params.get("response_mode") or "query"
        back = {"redirect_uri": redirect_uri, "response_mode": mode if mode in ("query", "fragment", "form_post")
                else "query", "state": params.get("state")}
        if mode not in ("query", "fragment", "form_post"):
            raise AuthorizeError("invalid_request", 900144, f"The response_mode '{mode}' is not supported.", back)
        if params.get("response_type") != "code":
            raise AuthorizeError("unsupported_response_type", 700054, "The app requested response_type "
                                 f"'{params.get('response_type')}'; this client may only ask for 'code'.", back)
        challenge, method = params.get("code_challenge") or "", params.get("code_challenge_method") or ""
        if not challenge:
            raise AuthorizeError("invalid_request", 9002325, "Proof Key for Code Exchange is required for this "
                                 "public client: send code_challenge and code_challenge_method=S256.", back)
        if method != "S256":
            raise AuthorizeError("invalid_request", 501491, f"The code_challenge_method '{method}' is not allowed;"
                                 " this public client must use S256.", back)
        if len(challenge) != 43 or not set(challenge) <= set(string.ascii_letters + string.digits + "-_"):
            raise AuthorizeError("invalid_request", 501491, "Invalid size of Code_Challenge parameter.", back)
        try:
            request = self._delegated(params.get("scope") or "")
        except TokenError as err:
            raise AuthorizeError(err.error, err.aadsts, err.description, back) from None
        if params.get("prompt") == "none":  # the tenant keeps no sign-in session: nobody is signed in
            raise AuthorizeError("login_required", 50058, "A silent sign-in request was sent but no user is "
                                 "signed in.", back)
        flow_id = secrets.token_urlsafe(24)
        flow = {"client_id": client_id, "client_name": app["display_name"], "request": request,
                "challenge": challenge, "nonce": params.get("nonce"), "login_hint": params.get("login_hint") or "",
                "back": back, "expires": time.time() + AUTH_CODE_LIFETIME}
        with self._lock:
            self._pending = {k: v for k, v in self._pending.items() if v["expires"] > time.time()}
            self._pending[flow_id] = flow
        return flow_id, flow

    def pending_authorization(self, flow_id: str) -> dict | None:
        with self._lock:
            flow = self._pending.get(flow_id or "")
        return flow if flow and flow["expires"] > time.time() else None

    def complete_authorization(self, flow_id: str, accept: bool, upn: str, password: str) -> tuple[dict, dict]:
        """POST of the sign-in page: (where to send the browser, the answer's parameters). A wrong password
        raises SignInError and keeps the flow for another try."""
        flow = self.pending_authorization(flow_id)
        if flow is None:
            raise AuthorizeError("invalid_request", 50058, "The sign-in session is unknown or has expired; "
                                 "start the sign-in again from the application.")
        back = flow["back"]
        if not accept:
            self._forget(flow_id)
            raise AuthorizeError("access_denied", 65004, "User declined to consent to access the app.", back)
        user = self.people.authenticate(upn, password)
        try:
            self._consent(flow["request"], user)
        except SignInError as err:
            self._forget(flow_id)
            raise AuthorizeError("access_denied", err.aadsts, err.message, back) from None
        code = secrets.token_urlsafe(48)
        with self._lock:
            self._pending.pop(flow_id, None)
            self._codes = {k: v for k, v in self._codes.items() if v["expires"] > time.time()}
            self._codes[code] = {"client_id": flow["client_id"], "user_id": user["id"], "flow": "authorization_code",
                                 "request": flow["request"], "nonce": flow["nonce"], "challenge": flow["challenge"],
                                 "redirect_uri": back["redirect_uri"], "expires": time.time() + AUTH_CODE_LIFETIME,
                                 "used": False}
        params = {"code": code}
        if back["state"] is not None:
            params["state"] = back["state"]
        return back, params

    def _forget(self, flow_id: str) -> None:
        with self._lock:
            self._pending.pop(flow_id, None)

    def _redeem_code(self, form: dict, basic) -> dict:
        app = self._public_client(form, basic)
        with self._lock:
            grant = self._codes.get(form.get("code") or "")
            first = grant is not None and not grant["used"]
            if grant is not None:
                grant["used"] = True  # any redemption attempt spends the code
        if grant is None or grant["client_id"] != app["app_id"]:
            raise TokenError(400, "invalid_grant", 70000, "Provided grant is invalid or malformed.")
        if not first:
            raise TokenError(400, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please "
                             "retry with a new valid code or use an existing refresh token.")
        if grant["expires"] <= time.time():
            raise TokenError(400, "invalid_grant", 70008, "The provided authorization code or refresh token has "
                             "expired due to inactivity. Send a new interactive authorization request for this "
                             "user and resource.")
        if form.get("redirect_uri") != grant["redirect_uri"]:
            raise TokenError(400, "invalid_grant", 50011, "The redirect URI of the token request does not match "
                             "the one of the authorization request.")
        verifier = form.get("code_verifier") or ""
        expected = jws.b64url(hashlib.sha256(verifier.encode()).digest())
        if not verifier or not secrets.compare_digest(expected, grant["challenge"]):
            raise TokenError(400, "invalid_grant", 50148, "The code_verifier does not match the code_challenge "
                             "supplied in the authorization request for PKCE.")
        self._blocked("authorization_code")
        return self._issue_user(grant, form)

    def _redeem_refresh_token(self, form: dict, basic) -> dict:
        app = self._public_client(form, basic)
        with self._lock:
            grant = self._refresh.get(form.get("refresh_token") or "")
        if grant is None or grant["client_id"] != app["app_id"]:
            raise TokenError(400, "invalid_grant", 70000, "Provided grant is invalid or malformed.")
        if grant["expires"] <= time.time():
            raise TokenError(400, "invalid_grant", 70008, "The provided authorization code or refresh token has "
                             "expired due to inactivity. Send a new interactive authorization request for this "
                             "user and resource.")
        # Tokens of a flow Conditional Access blocks stay blocked when refreshed (concept-authentication-flows)
        self._blocked(grant["flow"])
        request = self._delegated(form.get("scope") or "") if form.get("scope") else grant["request"]
        missing = [n for n in request["names"] if n not in grant["request"]["names"]]
        if missing or request["audience"] != grant["request"]["audience"]:
            raise TokenError(400, "invalid_grant", 65001, "The user or administrator has not consented to use the "
                             f"application with ID '{app['app_id']}' named '{app['display_name']}' for "
                             f"{', '.join(missing) or request['resource']}. Send an interactive authorization "
                             "request for this user and resource.")
        return self._issue_user({**grant, "request": request, "nonce": None}, form)

    # --- device code ------------------------------------------------------------------------------------
    def start_device_flow(self, form: dict) -> dict:
        app = self._app(form.get("client_id"))
        if not app["public_client"]:
            raise TokenError(400, "invalid_client", 7000218, "The request body must contain the following "
                             "parameter: 'client_assertion' or 'client_secret'.")
        request = self._delegated(form.get("scope", ""))
        user_code = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(9))
        device_code = secrets.token_urlsafe(32)
        interval = int(self.store.settings()["device_code_interval"])
        with self._lock:
            self._device[device_code] = {"user_code": user_code, "client_id": app["app_id"], "request": request,
                                         "scope": form.get("scope", ""), "flow": "device_code",
                                         "expires": time.time() + DEVICE_CODE_LIFETIME, "user_id": None,
                                         "declined": False, "next_poll": 0.0, "interval": interval}
        uri = f"{self.base}/devicelogin"
        return {"user_code": user_code, "device_code": device_code, "verification_uri": uri,
                "expires_in": DEVICE_CODE_LIFETIME, "interval": interval,
                "message": f"To sign in, use a web browser to open the page {uri} and enter the code {user_code} "
                           "to authenticate."}

    def _waiting_flow(self, user_code: str) -> dict | None:
        code = (user_code or "").strip().upper()
        return next((f for f in self._device.values() if f["user_code"] == code and f["expires"] > time.time()
                     and f["user_id"] is None and not f["declined"]), None)

    def pending_device_codes(self) -> list[dict]:
        with self._lock:
            return [{"userCode": f["user_code"], "clientId": f["client_id"], "scope": f["scope"]}
                    for f in self._device.values()
                    if f["expires"] > time.time() and f["user_id"] is None and not f["declined"]]

    def approve_device_code(self, user_code: str, upn: str, password: str) -> bool:
        """The user signs in and consents (the /devicelogin page); False for an unknown or expired code.
        A wrong password or a missing consent role raises SignInError."""
        with self._lock:
            flow = self._waiting_flow(user_code)
        if flow is None:
            return False
        user = self.people.authenticate(upn, password)
        self._consent(flow["request"], user)
        with self._lock:
            flow["user_id"] = user["id"]
        return True

    def decline_device_code(self, user_code: str) -> bool:
        with self._lock:
            flow = self._waiting_flow(user_code)
            if flow is not None:
                flow["declined"] = True
        return flow is not None

    def _redeem_device_code(self, form: dict) -> dict:
        with self._lock:
            flow = self._device.get(form.get("device_code", ""))
            now = time.time()
            if flow is None or flow["client_id"] != (form.get("client_id") or "").lower():
                raise TokenError(400, "invalid_grant", 70000, "Provided grant is invalid or malformed.")
            if flow["expires"] <= now:
                del self._device[form["device_code"]]
                raise TokenError(400, "expired_token", 70020, "The provided value for the input parameter "
                                 "'device_code' is not valid. This device code has expired.")
            if flow["declined"]:
                del self._device[form["device_code"]]
                raise TokenError(400, "authorization_declined", 70000, "The end user denied the authorization "
                                 "request.")
            if flow["user_id"] is None:
                too_soon = now < flow["next_poll"]
                flow["next_poll"] = now + flow["interval"]
                if too_soon:
                    raise TokenError(400, "slow_down", 70016, "The client is polling too quickly.")
                raise TokenError(400, "authorization_pending", 70016, "OAuth 2.0 device flow error. "
                                 "Authorization is pending. Continue polling.")
            del self._device[form["device_code"]]
        self._blocked("device_code")
        return self._issue_user(flow, form)

    # --- validating tokens Graph receives ------------------------------------------------------------
    def validate(self, authorization: str | None) -> dict:
        """https://learn.microsoft.com/graph/errors : 401 InvalidAuthenticationToken."""
        if not authorization or not authorization.lower().startswith("bearer ") or not authorization[7:].strip():
            raise AuthFailure("Access token is empty.")
        try:
            _, claims = jws.verify(authorization[7:].strip(), self.pki.signing_key.public_key())
        except jws.InvalidToken:
            raise AuthFailure("Access token validation failure.") from None
        if claims.get("iss") != self.issuer():
            raise AuthFailure("Access token validation failure. Invalid issuer.")
        if claims.get("aud") not in self.graph_audiences:
            raise AuthFailure("Access token validation failure. Invalid audience.")
        if claims.get("exp", 0) <= time.time():
            raise AuthFailure("Lifetime validation failed, the token is expired.")
        if claims.get("uti") in self._revoked:
            raise AuthFailure("Access token validation failure. The token has been revoked.")
        return claims

    def revoke_all(self) -> int:
        """Revokes every token issued so far (as a sign-in session revocation does); returns how many."""
        with self._lock:
            self._revoked |= self._issued
            count = len(self._issued)
            self._issued = set()
            self._refresh.clear()  # revoking sign-in sessions ends the refresh tokens too
            self._codes.clear()
        return count


def _redirect_matches(registered: str, given: str) -> bool:
    """reply-url: for a loopback redirect URI (localhost, 127.0.0.1) the port is not compared; the rest is,
    exactly (an empty path and "/" are the same URL); localhost and 127.0.0.1 are different URIs."""
    try:
        want, got = urlsplit(registered), urlsplit(given)
        got_port = got.port
    except ValueError:
        return False
    same_rest = ((got.scheme, got.hostname, got.path or "/", got.query)
                 == (want.scheme, want.hostname, want.path or "/", want.query))
    if want.hostname in ("localhost", "127.0.0.1"):
        return same_rest and not got.fragment and (got_port is None or 0 < got_port < 65536)
    return given == registered
