"""The composition root: the real Source (Active Directory over LDAPS) and Target (Microsoft Graph)
built from the configuration and the secrets store, and the functions the PowerShell bridge and the CLI
call. Each returns plain JSON-able data.

    start_sync(full=False, preview=False, allow_deletes=False, trigger="manual", events, home) -> run result
    sync_history(last=None, home) -> [run result, newest first]
    test_sync(home, events) -> health: last sync, objects in scope and in the cloud, pending changes, errors
"""

from __future__ import annotations

from pathlib import Path

from . import config as config_module
from . import secrets
from .engine.ports import Source, Target
from .engine.run import RunOptions, run_sync
from .errors import RunInProgressError
from .events import Events
from .state.store import StateStore


SCHEDULED = "scheduled"


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


def build_target(configuration: config_module.Configuration, home: Path, events: Events) -> Target:
    from .cloud.writer import GraphTarget  # imported here: msal and requests are needed only for a run

    tenant = configuration.tenant
    name = secrets.TENANT_CLIENT_SECRET if tenant.credential_type == "secret" else secrets.TENANT_CERTIFICATE_KEY
    return GraphTarget(tenant, secrets.load_secret(home, name), events=events)


def start_sync(*, full: bool = False, preview: bool = False, allow_deletes: bool = False,
               trigger: str = "manual", events: Events | None = None, home: Path | str | None = None) -> dict:
    """One synchronization run (Start-OnlineCoexistenceSync, `dirsync sync`). Raises RunInProgressError
    when a run is already going, NotConfiguredError or ConfigurationError before any run; every other
    outcome is in the result's status."""
    events = events or Events()
    folder = _home(home)
    configuration = config_module.load(folder)

    def connect():
        return build_source(configuration, folder, events), build_target(configuration, folder, events)

    with StateStore(folder) as store:
        try:
            return run_sync(connect, store, configuration,
                            RunOptions(full=full, preview=preview, allow_deletes=allow_deletes, trigger=trigger),
                            events)
        except RunInProgressError as busy:
            if trigger != SCHEDULED:
                raise
            # The scheduler's turn comes again at the next interval; the history says why this one passed.
            return store.record_skipped_run(trigger, f"Skipped: {busy.message}")


def sync_history(last: int | None = None, home: Path | str | None = None) -> list[dict]:
    """The runs, newest first (previews are not recorded: they write nothing)."""
    with StateStore(_home(home)) as store:
        return store.runs(last)


def test_sync(home: Path | str | None = None, events: Events | None = None) -> dict:
    """Is synchronization healthy? The last sync, how many objects are in scope and in the cloud, what
    the next run would change (a preview, which writes nothing) and the objects in error."""
    folder = _home(home)
    config_module.load(folder)  # says "not configured" before a state file is made
    with StateStore(folder) as store:
        db = store.db
        last = store.last_successful_run()
        latest = store.runs(1)
        in_scope = db.execute("SELECT count(*) FROM objects WHERE in_scope=1 AND skip_reason IS NULL").fetchone()[0]
        in_cloud = db.execute("SELECT count(*) FROM objects WHERE cloud_id IS NOT NULL").fetchone()[0]
        skipped = db.execute("SELECT count(*) FROM objects WHERE in_scope=1 AND skip_reason IS NOT NULL").fetchone()[0]
        errors = [{"anchor": r["anchor"], "dn": r["dn"], "kind": r["kind"], "reason": r["last_error"],
                   "fix": r["last_fix"]}
                  for r in db.execute("SELECT * FROM objects WHERE last_result IN ('error', 'invalid') "
                                      "AND in_scope=1 ORDER BY dn")]
    report = {
        "lastSyncTime": last["endTime"] if last else None,
        "lastRun": latest[0] if latest else None,
        "objectsInScope": in_scope, "objectsInCloud": in_cloud, "objectsSkipped": skipped,
        "errors": errors, "runInProgress": False, "pendingChanges": None, "previewStatus": None,
        "healthy": False,
    }
    try:
        preview = start_sync(preview=True, trigger="test", events=events, home=folder)
    except RunInProgressError:
        report["runInProgress"] = True
        return report
    pending: dict[str, int] = {}
    for change in preview["plan"]:
        pending[change["action"]] = pending.get(change["action"], 0) + 1
    report["pendingChanges"] = pending
    report["previewStatus"] = preview["status"]
    report["previewMessage"] = preview["message"]
    report["healthy"] = bool(last and latest and latest[0]["status"] == "success" and not pending and not errors)
    return report
