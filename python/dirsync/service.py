"""The composition root: the real Source (Active Directory over LDAPS) and Target (Microsoft Graph)
built from the configuration and the secrets store, and the functions the PowerShell bridge and the CLI
call. Each returns data the bridge and the CLI turn into JSON (dataclasses through their `to_dict`).

    start_sync(full=False, preview=False, allow_deletes=False, trigger="manual", events, home) -> RunResult
    sync_history(last=None, home) -> [RunResult, newest first]
    describe_objects(identities, events, home) -> [ObjectReport]: Get-CoexistenceObject
    send_test_notification(home) -> where a test message went: Send-CoexistenceTestNotification
    test_sync(home, events) -> health: last sync, objects in scope and in the cloud, pending changes, errors
    change_settings(home, events, **settings) -> the configuration, the OU filter checked against AD first
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from . import config as config_module
from . import notify, schedule, secrets
from .engine.ports import RunResult, Source, Target
from .engine.describe import ObjectReport, describe
from .engine.run import RunOptions, resolve, run_sync
from .engine.scope import check_containers
from .errors import DirSyncError, InvalidArgumentError, RunInProgressError
from .events import Events
from .state.store import StateStore
from .vocabulary import PlanAction, RunStatus, Trigger


def _home(home: Path | str | None) -> Path:
    return Path(home) if home else config_module.home()


def build_source(configuration: config_module.Configuration, home: Path, events: Events) -> Source:
    from .ad.connection import LdapSettings  # imported here: ldap3 is needed only for a run
    from .ad.reader import ActiveDirectorySource

    ad = configuration.active_directory
    settings = LdapSettings(server=ad.server, transport=ad.transport, port=ad.port, ca_file=ad.ca_file,
                            verify=ad.verify_certificate)
    return ActiveDirectorySource(settings, ad.service_account,
                                 secrets.load_secret(home, secrets.AD_SERVICE_ACCOUNT_PASSWORD),
                                 base_dn=ad.base_dn or None, events=events)


def change_settings(home: str | None = None, events: Events | None = None, **settings) -> dict:
    """Set-CoexistenceConfiguration, Set-PreventAccidentalDeletes, `dirsync config set`
    (config.change_settings): a changed OU filter is saved only once the directory has each OU."""
    events = events or Events()
    folder = _home(home)

    def check_scope(current: config_module.Configuration, changed: config_module.Configuration) -> None:
        before, after = current.sync, changed.sync
        if (before.include_ous, before.exclude_ous) == (after.include_ous, after.exclude_ous):
            return
        if not changed.active_directory.server:
            return  # no directory to ask yet: each run checks the included OUs before it reads anything
        check_containers(build_source(changed, folder, events), after.include_ous, after.exclude_ous,
                         consequence="Nothing was changed.")

    return config_module.change_settings(home, events, check_scope, **settings)


def _credential(tenant: config_module.TenantSettings, home: Path) -> str:
    name = secrets.TENANT_CLIENT_SECRET if tenant.credential_type == "secret" else secrets.TENANT_CERTIFICATE_KEY
    return secrets.load_secret(home, name)


def build_target(configuration: config_module.Configuration, home: Path, events: Events) -> Target:
    from .cloud.writer import GraphTarget  # imported here: msal and requests are needed only for a run

    target = GraphTarget(config_module.with_proxy_password(configuration.tenant, home),
                         _credential(configuration.tenant, home), events=events)
    try:
        target.graph.check_permissions()
    except DirSyncError:
        target.close()
        raise
    return target


def start_sync(*, full: bool = False, preview: bool = False, allow_deletes: bool = False,
               trigger: str = Trigger.manual, objects: list[str] | tuple[str, ...] | str | None = None,
               wait: bool = False, take_over: bool = False, events: Events | None = None,
               home: Path | str | None = None) -> RunResult:
    """One synchronization run (Start-OnlineCoexistenceSync, `dirsync sync`); `objects`: only these
    (-Identity, `--object`); `take_over`: replace another server's active-server marker (-TakeOver).
    Raises RunInProgressError when a run is already going (unless `wait`), NotConfiguredError or
    ConfigurationError before any run, IdentityNotFoundError or IdentityAmbiguousError for an identity;
    every other outcome is in the result's status."""
    events = events or Events()
    folder = _home(home)
    configuration = config_module.load(folder)

    def connect():
        return build_source(configuration, folder, events), build_target(configuration, folder, events)

    with StateStore(folder) as store:
        try:
            run = run_sync(connect, store, configuration,
                           RunOptions(full=full, preview=preview, allow_deletes=allow_deletes, trigger=trigger,
                                      objects=_identities(objects, full), wait=wait, take_over=take_over,
                                      server_id=server_id(folder)),
                           events)
            # After it is remembered: what could not be told is a notice, never another outcome.
            try:
                return notify.after_run(run, store, configuration, folder,
                                        None if preview else _credential_reason(configuration.tenant, {}), events)
            except DirSyncError as err:  # the state store could not keep an incident: the run stands
                events.warning(f"The run's notifications were not decided: {err}")
                return run
        except RunInProgressError as busy:
            if trigger != Trigger.scheduled:
                raise
            # The scheduler's turn comes again at the next interval; the history says why this one passed.
            return store.record_skipped_run(trigger, f"Skipped: {busy.message}")


def describe_objects(identities: list[str] | tuple[str, ...] | str, events: Events | None = None,
                     home: Path | str | None = None) -> list[ObjectReport]:
    """Get-CoexistenceObject, `dirsync object show`: each object explained (engine/describe.py). Reads Active
    Directory, the cloud and the state; writes nothing and needs no run lock."""
    events = events or Events()
    folder = _home(home)
    configuration = config_module.load(folder)
    source = build_source(configuration, folder, events)
    target = build_target(configuration, folder, events)
    try:
        with StateStore(folder) as store:
            at = datetime.now(timezone.utc)
            return [describe(item, identity, source, target, store, configuration, at)
                    for identity in _identities(identities, False)
                    for item in resolve(source, store, [identity])]
    finally:
        getattr(target, "close", lambda: None)()


def _identities(objects: list[str] | tuple[str, ...] | str | None, full: bool) -> tuple[str, ...]:
    if objects is None:
        return ()
    names = [objects] if isinstance(objects, str) else list(objects)
    chosen = tuple(dict.fromkeys(n.strip() for n in names if n and n.strip()))
    if not chosen:
        raise InvalidArgumentError("No object was named.",
                                   fix="Give each object's sAMAccountName, userPrincipalName, distinguishedName "
                                       "or objectGUID (-Identity, --object).")
    if full:
        raise InvalidArgumentError("A full synchronization reads every object; it cannot be of chosen objects.",
                                   fix="Leave out -FullSync (--full) or -Identity (--object).")
    return chosen


def server_id(folder: Path) -> str:
    """This home's id in the active-server marker (engine/guard.py), made from the host name and the home's
    path: kept when the state file is rebuilt, and not carried along when a home is copied to a standby
    server. (A renamed host or a home moved to another folder is another server to the marker: -TakeOver,
    once.)"""
    return config_module.installation_id_for(folder)


def send_test_notification(home: Path | str | None = None) -> dict:
    """Send-CoexistenceTestNotification, `dirsync notify test`: one message to the technical contact now."""
    folder = _home(home)
    return notify.send_test(config_module.load(folder), folder)


def sync_history(last: int | None = None, home: Path | str | None = None) -> list[RunResult]:
    """The runs, newest first (previews are not recorded: they write nothing)."""
    if last is not None and last < 1:
        raise InvalidArgumentError(f"The number of runs to show must be 1 or more, not {last}.",
                                   fix="Give --last 1 or more (-Last in PowerShell), or leave it out for every run.")
    with StateStore(_home(home)) as store:
        return store.runs(last)


# How late the last successful run may be, beyond two intervals, before the sync is called not healthy:
# one missed turn is forgiven (a run skipped because another was going), two are not.
LATE_MARGIN = timedelta(minutes=15)


def update_credential(home: Path | str | None = None, events: Events | None = None, what_if: bool = False) -> dict:
    """Update-CoexistenceCredential, `dirsync credential update`: a new certificate for DirSync's app,
    added beside the current one, verified, saved, and only then the old ones removed."""
    from .cloud.graph import GraphClient
    from .cloud.registration import add_certificate, remove_keys, rotation_steps
    from .wizard import held_certificate, save_certificate

    events = events or Events()
    folder = _home(home)
    configuration = config_module.load(folder)
    tenant = config_module.with_proxy_password(configuration.tenant, folder)
    held = held_certificate(tenant, folder)
    if held is None:
        raise InvalidArgumentError(
            "DirSync signs in with a client secret (or its certificate's key is missing), so it has no certificate "
            "to replace.", fix="Run Start-CoexistenceConfigurationWizard and sign in as an administrator: DirSync "
            "then makes its own app with a certificate it can rotate.")
    graph = GraphClient(tenant, held.key_pem, events=events)
    try:
        if what_if:
            app = graph.get_json(f"applications(appId='{tenant.client_id}')",
                                 params={"$select": "id,appId,keyCredentials"})
            return {"whatIf": [step.to_dict() for step in rotation_steps(app)]}
        identity = add_certificate(graph, tenant, held, events)
        certificate_file = save_certificate(folder, identity.certificate)
        if configuration.tenant.certificate_file != certificate_file:
            config_module.save(config_module.update(configuration, {"tenant": {"certificateFile": certificate_file}}),
                               folder)
        removed = remove_keys(graph, identity, events)
    finally:
        graph.close()
    return {"appId": identity.app_id, "certificateThumbprint": identity.certificate.thumbprint,
            "certificateExpires": identity.certificate.expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "removedThumbprints": removed}


def _credential_reason(tenant: config_module.TenantSettings, report: dict) -> str | None:
    """The certificate's expiry (report["credentialExpires"]) and, within the warning days, the reason."""
    from .cloud.certificate import Certificate

    report["credentialExpires"] = None
    if tenant.credential_type != "certificate" or not tenant.certificate_file:
        return None
    try:
        expires = Certificate(Path(tenant.certificate_file).read_text(encoding="utf-8"), None).expires
    except (OSError, ValueError):
        return f"The certificate file {tenant.certificate_file} cannot be read. Run the configuration wizard again."
    report["credentialExpires"] = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    left = expires - datetime.now(timezone.utc)
    if left > timedelta(days=tenant.credential_expiry_warning_days):
        return None
    when = f"expired on {expires:%Y-%m-%d}" if left.total_seconds() <= 0 else \
        f"expires on {expires:%Y-%m-%d} (in {max(0, left.days)} days)"
    return (f"The certificate DirSync signs in to Microsoft 365 with {when}. Replace it with "
            "Update-CoexistenceCredential (dirsync credential update) or by running the configuration wizard again.")


def test_sync(home: Path | str | None = None, events: Events | None = None) -> dict:
    """Is synchronization healthy? The last sync, how many objects are in scope and in the cloud, what
    the next run would change (a preview, which writes nothing) and the objects in error. Healthy means a
    recent successful run: `reasons` lists, with their fixes, each reason it is not."""
    folder = _home(home)
    configuration = config_module.load(folder)  # says "not configured" before a state file is made
    with StateStore(folder) as store:
        last = store.last_successful_run()
        latest = store.runs(1)
        health = store.health()
    try:
        plan = schedule.describe(str(folder))
    except schedule.SchedulerError as err:  # the scheduler itself is missing: that is the reason, not a failure
        plan = {"enabled": False, "schedulerProblem": str(err)}
    report = {
        "lastSyncTime": last.end_time if last else None,
        "lastRun": latest[0] if latest else None,
        "objectsInScope": health.in_scope, "objectsInCloud": health.in_cloud, "objectsSkipped": health.skipped,
        "errors": health.errors, "runInProgress": False, "pendingChanges": None, "previewStatus": None,
        "schedule": plan, "healthy": False,
    }
    reasons = _run_reasons(last, latest[0] if latest else None, configuration.sync.interval_minutes, plan)
    expiring = _credential_reason(configuration.tenant, report)
    if expiring:
        reasons.append(expiring)
    report["missingPermissions"] = _missing_permissions(folder, events)
    if report["missingPermissions"]:
        missing = ", ".join(report["missingPermissions"])
        reasons.append(f"DirSync's app lacks the Microsoft Graph permissions {missing}. "
                       "Grant them (with admin consent) to the app in Microsoft Entra ID.")
    try:
        preview = start_sync(preview=True, trigger=Trigger.test, events=events, home=folder)
    except RunInProgressError:
        report["runInProgress"] = True
        reasons.append("A synchronization is running, so what is pending is unknown. Test again when it is over.")
        report["reasons"] = reasons
        return report
    pending: dict[str, int] = {}
    for change in preview.plan:
        pending[change.action] = pending.get(change.action, 0) + 1
    report["pendingChanges"] = pending
    report["previewStatus"] = preview.status
    report["previewMessage"] = preview.message
    report["stagingSummary"] = _staging_summary(pending) if configuration.sync.staging_mode else None
    if report["missingPermissions"] is None:
        reasons.append(f"DirSync could not sign in to Microsoft 365: {preview.message}")
    if pending:
        reasons.append(f"{sum(pending.values())} changes wait for the next run "
                       f"({', '.join(f'{n} {a}' for a, n in pending.items())}). Start-OnlineCoexistenceSync "
                       "writes them now.")
    if health.errors:
        reasons.append(f"{len(health.errors)} objects could not be synchronized; each error says why and "
                       "what to fix.")
    report["reasons"] = reasons
    report["healthy"] = not reasons
    return report


def _staging_summary(pending: dict[str, int]) -> str:
    """How far a staging (standby) server's plan is from the cloud, for the administrator switching it over."""
    created = pending.get(PlanAction.add, 0)
    updated = sum(pending.get(a, 0) for a in (PlanAction.adopt, PlanAction.restore, PlanAction.update))
    deleted = pending.get(PlanAction.delete, 0)
    return (f"staging: {created} objects would be created, {updated} updated, {deleted} deleted at the next "
            "export")


def _run_reasons(last: RunResult | None, latest: RunResult | None, interval_minutes: int, plan: dict) -> list[str]:
    """Why the runs themselves are not healthy: none succeeded, the latest failed, the last success is
    older than the schedule allows, or the scheduler that should start them is not running."""
    reasons = []
    if last is None:
        reasons.append("DirSync has never synchronized successfully. Run Start-OnlineCoexistenceSync.")
    elif latest is not None and latest.status != RunStatus.success and latest.status != RunStatus.skipped:
        reasons.append(f"The last run ended {latest.status}: {latest.message} "
                       "Get-CoexistenceSyncHistory -Last 1 shows it.")
    if plan["schedulerProblem"]:
        reasons.append(plan["schedulerProblem"])
    if last is not None and last.end_time:
        age = datetime.now(timezone.utc) - datetime.fromisoformat(last.end_time.replace("Z", "+00:00"))
        allowed = 2 * timedelta(minutes=interval_minutes) + LATE_MARGIN
        if age > allowed:
            fix = ("Set-CoexistenceSyncSchedule -Enabled $true (dirsync schedule set --enabled on) turns the "
                   "schedule on." if not plan["enabled"] else
                   "Get-CoexistenceSyncHistory shows the recent runs; Get-CoexistenceSyncSchedule the scheduler.")
            reasons.append(f"The last successful synchronization ended {_hours(age)} ago; the schedule runs every "
                           f"{interval_minutes} minutes{'' if plan['enabled'] else ' but is turned off'}. {fix}")
    return reasons


def _hours(age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def _missing_permissions(folder: Path, events: Events | None) -> list[str] | None:
    """The Graph permissions DirSync needs that its app's token lacks; None when sign-in fails (the
    preview then says why)."""
    from .cloud.permissions import missing_permissions
    from .cloud.writer import GraphTarget

    tenant = config_module.load(folder).tenant
    try:
        target = GraphTarget(config_module.with_proxy_password(tenant, folder), _credential(tenant, folder),
                             events=events)
    except DirSyncError:
        return None
    try:
        return missing_permissions(target.graph._token)
    finally:
        target.close()
