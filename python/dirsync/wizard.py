"""The configuration wizard's work, page by page, once its answers are in (the prompts live in
Start-CoexistenceConfigurationWizard and `dirsync configure`):

1. Microsoft 365: an administrator signs in (in a browser, or with a device code) and DirSync makes or
   completes its own app registration, service principal, certificate and Graph permissions
   (cloud/registration.py), then signs in as that app and verifies each permission. Or, for
   organisations that register the app themselves, the tenant and that app (its id and certificate or
   secret), whose sign-in and permissions are checked. The administrator's tokens stay in memory until
   the wizard is done and are written nowhere.
2. Active Directory: with Enterprise Admin credentials, this installation's own account MSOL_<installation
   id> is created (or, re-running in the same home, its password reset) and granted Replicating Directory
   Changes. Another home has another installation id, so it never touches this account. The admin
   credentials serve this step only: they are never stored, logged or returned.
3. Exchange hybrid deployment: recorded.
4. Finish: the configuration and secrets are saved (then the app's old certificates are removed), the
   recurring synchronization is registered and, with "Synchronize directories now", the first run starts.

Nothing is saved until pages 1 and 2 succeeded, so a failed wizard leaves a working configuration as
it was. Re-running the wizard updates the configuration and keeps the synchronization settings.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import TYPE_CHECKING

from . import config, schedule, secrets
from .errors import InvalidArgumentError, NotConfiguredError
from .events import Events
from .files import write_private
from .vocabulary import Trigger

if TYPE_CHECKING:  # msal and requests are imported only when the wizard signs in
    from .cloud.admin import AdminSignIn
    from .cloud.certificate import Certificate
    from .cloud.graph import GraphClient


def _tenant_credential(tenant: config.TenantSettings, client_secret: str | None,
                       certificate_key_file: str | None, folder: Path) -> tuple[str, str]:
    """(secret name, value) of the app credential: given now, or kept from an earlier run."""
    if tenant.credential_type == "secret":
        name, given = secrets.TENANT_CLIENT_SECRET, client_secret
    else:
        if not tenant.certificate_file:
            raise InvalidArgumentError("The certificate credential needs the certificate file.",
                                       fix="Give -CertificateFile (the app's certificate, PEM).")
        name = secrets.TENANT_CERTIFICATE_KEY
        given = None
        if certificate_key_file:
            try:
                given = Path(certificate_key_file).read_text(encoding="utf-8")
            except OSError as exc:
                raise InvalidArgumentError(f"The private key file {certificate_key_file} cannot be read: "
                                           f"{exc.strerror}.", fix="Give the path of the key (PEM).") from None
    if given:
        return name, given
    try:
        return name, secrets.load_secret(folder, name)
    except NotConfiguredError:
        what = "-ClientSecret" if name == secrets.TENANT_CLIENT_SECRET else "-CertificateKeyFile"
        raise InvalidArgumentError(f"The app's {tenant.credential_type} is needed to sign in to Microsoft 365.",
                                   fix=f"Give {what}.") from None


def _current(folder: Path) -> config.Configuration:
    """The home's configuration, whose values a re-run keeps; the defaults on a first run."""
    try:
        return config.load(folder)
    except NotConfiguredError:
        return config.Configuration()


def _ldap_settings(ad: config.ActiveDirectorySettings):
    from .ad.connection import LdapSettings
    return LdapSettings(server=ad.server, transport=ad.transport, port=ad.port, ca_file=ad.ca_file,
                        verify=ad.verify_certificate)


CERTIFICATE_FILE = "dirsync-app.pem"  # the public part of the certificate of DirSync's own app, in the home


def held_certificate(tenant: config.TenantSettings, folder: Path) -> "Certificate | None":
    """The certificate this installation signs in with now (public part and key), if it has one."""
    from .cloud.certificate import Certificate

    if tenant.credential_type != "certificate" or not tenant.certificate_file:
        return None
    try:
        return Certificate(Path(tenant.certificate_file).read_text(encoding="utf-8"),
                           secrets.load_secret(folder, secrets.TENANT_CERTIFICATE_KEY))
    except (OSError, NotConfiguredError):
        return None


def save_certificate(folder: Path, certificate: "Certificate") -> str:
    """Keeps a new certificate of DirSync's app: the key in the secrets store, the public part beside the
    configuration. Returns the certificate file."""
    path = folder / CERTIFICATE_FILE
    secrets.store_secret(folder, secrets.TENANT_CERTIFICATE_KEY, certificate.key_pem or "")
    write_private(path, certificate.cert_pem.encode())
    return str(path)


def configure(*, tenant: dict, active_directory: dict, admin_user: str, admin_password: str,
              client_secret: str | None = None, certificate_key_file: str | None = None,
              exchange_hybrid: bool = False, schedule_enabled: bool = True, sync_now: bool = True,
              use_device_code: bool = False, what_if: bool = False, sign_in_timeout: float | None = None,
              home: str | None = None, events: Events | None = None) -> dict:
    """Runs the wizard's pages with the given answers. `tenant` and `active_directory` are sections of
    the configuration (camelCase keys, as in dirsync.json). Without a clientId in `tenant`, an
    administrator signs in and DirSync makes its own app (`what_if`: only lists what it would change)."""
    from .ad.service_account import account_name, ensure_service_account
    from .cloud.registration import Registrar, remove_keys, verify
    from .cloud.writer import GraphTarget
    from .service import start_sync

    events = events or Events()
    folder = Path(home) if home else config.home()
    current = _current(folder)
    own_app = not tenant.get("clientId")
    # Every answer is checked before anything is tried or written.
    wanted = config.update(current, {"tenant": tenant, "activeDirectory": active_directory,
                                     "exchangeHybrid": exchange_hybrid})
    if not wanted.active_directory.server and not what_if:
        raise InvalidArgumentError("The domain controller is missing.", fix="Give -DomainController.")
    installation_id = current.installation_id or config.installation_id_for(folder)
    admin_graph = administrator = None
    if own_app:
        events.progress("Configuration wizard", "Microsoft 365: an administrator signs in", done=1, total=5)
        admin_graph, administrator = _sign_in(wanted.tenant, folder, use_device_code, sign_in_timeout, events)
    try:
        if admin_graph is not None and administrator is not None:
            registrar = Registrar(admin_graph, administrator.tenant_id, installation_id, events)
            registrar.check_role()  # before anything is written
            if what_if:
                return {"signedInAs": administrator.user, "tenantId": administrator.tenant_id,
                        "whatIf": [step.to_dict() for step in registrar.plan()]}
            identity = registrar.ensure(held_certificate(current.tenant, folder))
            events.progress("Configuration wizard", "Microsoft 365: signing in as DirSync's new app", done=2, total=5)
            verify(config.with_proxy_password(wanted.tenant, folder), identity, events)
            wanted = config.update(wanted, {"tenant": {
                "tenantId": identity.tenant_id, "clientId": identity.app_id, "credentialType": "certificate",
                "certificateFile": str(folder / CERTIFICATE_FILE)}})
            secret_name = credential = ""
        else:
            if not (wanted.tenant.tenant_id and wanted.tenant.client_id):
                raise InvalidArgumentError("The tenant and the app are missing.", fix="Give -TenantId and -ClientId.")
            secret_name, credential = _tenant_credential(wanted.tenant, client_secret, certificate_key_file, folder)
            events.progress("Configuration wizard", "Microsoft 365: signing in", done=1, total=5)
            target = GraphTarget(config.with_proxy_password(wanted.tenant, folder), credential, events=events)
            try:
                target.graph.check_permissions()  # before anything is written
                domains = target.verified_domains()
            finally:
                target.close()
            events.verbose(f"Signed in to tenant {wanted.tenant.tenant_id}; verified domains: {', '.join(domains)}.")
            identity = None

        events.progress("Configuration wizard", f"Active Directory: creating the {account_name(installation_id)} "
                        "account", done=3, total=5)
        account = ensure_service_account(
            _ldap_settings(wanted.active_directory), admin_user, admin_password, installation_id=installation_id,
            installed_at=f"{socket.gethostname()}:{folder.resolve()}", events=events)
        del admin_password  # the Enterprise Admin password goes no further than this step

        events.progress("Configuration wizard", "Saving the configuration", done=4, total=5)
        secrets.store_secret(folder, secrets.AD_SERVICE_ACCOUNT_PASSWORD, account.password)
        if identity is not None:
            save_certificate(folder, identity.certificate)
        else:
            secrets.store_secret(folder, secret_name, credential)
        saved = config.update(wanted, {"activeDirectory": {"serviceAccount": account.user},
                                       "installationId": installation_id})
        config.save(saved, folder)
        events.verbose(f"Saved the configuration to {config.config_path(folder)}.")
        if admin_graph is not None and identity is not None:
            remove_keys(admin_graph, identity, events)  # the old certificates, now that the new one is saved
    finally:
        if admin_graph is not None and administrator is not None:
            administrator.forget()
            admin_graph.close()
    plan = schedule.change(enabled=schedule_enabled, home=str(folder), events=events)
    events.progress_done("Configuration wizard")

    first_run = start_sync(trigger=Trigger.wizard, events=events, home=folder) if sync_now else None
    return {"configuration": config.describe(str(folder)),
            "cloudIdentity": identity.to_dict() if identity is not None else None,
            "serviceAccount": {"dn": account.dn, "user": account.user, "created": account.created},
            "schedule": plan, "syncResult": first_run}


def _sign_in(tenant: config.TenantSettings, folder: Path, use_device_code: bool, timeout: float | None,
             events: Events) -> "tuple[GraphClient, AdminSignIn]":
    """Graph, signed in as the administrator (the browser or the device code), and that sign-in; nothing
    is kept."""
    from .cloud.admin import AdminSignIn
    from .cloud.graph import GraphClient

    signed_in: list[AdminSignIn] = []

    def sign_in(session):
        administrator = AdminSignIn(tenant, session, events=events)
        administrator.sign_in(use_device_code=use_device_code, timeout=timeout)
        signed_in.append(administrator)
        return administrator

    graph = GraphClient(config.with_proxy_password(tenant, folder), events=events, sign_in=sign_in)
    return graph, signed_in[0]


def check_domain_controller(*, admin_user: str | None = None, admin_password: str | None = None,
                            home: str | None = None, events: Events | None = None, **answers) -> dict:
    """Page 2's checks, each as soon as its answer is given, so that a wrong answer is asked for again
    and the others are kept: without credentials, the domain controller answers over TLS and its
    certificate is trusted with the CA file given (or kept from an earlier run), before the Enterprise
    Admin password is asked for; with them, the domain controller accepts them (a bind, nothing written).
    `answers` are those of sections() for Active Directory."""
    from .ad.connection import check_trust, connect

    current = _current(Path(home) if home else config.home())
    ad = config.update(current, {"activeDirectory": sections(**answers)["active_directory"]}).active_directory
    if not ad.server:
        raise InvalidArgumentError("The domain controller is missing.", fix="Give -DomainController.")
    settings = _ldap_settings(ad)
    events = events or Events()
    if admin_user is None:
        check_trust(settings)
        events.verbose(f"The certificate of {settings.address} is trusted.")
    else:
        connect(settings, admin_user, admin_password or "", events).unbind()
        del admin_password
        events.verbose(f"{settings.address} accepted the credentials of {admin_user}.")
    return {"server": settings.address, "trusted": True, "signedIn": admin_user is not None}


def sections(*, tenant_id: str | None = None, client_id: str | None = None, authority_host: str | None = None,
             graph_endpoint: str | None = None, tenant_ca_file: str | None = None,
             certificate_file: str | None = None, client_secret: str | None = None,
             domain_controller: str | None = None, port: int | None = None, transport: str | None = None,
             domain_controller_ca_file: str | None = None) -> dict:
    """The wizard's answers, named as the parameters of Start-CoexistenceConfigurationWizard (snake_case),
    as the configuration sections configure() takes. An answer not given keeps its current value. The app
    signs in with its certificate when one is given and no client secret, else with the secret."""
    certificate = bool(certificate_file and not client_secret)
    tenant = {"tenantId": tenant_id, "clientId": client_id, "authorityHost": authority_host,
              "graphEndpoint": graph_endpoint, "caFile": tenant_ca_file,
              "certificateFile": certificate_file if certificate else None,
              "credentialType": "certificate" if certificate else "secret"}
    ad = {"server": domain_controller, "port": port, "transport": transport, "caFile": domain_controller_ca_file}
    return {"tenant": {k: v for k, v in tenant.items() if v},
            "active_directory": {k: v for k, v in ad.items() if v}}


def configure_with_answers(*, admin_user: str = "", admin_password: str = "", client_secret: str | None = None,
                           certificate_key_file: str | None = None, exchange_hybrid: bool = False,
                           sync_now: bool = True, use_device_code: bool = False, what_if: bool = False,
                           sign_in_timeout: float | None = None, home: str | None = None,
                           events: Events | None = None, **answers) -> dict:
    """configure() with the flat answers of sections(): what the cmdlet and `dirsync configure` call."""
    return configure(**sections(client_secret=client_secret, **answers), admin_user=admin_user,
                     admin_password=admin_password, client_secret=client_secret,
                     certificate_key_file=certificate_key_file, exchange_hybrid=exchange_hybrid,
                     sync_now=sync_now, use_device_code=use_device_code, what_if=what_if,
                     sign_in_timeout=sign_in_timeout, home=home, events=events)
