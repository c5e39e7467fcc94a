"""The configuration wizard's work, page by page, once its answers are in (the prompts live in
Start-CoexistenceConfigurationWizard and `dirsync configure`):

1. Microsoft 365: the tenant and the app DirSync signs in as; the sign-in is tried before anything is kept.
2. Active Directory: with Enterprise Admin credentials, this installation's own account MSOL_<installation
   id> is created (or, re-running in the same home, its password reset) and granted Replicating Directory
   Changes. Another home has another installation id, so it never touches this account. The admin
   credentials serve this step only: they are never stored, logged or returned.
3. Exchange hybrid deployment: recorded.
4. Finish: the configuration and secrets are saved, the recurring synchronization is registered and,
   with "Synchronize directories now", the first run starts.

Nothing is saved until pages 1 and 2 succeeded, so a failed wizard leaves a working configuration as
it was. Re-running the wizard updates the configuration and keeps the synchronization settings.
"""

from __future__ import annotations

import socket
from pathlib import Path

from . import config, schedule, secrets
from .errors import InvalidArgumentError, NotConfiguredError
from .events import Events
from .vocabulary import Trigger


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


def configure(*, tenant: dict, active_directory: dict, admin_user: str, admin_password: str,
              client_secret: str | None = None, certificate_key_file: str | None = None,
              exchange_hybrid: bool = False, schedule_enabled: bool = True, sync_now: bool = True,
              home: str | None = None, events: Events | None = None) -> dict:
    """Runs the wizard's pages with the given answers. `tenant` and `active_directory` are sections of
    the configuration (camelCase keys, as in dirsync.json)."""
    from .ad.service_account import account_name, ensure_service_account, new_installation_id
    from .cloud.writer import GraphTarget
    from .service import start_sync

    events = events or Events()
    folder = Path(home) if home else config.home()
    current = _current(folder)
    # Every answer is checked before anything is tried or written.
    wanted = config.update(current, {"tenant": tenant, "activeDirectory": active_directory,
                                     "exchangeHybrid": exchange_hybrid})
    if not wanted.active_directory.server:
        raise InvalidArgumentError("The domain controller is missing.", fix="Give -DomainController.")
    if not (wanted.tenant.tenant_id and wanted.tenant.client_id):
        raise InvalidArgumentError("The tenant and the app are missing.", fix="Give -TenantId and -ClientId.")
    secret_name, credential = _tenant_credential(wanted.tenant, client_secret, certificate_key_file, folder)

    events.progress("Configuration wizard", "Microsoft 365: signing in", done=1, total=4)
    target = GraphTarget(config.with_proxy_password(wanted.tenant, folder), credential, events=events)
    try:
        target.graph.check_permissions()  # before anything is written
        domains = target.verified_domains()
    finally:
        target.close()
    events.verbose(f"Signed in to tenant {wanted.tenant.tenant_id}; verified domains: {', '.join(domains)}.")

    installation_id = current.installation_id or new_installation_id()
    events.progress("Configuration wizard", f"Active Directory: creating the {account_name(installation_id)} account",
                    done=2, total=4)
    account = ensure_service_account(
        _ldap_settings(wanted.active_directory), admin_user, admin_password, installation_id=installation_id,
        installed_at=f"{socket.gethostname()}:{folder.resolve()}", events=events)
    del admin_password  # the Enterprise Admin password goes no further than this step

    events.progress("Configuration wizard", "Saving the configuration", done=3, total=4)
    secrets.store_secret(folder, secrets.AD_SERVICE_ACCOUNT_PASSWORD, account.password)
    secrets.store_secret(folder, secret_name, credential)
    saved = config.update(wanted, {"activeDirectory": {"serviceAccount": account.user},
                                   "installationId": installation_id})
    config.save(saved, folder)
    events.verbose(f"Saved the configuration to {config.config_path(folder)}.")
    plan = schedule.change(enabled=schedule_enabled, home=str(folder), events=events)
    events.progress_done("Configuration wizard")

    first_run = start_sync(trigger=Trigger.wizard, events=events, home=folder) if sync_now else None
    return {"configuration": config.describe(str(folder)),
            "serviceAccount": {"dn": account.dn, "user": account.user, "created": account.created},
            "schedule": plan, "syncResult": first_run}


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


def configure_with_answers(*, admin_user: str, admin_password: str, client_secret: str | None = None,
                           certificate_key_file: str | None = None, exchange_hybrid: bool = False,
                           sync_now: bool = True, home: str | None = None, events: Events | None = None,
                           **answers) -> dict:
    """configure() with the flat answers of sections(): what the cmdlet and `dirsync configure` call."""
    return configure(**sections(client_secret=client_secret, **answers), admin_user=admin_user,
                     admin_password=admin_password, client_secret=client_secret,
                     certificate_key_file=certificate_key_file, exchange_hybrid=exchange_hybrid,
                     sync_now=sync_now, home=home, events=events)
