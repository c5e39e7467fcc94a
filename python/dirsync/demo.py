"""The demo lab: a seeded Samba AD domain and a local Microsoft 365 tenant, running in the background,
for the README's demo and for the PowerShell end-to-end tests.

    python3 -m dirsync.demo up --dir DIR     start both; print as JSON what the wizard needs
    python3 -m dirsync.demo down --dir DIR   stop both and remove DIR

The tenant gets the domain's mail domain as a verified domain and an app registration "DirSync" with a
certificate (DIR/app/client.pem and client.key), as an administrator would prepare in the Entra admin
center. The domain's Enterprise Admin is the test domain's Administrator.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ENDPOINT_FILE = "endpoint.json"
START_TIMEOUT = 60.0


def _start_tenant(data: Path) -> dict:
    """The tenant as a process of its own session, so it outlives this command."""
    import requests

    data.mkdir(parents=True, exist_ok=True)
    endpoint = data / ENDPOINT_FILE
    endpoint.unlink(missing_ok=True)
    source = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))}
    with open(data / "tenant.log", "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "dirsync.tenant", "serve", "--data", str(data)],
                                   env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:  # ready: its endpoint file is written and it answers over HTTPS
        if process.poll() is not None:
            raise RuntimeError(f"The local tenant exited while starting; see {data / 'tenant.log'}")
        if endpoint.exists():
            info = json.loads(endpoint.read_text() or "{}")
            if info.get("pid") == process.pid:
                try:
                    requests.get(f"{info['url']}/_admin/health", verify=str(data / "ca.pem"), timeout=2)
                    return info
                except requests.ConnectionError:
                    pass
        time.sleep(0.05)
    process.kill()
    raise TimeoutError(f"The local tenant did not become ready within {START_TIMEOUT} s.")


def up(folder: Path) -> dict:
    from .tenant.pki import make_client_certificate
    from .tenant.store import Store
    from .testdomain import SambaDomain
    from .testdomain.seed import MAIL_DOMAIN

    folder = folder.resolve()
    domain = SambaDomain.create(folder / "dc", seeded=True).facts()
    endpoint = _start_tenant(folder / "tenant")
    store = Store(folder / "tenant" / "tenant.db")
    try:
        store.add_domain(MAIL_DOMAIN, False)
        certificate = make_client_certificate("DirSync")
        app_folder = folder / "app"
        app_folder.mkdir(exist_ok=True)
        (app_folder / "client.pem").write_text(certificate.cert_pem)
        key = app_folder / "client.key"
        key.touch(mode=0o600)
        key.write_text(certificate.key_pem)
        app, _ = store.register_app("DirSync", with_secret=False, cert_pem=certificate.cert_pem, public_client=False)
        reader, reader_secret = store.register_app("Demo reader", with_secret=True, cert_pem=None, public_client=False)
        tenant_id = store.tenant_id
    finally:
        store.close()
    facts = {
        "tenant": {"tenantId": tenant_id, "clientId": app["app_id"], "authorityHost": endpoint["url"],
                   "graphEndpoint": endpoint["url"], "caFile": str(folder / "tenant" / "ca.pem"),
                   "certificateFile": str(app_folder / "client.pem"), "certificateKeyFile": str(key)},
        # An app to look at the tenant with (the tests' and the demo's Graph reader), not DirSync's.
        "reader": {"clientId": reader["app_id"], "clientSecret": reader_secret},
        "activeDirectory": {"server": domain["server"], "port": domain["port"], "caFile": domain["ca_file"],
                            "baseDN": domain["base_dn"], "adminUser": domain["admin_user"],
                            "adminPassword": domain["admin_password"]},
    }
    (folder / "lab.json").write_text(json.dumps(facts, indent=2))
    os.chmod(folder / "lab.json", 0o600)
    return facts


def down(folder: Path) -> None:
    from .testdomain import SambaDomain

    endpoint = folder / "tenant" / ENDPOINT_FILE
    if endpoint.exists():
        try:
            os.kill(json.loads(endpoint.read_text())["pid"], signal.SIGTERM)
        except (ProcessLookupError, ValueError, KeyError):
            pass
    if (folder / "dc").exists():
        SambaDomain(folder / "dc").remove()
    shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m dirsync.demo", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["up", "down"])
    parser.add_argument("--dir", required=True, type=Path)
    args = parser.parse_args(argv)
    if args.action == "up":
        print(json.dumps(up(args.dir), indent=2))
    else:
        down(args.dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
