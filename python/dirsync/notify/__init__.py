"""Telling people how the runs go, after the run is remembered: one event per run in the system log
(systemlog.py), and an e-mail per incident to the technical contact (incidents.py decides, mail.py sends).

Nothing here changes a run's outcome: what could not be told becomes a notice kept with the run.
"""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

from .. import secrets
from ..config import Configuration
from ..engine.ports import RunResult
from ..errors import DirSyncError, NotConfiguredError, NotificationError
from ..events import Events
from . import mail, systemlog
from .incidents import Email, Situation, decide


def after_run(run: RunResult, store, configuration: Configuration, home: Path, credential: str | None,
              events: Events) -> RunResult:
    """The run as recorded, with the notices of what could not be told (also kept in its history)."""
    if run.run_id is None or run.preview:
        return run  # a preview or a skipped turn: no run to tell of
    notices = [n for n in [systemlog.write(configuration.system_log, systemlog.events_of(run))] if n]
    settings = configuration.notifications
    if settings.smtp_server:
        recent = store.recent_runs(settings.failed_runs_in_a_row)
        situation = Situation(run, recent, store.health().errors, credential, socket.gethostname())
        for step in decide(situation, store.incidents(), settings.failed_runs_in_a_row):
            try:
                if step.email is not None:
                    mail.send(settings, _password(home, settings.smtp_username), step.email)
                    events.verbose(f"Sent to {', '.join(settings.recipients)}: {step.email.subject}")
            except NotificationError as err:
                notices.append(f"The notification '{step.email.subject if step.email else step.incident.kind}' "
                               f"was not sent: {err}")
                continue  # the incident stays untold: the next run tries again
            if step.cleared:
                store.clear_incident(step.incident.kind)
            else:
                store.save_incident(step.incident)
    for notice in notices:
        events.warning(notice)
    if not notices:
        return run
    store.add_notices(run.run_id, notices)
    return dataclasses.replace(run, notices=run.notices + notices)


def send_test(configuration: Configuration, home: Path) -> dict:
    """Send-CoexistenceTestNotification, `dirsync notify test`: one message through the configured server,
    or the NotificationError saying what to change."""
    settings = configuration.notifications
    host = socket.gethostname()
    mail.send(settings, _password(home, settings.smtp_username), Email(
        subject=f"DirSync on {host}: test notification",
        body=(f"DirSync on {host} sends its notifications to {', '.join(settings.recipients)} through "
              f"{settings.smtp_server}:{settings.smtp_port} ({settings.smtp_security}).\n\n"
              "It tells of a run stopped (by an error or the deletion threshold), objects newly in export "
              "error, its credential about to expire and runs failing one after another: once when each "
              "begins and once when it clears.\n")))
    return {"sent": True, "server": settings.smtp_server, "port": settings.smtp_port,
            "security": settings.smtp_security, "sender": settings.sender, "recipients": list(settings.recipients)}


def _password(home: Path, username: str) -> str | None:
    if not username:
        return None
    try:
        return secrets.load_secret(home, secrets.SMTP_PASSWORD)
    except NotConfiguredError:
        return None  # mail.send names what is missing
    except DirSyncError as err:  # a secret file others can read: say so, do not fail the run
        raise NotificationError(err.message, fix=err.fix) from None
