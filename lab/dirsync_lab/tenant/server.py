"""The local tenant's service: one HTTPS port on 127.0.0.1 for the identity endpoints
(/{tenant}/v2.0/.well-known/openid-configuration, /{tenant}/oauth2/v2.0/token, /authorize with its sign-in
page, /devicecode and the /devicelogin page), Graph (/v1.0/...) and an admin API (/_admin/..., guarded by
the admin key in the data folder) for registering apps, users who sign in, domains, settings and faults at
runtime. TLS always on, with the tenant's own CA (ca.pem in the data folder). http.py parses requests,
routes.py runs them, process.py starts and stops the tenant.
"""

from __future__ import annotations

import json
import os
import secrets
import ssl
import threading
from pathlib import Path

from .directory import Directory
from .http import Handler, Server
from .identity import Identity
from .people import People
from .pki import ensure_pki
from .routes import GraphRoutes
from .store import Store
from .throttle import Faults, Quota

HOST = "127.0.0.1"
ENDPOINT_FILE = "endpoint.json"
ADMIN_KEY_FILE = "admin.key"


class TenantService(GraphRoutes):
    """Everything behind the port: state, identity, Graph, quotas, faults, counters."""

    def __init__(self, data_dir: Path, port: int = 0):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.pki = ensure_pki(self.data_dir)
        self.store = Store(self.data_dir / "tenant.db")
        self.admin_key = self._admin_key()
        self.httpd = Server((HOST, port), Handler, self)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.pki.server_cert_file, self.pki.server_key_file)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True, do_handshake_on_connect=False)
        self.url = f"https://{HOST}:{self.httpd.server_address[1]}"
        self.directory = Directory(self.store, self.url)
        self.people = People(self.directory)
        self.identity = Identity(self.store, self.pki, self.url, self.people)
        self.faults = Faults()
        self.directory.lag = lambda: self.faults.replication_lag()
        self.quota = Quota()
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
