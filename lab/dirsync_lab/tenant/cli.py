"""`dirsync-lab tenant ...`: run the local tenant and administer it.

The admin commands work on the data folder directly, so they work whether or not the tenant is running.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path


def _interrupt(signum, frame):
    # SIGTERM (LocalTenant.stop, systemd) ends the loop like Ctrl+C so SQLite closes cleanly.
    raise KeyboardInterrupt


def _serve(args) -> int:
    from .server import ENDPOINT_FILE, TenantService

    service = TenantService(Path(args.data), args.port)
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"Local tenant {service.store.tenant_id} listening on {service.url}", flush=True)
    print(f"  authority: {service.url}/{service.store.tenant_id}   CA file: {service.pki.ca_file}", flush=True)
    try:
        service.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        service.httpd.server_close()
        (Path(args.data) / ENDPOINT_FILE).unlink(missing_ok=True)
        service.store.close()
    return 0


def _open_store(args):
    from .store import Store

    data = Path(args.data)
    if not (data / "tenant.db").exists():
        print(f"error: no local tenant in {data} (start it once with 'dirsync-lab tenant serve --data {data}')",
              file=sys.stderr)
        raise SystemExit(2)
    return Store(data / "tenant.db")


def _register_app(args) -> int:
    from .pki import make_client_certificate

    store = _open_store(args)
    cert_pem = Path(args.certificate).read_text() if args.certificate else None
    result = {}
    if args.generate_certificate:
        generated = make_client_certificate(args.name)
        out = Path(args.generate_certificate)
        out.mkdir(parents=True, exist_ok=True)
        (out / "client.pem").write_text(generated.cert_pem)
        key_file = out / "client.key"
        key_file.touch(mode=0o600)
        key_file.write_text(generated.key_pem)
        cert_pem = generated.cert_pem
        result.update(certificateFile=str(out / "client.pem"), privateKeyFile=str(key_file),
                      thumbprint=generated.thumbprint)
    try:
        app, secret = store.register_app(args.name, with_secret=args.secret, cert_pem=cert_pem,
                                         public_client=args.public_client, permissions=args.permission)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result.update(tenantId=store.tenant_id, clientId=app["app_id"], objectId=app["object_id"],
                  permissions=store.app_roles(app["app_id"]))
    if secret:
        result["clientSecret"] = secret  # shown once, as the Entra admin center does
    store.close()
    print(json.dumps(result, indent=2))
    return 0


def _add_domain(args) -> int:
    store = _open_store(args)
    try:
        store.add_domain(args.name, args.default)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps([d["name"] for d in store.domains()]))
    store.close()
    return 0


def add_cli(subparsers) -> None:
    """Adds `tenant serve|register-app|add-domain` to a parent command's subparsers."""
    tenant = subparsers.add_parser("tenant", help="the local Microsoft 365 tenant (for trying DirSync and tests)")
    actions = tenant.add_subparsers(dest="action", metavar="ACTION", required=True)
    data = argparse.ArgumentParser(add_help=False)
    data.add_argument("--data", required=True, help="the tenant's data folder (state, CA, keys)")

    serve = actions.add_parser("serve", parents=[data], help="run the tenant over HTTPS on 127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="TCP port (default: any free port)")
    serve.set_defaults(run=_serve)

    register = actions.add_parser("register-app", parents=[data], help="register an app DirSync signs in as")
    register.add_argument("--name", default="DirSync")
    register.add_argument("--secret", action="store_true", help="create a client secret (printed once)")
    register.add_argument("--certificate", help="a PEM certificate file to register (public part)")
    register.add_argument("--generate-certificate", metavar="DIR",
                          help="create a self-signed certificate and key in DIR and register it")
    register.add_argument("--public-client", action="store_true", help="allow device code sign-in")
    register.add_argument("--permission", action="append", default=[], metavar="NAME",
                          help="grant a Microsoft Graph application permission (repeat; default: none)")
    register.set_defaults(run=_register_app)

    domain = actions.add_parser("add-domain", parents=[data], help="add a verified domain")
    domain.add_argument("name")
    domain.add_argument("--default", action="store_true")
    domain.set_defaults(run=_add_domain)
