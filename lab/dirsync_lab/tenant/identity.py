"""The identity side of the local tenant, as the Microsoft identity platform documents it:

- OIDC discovery: https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc
- client credentials with a secret or a certificate (client assertion, RS256+x5t or PS256+x5t#S256):
  https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow ,
  https://learn.microsoft.com/entra/identity-platform/certificate-credentials
- device code: https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code
- token errors: https://learn.microsoft.com/entra/identity-platform/reference-error-codes
Access tokens are JWTs the tenant signs with its own key (published at jwks_uri). An app's token carries in
`roles` the Graph permissions granted to it (store.app_roles); permissions.py checks them on every call.
"""

from __future__ import annotations

import json
import secrets
import string
import threading
import time
import uuid
from datetime import datetime, timezone

from cryptography import x509

from . import jws
from .permissions import GRAPH_APP_ID
from .pki import Pki, thumbprints
from .store import Store

GRAPH_RESOURCE = "https://graph.microsoft.com"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEVICE_CODE_LIFETIME = 900


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
    def __init__(self, store: Store, pki: Pki, base_url: str):
        self.store, self.pki, self.base = store, pki, base_url.rstrip("/")
        self.graph_audiences = {GRAPH_RESOURCE, GRAPH_APP_ID, self.base}
        self._device: dict[str, dict] = {}   # device_code -> flow (pending sign-ins do not survive restarts)
        self._lock = threading.Lock()
        self._issued: set[str] = set()    # uti of every token issued since start (revoke() refuses them)
        self._revoked: set[str] = set()
        self.issued_count = 0

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

    # --- device code ------------------------------------------------------------------------------------
    def start_device_flow(self, form: dict) -> dict:
        app = self._app(form.get("client_id"))
        if not app["public_client"]:
            raise TokenError(400, "invalid_client", 7000218, "The request body must contain the following "
                             "parameter: 'client_assertion' or 'client_secret'.")
        scope = form.get("scope", "")
        user_code = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(9))
        device_code = secrets.token_urlsafe(32)
        interval = int(self.store.settings()["device_code_interval"])
        with self._lock:
            self._device[device_code] = {"user_code": user_code, "client_id": app["app_id"], "scope": scope,
                                         "expires": time.time() + DEVICE_CODE_LIFETIME, "approved": False,
                                         "next_poll": 0.0, "interval": interval}
        uri = f"{self.base}/devicelogin"
        return {"user_code": user_code, "device_code": device_code, "verification_uri": uri,
                "expires_in": DEVICE_CODE_LIFETIME, "interval": interval,
                "message": f"To sign in, use a web browser to open the page {uri} and enter the code {user_code} "
                           "to authenticate."}

    def approve_device_code(self, user_code: str) -> bool:
        with self._lock:
            for flow in self._device.values():
                if flow["user_code"] == user_code.strip().upper() and flow["expires"] > time.time():
                    flow["approved"] = True
                    return True
        return False

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
            if not flow["approved"]:
                too_soon = now < flow["next_poll"]
                flow["next_poll"] = now + flow["interval"]
                if too_soon:
                    raise TokenError(400, "slow_down", 70016, "The client is polling too quickly.")
                raise TokenError(400, "authorization_pending", 70016, "OAuth 2.0 device flow error. "
                                 "Authorization is pending. Continue polling.")
            del self._device[form["device_code"]]
        admin = f"admin@{next(d['name'] for d in self.store.domains() if d['is_initial'])}"
        scopes = [s for s in flow["scope"].split() if s not in ("openid", "profile", "offline_access")]
        # Delegated scopes name {resource}/{permission}; /.default asks for what the app was granted.
        resource = scopes[0].rsplit("/", 1)[0] if scopes else GRAPH_RESOURCE
        audience = self._resource(f"{resource}/.default")
        # /.default: the permissions consented for the app (the lab grants delegated as it grants application ones)
        permissions = ([s.rsplit("/", 1)[-1] for s in scopes if not s.endswith("/.default")]
                       or self.store.app_roles(flow["client_id"]))
        return self._issue(audience, {"appid": flow["client_id"], "azp": flow["client_id"], "idtyp": "user",
                                      "upn": admin, "preferred_username": admin, "name": "Administrator",
                                      "oid": self.store.tenant_id, "sub": self.store.tenant_id,
                                      "scp": " ".join(permissions),
                                      "wids": ["62e90394-69f5-4237-9190-012177145e10"]})  # Global Administrator

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
        return count
