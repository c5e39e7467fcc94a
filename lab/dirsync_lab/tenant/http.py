"""The local tenant's HTTP layer: TLS connections, parsing, and sending each path to its part: identity
(/{tenant}/...) with its sign-in page, Graph (/v1.0/...), the admin API (/_admin/..., guarded by the admin
key) and the device code page. Request lines are never logged: filters can carry user names."""

from __future__ import annotations

import hmac
import json
import socket
import ssl
import struct
import time
import uuid
from base64 import b64decode
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit

from . import pages
from .directory import Request
from .identity import AuthFailure, AuthorizeError, TokenError
from .odata import GraphError
from .people import SignInError
from .routes import admin_action, graph_error_body

if TYPE_CHECKING:
    from .server import TenantService

ADMIN_HEADER = "X-DirSync-Admin-Key"
HTML = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address, handler, service: TenantService):
        self.service = service
        super().__init__(address, handler)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server
    server_version = "DirSyncLocalTenant/1.0"

    def setup(self) -> None:
        super().setup()
        self.request.settimeout(60)
        # Headers and body go out in two writes; without this, Nagle + delayed ACK add 40 ms per answer.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        try:
            self.request.do_handshake()
        except (ssl.SSLError, OSError):
            self.close_connection = True
            return
        try:
            super().handle()
        except (ConnectionError, ssl.SSLError, TimeoutError):
            self.close_connection = True

    def log_message(self, format, *args) -> None:  # noqa: A002 - the stdlib's signature
        pass  # request lines can carry user names in filters; the tenant keeps no access log

    def do_GET(self): self._dispatch()
    def do_POST(self): self._dispatch()
    def do_PATCH(self): self._dispatch()
    def do_PUT(self): self._dispatch()
    def do_DELETE(self): self._dispatch()

    # --- plumbing ----------------------------------------------------------------------------------------
    def _send(self, status: int, body=None, headers: dict | None = None) -> None:
        headers = dict(headers or {})
        if body is None:
            data = b""
        elif isinstance(body, (bytes, str)):
            data = body.encode() if isinstance(body, str) else body
        else:
            data = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)

    def _reset(self) -> None:
        """Drop the connection without an answer (RST), as a broken network or proxy would."""
        self.close_connection = True
        try:
            self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass

    def _dispatch(self) -> None:
        service = self.server.service
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        path = url.path
        if path.startswith("/v1.0/"):
            self._graph(service, path[len("/v1.0/"):], url.query, headers, body)
        elif path.startswith("/_admin/"):
            self._admin(service, path[len("/_admin/"):], headers, body)
        elif path == "/devicelogin":
            self._device_login(service, body)
        else:
            self._identity(service, path.strip("/").split("/"), url.query, headers, body)

    # --- identity ----------------------------------------------------------------------------------------
    def _identity(self, service: TenantService, segments: list[str], query: str, headers: dict,
                  body: bytes) -> None:
        tenant, rest = segments[0], "/".join(segments[1:])
        if not service.identity.knows_tenant(tenant):
            err = TokenError(400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found. Check to make sure you "
                             "have the correct tenant ID and are signing into the correct cloud.")
            return self._send(err.status, err.body())
        try:
            if rest == "v2.0/.well-known/openid-configuration" and self.command == "GET":
                return self._send(200, service.identity.openid_configuration())
            if rest == "discovery/v2.0/keys" and self.command == "GET":
                return self._send(200, service.identity.jwks())
            form = dict(parse_qsl(body.decode(errors="replace"), keep_blank_values=True))
            if rest == "oauth2/v2.0/authorize" and self.command in ("GET", "POST"):
                return self._authorize(service, dict(parse_qsl(query, keep_blank_values=True)), form)
            if rest == "oauth2/v2.0/token" and self.command == "POST":
                basic = None
                auth = headers.get("authorization", "")
                if auth.lower().startswith("basic "):
                    client_id, _, secret = b64decode(auth[6:]).decode().partition(":")
                    basic = (client_id, secret)
                return self._send(200, service.identity.token(form, basic), {"Cache-Control": "no-store"})
            if rest == "oauth2/v2.0/devicecode" and self.command == "POST":
                return self._send(200, service.identity.start_device_flow(form))
        except TokenError as err:
            return self._send(err.status, err.body(), {"Cache-Control": "no-store"})
        self._send(404, {"error": "not_found", "error_description": "No such endpoint on the local tenant."})

    def _authorize(self, service: TenantService, query: dict, form: dict) -> None:
        """GET: check the request, show the sign-in page. POST (the page's form): sign in and consent, or
        cancel; then back to the app's redirect URI (identity-platform/v2-oauth2-auth-code-flow)."""
        identity = service.identity
        try:
            if self.command == "GET":
                flow_id, flow = identity.begin_authorization(query)
                return self._sign_in_page(flow_id, flow)
            flow_id = form.get("flow", "")
            try:
                back, params = identity.complete_authorization(flow_id, form.get("action") == "accept",
                                                               form.get("login", ""), form.get("passwd", ""))
            except SignInError as err:
                flow = identity.pending_authorization(flow_id)
                if flow is None:
                    raise AuthorizeError("invalid_request", 50058, "The sign-in session has expired.") from None
                return self._sign_in_page(flow_id, {**flow, "login_hint": form.get("login", "")}, str(err))
            self._redirect(back, params)
        except AuthorizeError as err:
            if err.redirect is None:
                return self._send(400, pages.error_page(f"AADSTS{err.aadsts}: {err.description}"), HTML)
            state = err.redirect["state"]
            self._redirect(err.redirect, {**err.params(), **({"state": state} if state is not None else {})})

    def _sign_in_page(self, flow_id: str, flow: dict, error: str | None = None) -> None:
        self._send(200, pages.sign_in_page(flow_id, flow["client_name"], flow["request"]["names"],
                                           flow["login_hint"], error), HTML)

    def _redirect(self, back: dict, params: dict) -> None:
        """The authorization answer in the response_mode the app asked for."""
        uri, mode = back["redirect_uri"], back["response_mode"]
        if mode == "form_post":
            return self._send(200, pages.form_post_page(uri, params), HTML)
        if not urlsplit(uri).path:  # reply-url: a URI without a path is answered with a trailing slash
            uri = urlsplit(uri)._replace(path="/").geturl()
        separator = "#" if mode == "fragment" else ("&" if "?" in uri else "?")
        self._send(302, None, {"Location": uri + separator + urlencode(params), "Cache-Control": "no-store"})

    def _device_login(self, service: TenantService, body: bytes) -> None:
        """The page a user opens for device code sign-in: the code, their user name and password, then Accept
        (sign in and consent) or Cancel (the app's polling gets authorization_declined)."""
        message = error = None
        if self.command == "POST":
            form = dict(parse_qsl(body.decode(errors="replace")))
            code = form.get("user_code", "")
            try:
                if form.get("action") != "accept":
                    known = service.identity.decline_device_code(code)
                    message = "You have declined the sign-in. You can close this window." if known else None
                else:
                    known = service.identity.approve_device_code(code, form.get("login", ""),
                                                                 form.get("passwd", ""))
                    message = "You have signed in. You can close this window." if known else None
                if not known:
                    error = "That code is unknown or has expired."
            except SignInError as err:
                error = str(err)
        self._send(200, pages.device_login_page(message, error), HTML)

    # --- Graph -------------------------------------------------------------------------------------------
    def _graph(self, service: TenantService, path: str, query: str, headers: dict, body: bytes) -> None:
        request_id = str(uuid.uuid4())
        base = {"request-id": request_id, "client-request-id": headers.get("client-request-id", request_id),
                "Cache-Control": "no-cache"}
        service.count("graph_requests")
        latency = service.faults.latency_ms
        if latency:
            time.sleep(latency / 1000)
        req = Request(self.command, path, dict(parse_qsl(query, keep_blank_values=True)), headers, body)
        try:
            try:
                req.caller = service.identity.validate(headers.get("authorization"))
            except AuthFailure as exc:
                raise GraphError(401, "InvalidAuthenticationToken", str(exc), headers={
                    "WWW-Authenticate": f'Bearer realm="", authorization_uri="{service.url}/'
                                        f'{service.store.tenant_id}/oauth2/authorize", '
                                        'client_id="00000003-0000-0000-c000-000000000000"'}) from None
            if path == "$batch":
                if self.command != "POST":
                    raise GraphError(405, "Request_BadRequest",
                                     "Specified HTTP method is not allowed for the request target.")
                fault = service.faults.roll(can_reset=True)
                if fault and fault[0] == "429":
                    raise service.forced_throttle(req)
                if fault and not fault[1]:
                    service.count("faults_" + fault[0])
                    if fault[0] == "reset":
                        return self._reset()
                    raise service.server_error()
                result = service.run_batch(req)
                if fault:  # the parts ran, then the answer was lost
                    service.count("faults_" + fault[0] + "_after_commit")
                    service.count_lost_creates([(p["method"].upper(), urlsplit(p["url"]).path, r["status"])
                                                for p, r in zip(req.json()["requests"], result["responses"])])
                    if fault[0] == "reset":
                        return self._reset()
                    raise service.server_error()
                return self._send(200, result, {**base, "Content-Type": "application/json"})
            status, out_headers, out_body, late = service.run_graph(req)
            if status == 0 or late == "reset":
                return self._reset()
            if late == "5xx":
                raise service.server_error()
            self._send(status, out_body, {**base, **out_headers})
        except GraphError as err:
            if err.status == 429:
                service.count("throttled_requests")
            self._send(err.status, graph_error_body(err, request_id, headers.get("client-request-id")),
                       {**base, "Content-Type": "application/json", **err.headers})

    # --- admin -------------------------------------------------------------------------------------------
    def _admin(self, service: TenantService, action: str, headers: dict, body: bytes) -> None:
        if action == "health":
            return self._send(200, {"status": "ready", "tenantId": service.store.tenant_id})
        if not hmac.compare_digest(headers.get(ADMIN_HEADER.lower(), ""), service.admin_key):
            return self._send(401, {"error": "The admin key is missing or wrong."})
        try:
            data = json.loads(body or b"{}")
            result = admin_action(service, self.command, action, data)
        except (ValueError, TypeError, KeyError) as exc:
            return self._send(400, {"error": str(exc)})
        if result is None:
            return self._send(404, {"error": f"No admin action {self.command} {action}."})
        self._send(200, result)
