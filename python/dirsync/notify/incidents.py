"""Which incidents a run begins or clears, and the message of each: pure, no I/O (notify/__init__ sends).

An incident is told once when it begins and once when it clears, however many runs it lasts. A stopped
run, the deletion threshold and runs failing in a row clear when a run synchronizes everything again (a
run of chosen objects is not enough); export errors clear when no object is in error, and objects newly
in error while the incident lasts are told in a message of their own; the credential's warning clears once
the certificate is replaced.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..engine.ports import ObjectError, RunResult
from ..text import for_display
from ..vocabulary import IncidentKind, RunMode, RunStatus

FIRST_ERRORS = 10  # the errors a message lists; the history holds them all
LOOK_FURTHER = ("To look further: Get-CoexistenceSyncHistory -Last 1 | Format-List and Test-CoexistenceSync "
                "in the DirSync shell (dirsync history --last 1, dirsync test).")


@dataclass(frozen=True)
class Incident:
    kind: IncidentKind
    opened_at: str
    opened_run: int | None
    notified: bool = False   # its opening message was sent
    anchors: tuple[str, ...] = ()  # export errors: the objects the message told of


@dataclass(frozen=True)
class Email:
    subject: str
    body: str


@dataclass(frozen=True)
class Step:
    """What to do about one incident: send `email` (None: nothing to tell), then keep `incident`
    (notified) or, when `cleared`, forget it."""
    incident: Incident
    cleared: bool
    email: Email | None


@dataclass(frozen=True)
class Situation:
    """What a recorded run left behind, as the notifications see it."""
    run: RunResult
    recent: list[RunResult]    # the latest recorded runs, newest (this one) first
    errors: list[ObjectError]  # every object in error now
    credential: str | None     # the credential's expiry warning, or None
    host: str


def decide(situation: Situation, incidents: dict[IncidentKind, Incident], failed_in_a_row: int) -> list[Step]:
    run = situation.run
    complete = run.mode != RunMode.object and RunStatus(run.status).synchronized
    failing = len(situation.recent) >= failed_in_a_row and all(r.failed for r in situation.recent[:failed_in_a_row])
    active: dict[IncidentKind, bool | None] = {
        # Every other stop: an error, a server down, another active server.
        IncidentKind.run_stopped: True if run.failed and run.status != RunStatus.threshold_exceeded else
        (False if complete else None),
        IncidentKind.deletion_threshold: True if run.status == RunStatus.threshold_exceeded else
        (False if complete else None),
        IncidentKind.failing_runs: True if failing else (False if complete else None),
        IncidentKind.export_errors: None if run.failed else bool(situation.errors),
        IncidentKind.credential_expiring: bool(situation.credential),
    }
    steps = []
    for kind, now_active in active.items():
        held = incidents.get(kind)
        if now_active and (held is None or not held.notified):
            incident = held or Incident(kind, run.end_time or run.start_time, run.run_id)
            anchors = tuple(e.anchor for e in situation.errors) if kind == IncidentKind.export_errors else ()
            steps.append(Step(replace(incident, notified=True, anchors=anchors), False,
                              _opening(kind, situation, situation.errors)))
        elif now_active and kind == IncidentKind.export_errors and held is not None:
            new = [e for e in situation.errors if e.anchor not in set(held.anchors)]
            if new:
                steps.append(Step(replace(held, anchors=held.anchors + tuple(e.anchor for e in new)), False,
                                  _opening(kind, situation, new, more=True)))
        elif now_active is False and held is not None:
            steps.append(Step(held, True, _clearing(held, situation) if held.notified else None))
    return steps


_TITLES = {
    IncidentKind.run_stopped: "a synchronization run stopped",
    IncidentKind.deletion_threshold: "a synchronization run stopped at the deletion threshold",
    IncidentKind.export_errors: "objects could not be synchronized",
    IncidentKind.credential_expiring: "DirSync's credential for Microsoft 365 expires soon",
    IncidentKind.failing_runs: "synchronization runs are failing one after another",
}


def _run_line(run: RunResult) -> str:
    counts = ", ".join(f"{name} {value}" for name, value in run.counts.items() if value)
    return (f"Run {run.run_id} ({run.mode}, {run.trigger}{', staging mode' if run.staging else ''}) started "
            f"{run.start_time} and ended {run.end_time}: {run.status}." + (f" Counts: {counts}." if counts else ""))


def _error_lines(errors: list[ObjectError]) -> list[str]:
    lines = [f"- {e.dn}: {e.reason or 'no reason was given'} Fix: {e.fix or 'see the history'}"
             for e in errors[:FIRST_ERRORS]]
    if len(errors) > FIRST_ERRORS:
        lines.append(f"- and {len(errors) - FIRST_ERRORS} more (the history lists them all)")
    return lines


def _opening(kind: IncidentKind, situation: Situation, errors: list[ObjectError], more: bool = False) -> Email:
    run = situation.run
    if kind == IncidentKind.export_errors:
        objects = f"{len(errors)} {'more ' if more else ''}object{'' if len(errors) == 1 else 's'}"
        title = f"{objects} could not be synchronized"
        what = [f"{title}; {len(situation.errors)} are in error now. Each error says why and what to fix in "
                "Active Directory or in Microsoft 365; the next run writes each object once it is fixed."]
    elif kind == IncidentKind.credential_expiring:
        title = _TITLES[kind]
        what = [situation.credential or ""]
    elif kind == IncidentKind.failing_runs:
        count = next((i for i, r in enumerate(situation.recent) if not r.failed), len(situation.recent))
        title = f"{count} synchronization runs failed in a row"
        what = [f"The last {count} runs did not synchronize. The last one said: {run.message}"]
    else:
        title = _TITLES[kind]
        what = [run.message]
    body = [f"DirSync on {situation.host}: {title}.", "", *what, "", _run_line(run)]
    if errors:
        body += ["", "The first objects in error:", *_error_lines(errors)]
    body += ["", LOOK_FURTHER,
             "You are told again only when this clears (or, for export errors, when more objects go into error)."]
    return Email(subject=for_display(f"DirSync on {situation.host}: {title}"),
                 body="\n".join(for_display(line) for line in body) + "\n")


def _clearing(incident: Incident, situation: Situation) -> Email:
    title = _TITLES[incident.kind]
    began = f"It began at {incident.opened_at}" + (f" (run {incident.opened_run})." if incident.opened_run else ".")
    body = [f"DirSync on {situation.host}: cleared: {title}.", "", began, _run_line(situation.run), "",
            LOOK_FURTHER]
    return Email(subject=for_display(f"DirSync on {situation.host}: cleared: {title}"),
                 body="\n".join(for_display(line) for line in body) + "\n")
