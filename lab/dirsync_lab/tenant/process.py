"""Starting and stopping a local tenant: TenantProcess runs `dirsync-lab tenant serve` as a child process
and waits until it is ready, the one way the demo, the tests and the benchmark start one; LocalTenant is
the handle tests and the benchmark drive it with (in a thread of this process or as a TenantProcess)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Literal

from dirsync.cloud.permissions import REQUIRED_APP_PERMISSIONS

from .http import ADMIN_HEADER
from .server import ADMIN_KEY_FILE, ENDPOINT_FILE, TenantService


def lab_environment() -> dict[str, str]:
    """The environment for a child `python3 -m dirsync_lab`: this lab and the dirsync it runs with come first
    on its path, whichever checkout the system-wide installation points at."""
    import dirsync

    sources = [str(Path(__file__).resolve().parents[2]), str(Path(dirsync.__file__).resolve().parents[1])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [*sources, os.environ.get("PYTHONPATH")]))}


class TenantProcess:
    """`dirsync-lab tenant serve --data DATA` as a child process, ready once it has written its endpoint file
    and answers /_admin/health over HTTPS.

    With a log file it runs detached, in a session of its own with its output in the log, so it outlives
    the command that started it (the demo lab); stop_detached(data_dir) stops it later by the pid in its
    endpoint file.
    """

    def __init__(self, process: subprocess.Popen, url: str):
        self.process, self.url = process, url

    @classmethod
    def start(cls, data_dir: str | Path, port: int = 0, *, log: Path | None = None,
              timeout: float = 30.0) -> "TenantProcess":
        import requests

        data_dir = Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        endpoint = data_dir / ENDPOINT_FILE
        endpoint.unlink(missing_ok=True)
        command = [sys.executable, "-m", "dirsync_lab", "tenant", "serve", "--data", str(data_dir), "--port", str(port)]
        if log is None:
            process = subprocess.Popen(command, env=lab_environment(), stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        else:
            with open(log, "ab") as out:
                process = subprocess.Popen(command, env=lab_environment(), stdin=subprocess.DEVNULL, stdout=out,
                                           stderr=out, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:  # readiness: the endpoint file of this process, then /health
            if process.poll() is not None:
                detail = (f"see {log}" if log is not None
                          else process.stderr.read().decode(errors="replace")[-2000:])
                raise RuntimeError(f"The local tenant exited while starting: {detail}")
            if endpoint.exists():
                info = json.loads(endpoint.read_text() or "{}")
                if info.get("pid") == process.pid:
                    try:
                        with requests.Session() as probe:
                            probe.trust_env = False
                            probe.get(f"{info['url']}/_admin/health", verify=str(data_dir / "ca.pem"), timeout=2)
                        return cls(process, info["url"])
                    except requests.ConnectionError:
                        pass
            time.sleep(0.05)
        cls(process, "").stop()
        raise TimeoutError(f"The local tenant did not become ready within {timeout} s.")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()


def stop_detached(data_dir: str | Path) -> None:
    """Stops a detached tenant (TenantProcess.start with a log) by the pid in its endpoint file, if it runs."""
    endpoint = Path(data_dir) / ENDPOINT_FILE
    if endpoint.exists():
        try:
            os.kill(json.loads(endpoint.read_text())["pid"], signal.SIGTERM)
        except (ProcessLookupError, ValueError, KeyError):
            pass


# What the lab grants DirSync's app: exactly the documented set. The tests' and demo's reader stands for
# another administrator's tool: it reads everything and makes cloud-only users and groups.
DIRSYNC_PERMISSIONS = tuple(p.name for p in REQUIRED_APP_PERMISSIONS)
READER_PERMISSIONS = ("Directory.Read.All", "User.ReadWrite.All", "Group.ReadWrite.All")
# The lab's administrators: one who may grant Graph's application permissions, one who may consent to
# delegated permissions but not grant Graph's application permissions.
LAB_ADMIN_ROLE, LAB_APP_ADMIN_ROLE = "Privileged Role Administrator", "Application Administrator"


@dataclass(frozen=True)
class AppRegistration:
    app_id: str
    object_id: str
    secret: str | None = None


class LocalTenant:
    """Starts and stops a local tenant, in this process (a thread) or as a TenantProcess, and drives its
    admin API.

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
        self._process: TenantProcess | None = None
        self.url = ""
        self._session = None

    # --- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> "LocalTenant":
        if self.use_subprocess:
            self._process = TenantProcess.start(self.data_dir, self.port, timeout=self.start_timeout)
            self.url = self._process.url
        else:
            self._service = TenantService(self.data_dir, self.port).start()
            self.url = self._service.url
        return self._connect()

    @classmethod
    def attach(cls, data_dir: str | Path, url: str) -> "LocalTenant":
        """The admin API of a tenant already running at `url` (the lab's detached TenantProcess)."""
        tenant = cls(data_dir)
        tenant.url = url
        return tenant._connect()

    def _connect(self) -> "LocalTenant":
        import requests  # the admin client; the tenant itself runs on the standard library

        self._session = requests.Session()
        # Without this, REQUESTS_CA_BUNDLE in the environment would override verify (psf/requests#3829).
        self._session.trust_env = False
        self._session.verify = str(self.ca_file)
        self._session.headers[ADMIN_HEADER] = (self.data_dir / ADMIN_KEY_FILE).read_text().strip()
        self.tenant_id = self._session.get(f"{self.url}/_admin/health", timeout=10).json()["tenantId"]
        return self

    def stop(self) -> None:
        if self._session:
            self._session.close()
            self._session = None
        if self._service:
            self._service.stop()
            self._service = None
        if self._process:
            self._process.stop()
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
                     certificate_pem: str | None = None, public_client: bool = False,
                     permissions: Iterable[str] = ()) -> AppRegistration:
        """Registers an app with the Graph application `permissions` granted (admin consent); the secret (if
        asked for) is returned once and only its hash is kept."""
        result = self._admin("POST", "apps", {"displayName": display_name, "secret": secret,
                                              "certificatePem": certificate_pem, "publicClient": public_client,
                                              "permissions": list(permissions)})
        return AppRegistration(result["appId"], result["objectId"], result["secret"])

    def add_domain(self, name: str, default: bool = False) -> list[str]:
        return self._admin("POST", "domains", {"name": name, "isDefault": default})["domains"]

    def set_faults(self, **faults) -> dict:
        """See throttle.Faults; an empty call clears every fault."""
        return self._admin("PUT", "faults", faults)

    def configure(self, **settings) -> dict:
        """See store.DEFAULT_SETTINGS (token_lifetime, write_quota_app_tenant=[n, seconds], ...)."""
        return self._admin("PUT", "settings", settings)

    def add_user(self, upn: str, password: str, roles: Iterable[str] = (), display_name: str | None = None) -> dict:
        """A cloud-only member user who can sign in with `password`, holding directory `roles` (e.g.
        "Privileged Role Administrator"); returns {"id", "userPrincipalName", "roles": [template ids]}."""
        return self._admin("POST", "users", {"userPrincipalName": upn, "password": password,
                                             "displayName": display_name, "roles": list(roles)})

    def approve_device_code(self, user_code: str, upn: str, password: str) -> bool:
        """What the /devicelogin page does when `upn` signs in with `password` and accepts; False for an
        unknown or expired code; a wrong password (AADSTS50126) raises RuntimeError."""
        return self._admin("POST", "devicecode/approve", {"userCode": user_code, "userPrincipalName": upn,
                                                          "password": password})["approved"]

    def decline_device_code(self, user_code: str) -> bool:
        """Cancel on the /devicelogin page: the app's polling gets authorization_declined."""
        return self._admin("POST", "devicecode/decline", {"userCode": user_code})["declined"]

    def pending_device_codes(self) -> list[dict]:
        """Device codes waiting for a sign-in: [{"userCode", "clientId", "scope"}]."""
        return self._admin("GET", "devicecodes")["value"]

    def issued_user_tokens(self) -> dict:
        """{"accessTokens", "refreshTokens", "idTokens"}: every token issued to a user since the tenant started
        (for the secrets scan)."""
        return self._admin("GET", "issued-user-tokens")

    def assign_role(self, user: str, role: str) -> dict:
        """Give a user (id or UPN) a directory role, e.g. "Global Administrator"."""
        return self._admin("POST", "roles", {"userId": user, "role": role})

    def mark_synced(self, user: str, enabled: bool = True) -> dict:
        """Mark a user (id or UPN) as synchronized by Entra Connect (onPremisesSyncEnabled true)."""
        return self._admin("POST", "synced", {"userId": user, "enabled": enabled})

    def revoke_tokens(self) -> int:
        """Revokes every access token the tenant has issued so far (Graph then answers 401)."""
        return self._admin("POST", "tokens/revoke")["revoked"]

    def stats(self) -> dict:
        return self._admin("GET", "stats")

    def reset(self) -> None:
        """Clears counters, faults and the write-quota windows (not the directory)."""
        self._admin("POST", "reset")

    def tenant_settings(self, app: AppRegistration, credential_type: Literal["certificate", "secret"] = "secret",
                        certificate_file: str | None = None):
        """The TenantSettings DirSync needs to use this tenant with `app`."""
        from dirsync.config import TenantSettings

        return TenantSettings(tenant_id=self.tenant_id, client_id=app.app_id, authority_host=self.url,
                              graph_endpoint=self.graph_endpoint, credential_type=credential_type,
                              certificate_file=certificate_file, ca_file=str(self.ca_file))
