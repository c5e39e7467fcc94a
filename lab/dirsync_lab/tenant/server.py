"""The local tenant's HTTPS service and the LocalTenant handle tests and the demo use.

One port serves the identity endpoints (/{tenant}/v2.0/.well-known/openid-configuration,
/{tenant}/oauth2/v2.0/token, /devicecode), Graph (/v1.0/...) and an admin API (/_admin/..., guarded by
the admin key in the data folder) for registering apps, domains, settings and faults at runtime.
Bound to 127.0.0.1 only; TLS always on, with the tenant's own CA (ca.pem in the data folder).
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import uuid
from base64 import b64decode
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from .directory import Directory, Request
from .identity import AuthFailure, Identity, TokenError
from .odata import GraphError, bad_request
from .pki import ensure_pki
from .store import Store
from .throttle import Faults, WriteQuota

HOST = "127.0.0.1"
WRITES = {"POST", "PATCH", "PUT", "DELETE"}
MAX_BATCH = 20  # https://learn.microsoft.com/graph/json-batching
ENDPOINT_FILE = "endpoint.json"
ADMIN_KEY_FILE = "admin.key"
ADMIN_HEADER = "X-DirSync-Admin-Key"


def _graph_error_body(err: GraphError, request_id: str, client_request_id: str | None) -> dict:
    inner = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"), "request-id": request_id,
             "client-request-id": client_request_id or request_id}
    body = {"code": err.code, "message": err.message, "innerError": inner}
    if err.details:
        body["details"] = err.details
    return {"error": body}


def _throttled(retry_after: float, scope: str, reason: str) -> GraphError:
    # https://learn.microsoft.com/graph/throttling#sample-response and throttling-limits (headers)
    return GraphError(429, "TooManyRequests", "Please retry again later.", headers={
        "Retry-After": f"{retry_after:.3f}".rstrip("0").rstrip(".") if retry_after < 10 else str(int(retry_after)),
        "x-ms-throttle-scope": scope, "x-ms-throttle-information": reason})


class TenantService:
    """Everything behind the port: state, identity, Graph, quotas, faults, counters."""

    def __init__(self, data_dir: Path, port: int = 0):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.pki = ensure_pki(self.data_dir)
        self.store = Store(self.data_dir / "tenant.db")
        self.admin_key = self._admin_key()
        self.httpd = _Server((HOST, port), _Handler, self)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.pki.server_cert_file, self.pki.server_key_file)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True, do_handshake_on_connect=False)
        self.url = f"https://{HOST}:{self.httpd.server_address[1]}"
        self.identity = Identity(self.store, self.pki, self.url)
        self.directory = Directory(self.store, self.url)
        self.faults = Faults()
        self.quota = WriteQuota()
        self._counters_lock = threading.Lock()
        self.counters: dict[str, int] = {}
        self._thread: threading.Thread | None = None

    def _admin_key(self) -> str:
        path = self.data_dir / ADMIN_KEY_FILE
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(32))
        return path.read_text().strip()

    def count(self, name: str, n: int = 1) -> None:
        with self._counters_lock:
            self.counters[name] = self.counters.get(name, 0) + n

    def start(self) -> "TenantService":
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="local-tenant", daemon=True)
        self._thread.start()
        (self.data_dir / ENDPOINT_FILE).write_text(json.dumps({"url": self.url, "pid": os.getpid()}))
        return self

    def serve_forever(self) -> None:
        (self.data_dir / ENDPOINT_FILE).write_text(json.dumps({"url": self.url, "pid": os.getpid()}))
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread:
            self._thread.join()
        (self.data_dir / ENDPOINT_FILE).unlink(missing_ok=True)
        self.store.close()

    # --- Graph -------------------------------------------------------------------------------------------
    def quota_scopes(self, app_id: str) -> list[tuple[str, int, float]]:
        settings, tid = self.store.settings(), self.store.tenant_id
        limit, seconds = settings["write_quota_app_tenant"]
        tenant_limit, tenant_seconds = settings["write_quota_tenant"]
        return [(f"Tenant_Application/Write/{app_id}/{tid}", int(limit), float(seconds)),
                (f"Tenant/Write/{app_id}/{tid}", int(tenant_limit), float(tenant_seconds))]

    def run_graph(self, req: Request, *, part: bool = False) -> tuple[int, dict, object, str | None]:
        """One Graph request (top level or a $batch part) after authentication: forced faults, the write
        quota, the handler. Returns (status, headers, body, late fault) where a late fault ("5xx"/"reset")
        strikes after the handler committed."""
        fault = self.faults.roll(can_reset=not part)
        late = None
        if fault:
            kind, after = fault
            if kind == "429":
                self.count("forced_429")
                raise _throttled(self.faults.retry_after_now(), f"Tenant_Application/ReadWrite/{req.caller.get('appid')}/"
                                 f"{self.store.tenant_id}", "ResourceUnitLimitExceeded")
            if not after:
                self.count("faults_" + kind)
                if kind == "5xx":
                    raise self._server_error()
                return 0, {}, None, "reset"
            late = kind
        headers = {}
        if req.method in WRITES:
            retry, scope, usage = self.quota.take(self.quota_scopes(req.caller.get("appid", "")))
            if retry is not None:
                self.count("quota_429")
                raise _throttled(retry, scope, "WriteLimitExceeded")
            self.count("writes")
            if usage > 0.8:
                headers["x-ms-throttle-limit-percentage"] = f"{usage:.2f}"
        status, more, body = self.directory.handle(req)
        if late:
            self.count("faults_" + late + "_after_commit")
        return status, {**headers, **more}, body, late

    def _server_error(self) -> GraphError:
        status = self.faults.status()
        codes = {500: "InternalServerError", 502: "BadGateway", 503: "ServiceUnavailable", 504: "GatewayTimeout"}
        headers = {"Retry-After": str(self.faults.retry_after)} if status == 503 else {}
        return GraphError(status, codes[status], "The service is temporarily unavailable (injected fault).",
                          headers=headers)

    def run_batch(self, outer: Request) -> dict:
        """https://learn.microsoft.com/graph/json-batching"""
        payload = outer.json()
        parts = payload.get("requests")
        if not isinstance(parts, list) or not parts:
            raise bad_request("Invalid batch payload format.", code="BadRequest")
        if len(parts) > MAX_BATCH:
            raise bad_request(f"Limit of {MAX_BATCH} requests per batch exceeded ({len(parts)} requests).",
                              code="BadRequest")
        seen: dict[str, dict] = {}
        for part in parts:
            if not isinstance(part, dict) or not all(isinstance(part.get(k), str) and part.get(k)
                                                     for k in ("id", "method", "url")):
                raise bad_request("Invalid batch payload format: each request needs id, method and url.",
                                  code="BadRequest")
            key = part["id"].lower()  # ids are not case-sensitive
            if key in seen:
                raise bad_request(f"Request Id {part['id']} has to be unique in a batch.", code="BadRequest")
            for dep in part.get("dependsOn") or []:
                if str(dep).lower() not in seen:
                    raise bad_request(f"Request {part['id']} depends on request {dep}, which is not earlier "
                                      "in the batch.", code="BadRequest")
            headers = {k.lower(): v for k, v in (part.get("headers") or {}).items()}
            if "body" in part and "content-type" not in headers:
                raise bad_request(f"Content-Type header is required for request {part['id']}, which has a body.",
                                  code="BadRequest")
            seen[key] = part
        statuses: dict[str, int] = {}
        responses = []
        for part in parts:
            status, headers, body = self._run_part(outer, part, statuses)
            statuses[part["id"].lower()] = status
            item = {"id": part["id"], "status": status, "headers": headers}
            if body is not None:
                item["body"] = body
            responses.append(item)
        return {"responses": responses}

    def _run_part(self, outer: Request, part: dict, statuses: dict[str, int]) -> tuple[int, dict, object]:
        self.count("batch_parts")
        request_id = str(uuid.uuid4())
        failed = [d for d in part.get("dependsOn") or [] if not 200 <= statuses.get(str(d).lower(), 0) < 300]
        if failed:
            err = GraphError(424, "FailedDependency", f"The request depends on request {failed[0]}, which failed.")
            return 424, {"Content-Type": "application/json"}, _graph_error_body(err, request_id, None)
        url = urlsplit(part["url"])
        path = url.path.lstrip("/")
        if path.startswith("v1.0/"):
            path = path[len("v1.0/"):]
        headers = {k.lower(): str(v) for k, v in (part.get("headers") or {}).items()}
        body = part.get("body")
        raw = json.dumps(body).encode() if isinstance(body, (dict, list)) else (body or "").encode()
        req = Request(part["method"].upper(), path, dict(parse_qsl(url.query, keep_blank_values=True)),
                      headers, raw, outer.caller)
        try:
            status, out_headers, out_body, late = self.run_graph(req, part=True)
            if late:  # a part cannot lose its connection; it fails after the write instead
                raise self._server_error()
        except GraphError as err:
            status, out_headers, out_body = err.status, {"Content-Type": "application/json", **err.headers}, \
                _graph_error_body(err, request_id, None)
        if status == 429:
            self.count("throttled_parts")
        return status, {"Cache-Control": "no-cache", **out_headers}, out_body


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address, handler, service: TenantService):
        self.service = service
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
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
            self._identity(service, path.strip("/").split("/"), headers, body)

    # --- identity ----------------------------------------------------------------------------------------
    def _identity(self, service: TenantService, segments: list[str], headers: dict, body: bytes) -> None:
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

    def _device_login(self, service: TenantService, body: bytes) -> None:
        """The verification page an administrator opens for device code sign-in (admin key as password)."""
        message = ""
        if self.command == "POST":
            form = dict(parse_qsl(body.decode(errors="replace")))
            if not hmac.compare_digest(form.get("admin_key", ""), service.admin_key):
                message = "Wrong administrator key."
            elif service.identity.approve_device_code(form.get("user_code", "")):
                message = "You have signed in. You can close this window."
            else:
                message = "That code is unknown or has expired."
        page = ("<!doctype html><title>DirSync local tenant sign-in</title><h1>Enter code</h1>"
                f"<p>{message}</p><form method=post><label>Code <input name=user_code></label> "
                "<label>Administrator key (admin.key in the tenant's data folder) "
                "<input name=admin_key type=password></label> <button>Sign in</button></form>")
        self._send(200, page, {"Content-Type": "text/html; charset=utf-8"})

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
                    service.count("forced_429")
                    raise _throttled(service.faults.retry_after_now(), "Tenant_Application/ReadWrite/"
                                     f"{req.caller.get('appid')}/{service.store.tenant_id}",
                                     "ResourceUnitLimitExceeded")
                if fault and not fault[1]:
                    service.count("faults_" + fault[0])
                    if fault[0] == "reset":
                        return self._reset()
                    raise service._server_error()
                result = service.run_batch(req)
                if fault:  # the parts ran, then the answer was lost
                    service.count("faults_" + fault[0] + "_after_commit")
                    if fault[0] == "reset":
                        return self._reset()
                    raise service._server_error()
                return self._send(200, result, {**base, "Content-Type": "application/json"})
            status, out_headers, out_body, late = service.run_graph(req)
            if status == 0 or late == "reset":
                return self._reset()
            if late == "5xx":
                raise service._server_error()
            self._send(status, out_body, {**base, **out_headers})
        except GraphError as err:
            if err.status == 429:
                service.count("throttled_requests")
            self._send(err.status, _graph_error_body(err, request_id, headers.get("client-request-id")),
                       {**base, "Content-Type": "application/json", **err.headers})

    # --- admin -------------------------------------------------------------------------------------------
    def _admin(self, service: TenantService, action: str, headers: dict, body: bytes) -> None:
        if action == "health":
            return self._send(200, {"status": "ready", "tenantId": service.store.tenant_id})
        if not hmac.compare_digest(headers.get(ADMIN_HEADER.lower(), ""), service.admin_key):
            return self._send(401, {"error": "The admin key is missing or wrong."})
        try:
            data = json.loads(body or b"{}")
            result = self._admin_action(service, self.command, action, data)
        except (ValueError, TypeError, KeyError) as exc:
            return self._send(400, {"error": str(exc)})
        if result is None:
            return self._send(404, {"error": f"No admin action {self.command} {action}."})
        self._send(200, result)

    @staticmethod
    def _admin_action(service: TenantService, method: str, action: str, data: dict) -> dict | None:
        store = service.store
        if (method, action) == ("POST", "apps"):
            app, secret = store.register_app(data.get("displayName", "DirSync"), with_secret=bool(data.get("secret")),
                                             cert_pem=data.get("certificatePem"),
                                             public_client=bool(data.get("publicClient")))
            return {"appId": app["app_id"], "objectId": app["object_id"], "secret": secret}
        if (method, action) == ("POST", "domains"):
            store.add_domain(data["name"], bool(data.get("isDefault")))
            return {"domains": [d["name"] for d in store.domains()]}
        if action == "faults":
            if method == "PUT":
                service.faults = Faults.from_dict(data)
            return service.faults.to_dict()
        if action == "settings":
            return store.update_settings(data) if method == "PUT" else store.settings()
        if (method, action) == ("POST", "devicecode/approve"):
            return {"approved": service.identity.approve_device_code(data["userCode"])}
        if (method, action) == ("GET", "stats"):
            with service._counters_lock:
                return dict(service.counters)
        if (method, action) == ("POST", "reset"):
            with service._counters_lock:
                service.counters.clear()
            service.quota.reset()
            service.faults = Faults()
            return {}
        return None


# --- the handle tests and the demo use -------------------------------------------------------------------

@dataclass(frozen=True)
class AppRegistration:
    app_id: str
    object_id: str
    secret: str | None = None


class LocalTenant:
    """Starts and stops a local tenant, in this process (a thread) or as a subprocess
    (`dirsync-lab tenant serve`), and drives its admin API.

        with LocalTenant(tmp_path) as tenant:
            app = tenant.register_app(secret=True)
            ... tenant.authority, tenant.graph_endpoint, tenant.ca_file ...
    """

    def __init__(self, data_dir: str | Path, port: int = 0, *, subprocess: bool = False,
                 start_timeout: float = 30.0):
        self.data_dir = Path(data_dir)
        self.port = port
        self.use_subprocess = subprocess
        self.start_timeout = start_timeout
        self._service: TenantService | None = None
        self._process: "subprocess.Popen | None" = None
        self.url = ""
        self._session = None

    # --- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> "LocalTenant":
        import requests  # the admin client; the tenant itself runs on the standard library

        if self.use_subprocess:
            self._start_subprocess()
        else:
            self._service = TenantService(self.data_dir, self.port).start()
            self.url = self._service.url
        self._session = requests.Session()
        # Without this, REQUESTS_CA_BUNDLE in the environment would override verify (psf/requests#3829).
        self._session.trust_env = False
        self._session.verify = str(self.ca_file)
        self._session.headers[ADMIN_HEADER] = (self.data_dir / ADMIN_KEY_FILE).read_text().strip()
        self.tenant_id = self._session.get(f"{self.url}/_admin/health", timeout=10).json()["tenantId"]
        return self

    def _start_subprocess(self) -> None:
        import requests

        endpoint = self.data_dir / ENDPOINT_FILE
        self.data_dir.mkdir(parents=True, exist_ok=True)
        endpoint.unlink(missing_ok=True)
        import dirsync

        sources = [str(Path(__file__).resolve().parents[2]), str(Path(dirsync.__file__).resolve().parents[1])]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [*sources, os.environ.get("PYTHONPATH")]))}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "dirsync_lab", "tenant", "serve", "--data", str(self.data_dir), "--port", str(self.port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:  # readiness: the endpoint file of this process, then /health
            if self._process.poll() is not None:
                raise RuntimeError("The local tenant exited while starting: "
                                   + self._process.stderr.read().decode(errors="replace")[-2000:])
            if endpoint.exists():
                info = json.loads(endpoint.read_text() or "{}")
                if info.get("pid") == self._process.pid:
                    try:
                        with requests.Session() as probe:
                            probe.trust_env = False
                            probe.get(f"{info['url']}/_admin/health", verify=str(self.ca_file), timeout=2)
                        self.url = info["url"]
                        return
                    except requests.ConnectionError:
                        pass
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"The local tenant did not become ready within {self.start_timeout} s.")

    def stop(self) -> None:
        if self._session:
            self._session.close()
            self._session = None
        if self._service:
            self._service.stop()
            self._service = None
        if self._process:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process.stderr.close()
            self._process = None

    def __enter__(self) -> "LocalTenant":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- where it is -------------------------------------------------------------------------------------
    @property
    def ca_file(self) -> Path:
        return self.data_dir / "ca.pem"

    @property
    def authority(self) -> str:
        return f"{self.url}/{self.tenant_id}"

    @property
    def graph_endpoint(self) -> str:
        return self.url

    # --- admin API ---------------------------------------------------------------------------------------
    def _admin(self, method: str, action: str, data: dict | None = None) -> dict:
        response = self._session.request(method, f"{self.url}/_admin/{action}", json=data, timeout=30)
        if response.status_code != 200:
            raise RuntimeError(f"Local tenant admin {action}: {response.status_code} {response.text}")
        return response.json()

    def register_app(self, display_name: str = "DirSync", *, secret: bool = False,
                     certificate_pem: str | None = None, public_client: bool = False) -> AppRegistration:
        """Registers an app; the secret (if asked for) is returned once and only its hash is kept."""
        result = self._admin("POST", "apps", {"displayName": display_name, "secret": secret,
                                              "certificatePem": certificate_pem, "publicClient": public_client})
        return AppRegistration(result["appId"], result["objectId"], result["secret"])

    def add_domain(self, name: str, default: bool = False) -> list[str]:
        return self._admin("POST", "domains", {"name": name, "isDefault": default})["domains"]

    def set_faults(self, **faults) -> dict:
        """See throttle.Faults; an empty call clears every fault."""
        return self._admin("PUT", "faults", faults)

    def configure(self, **settings) -> dict:
        """See store.DEFAULT_SETTINGS (token_lifetime, write_quota_app_tenant=[n, seconds], ...)."""
        return self._admin("PUT", "settings", settings)

    def approve_device_code(self, user_code: str) -> bool:
        return self._admin("POST", "devicecode/approve", {"userCode": user_code})["approved"]

    def stats(self) -> dict:
        return self._admin("GET", "stats")

    def reset(self) -> None:
        """Clears counters, faults and the write-quota windows (not the directory)."""
        self._admin("POST", "reset")

    def tenant_settings(self, app: AppRegistration, credential_type: str = "secret",
                        certificate_file: str | None = None):
        """The TenantSettings DirSync needs to use this tenant with `app`."""
        from dirsync.config import TenantSettings

        return TenantSettings(tenant_id=self.tenant_id, client_id=app.app_id, authority_host=self.url,
                              graph_endpoint=self.graph_endpoint, credential_type=credential_type,
                              certificate_file=certificate_file, ca_file=str(self.ca_file))
