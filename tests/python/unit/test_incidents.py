"""Which incidents a run begins or clears, and what their messages say (notify/incidents.py, pure)."""

from __future__ import annotations

from dataclasses import replace

from dirsync.engine.ports import ObjectError, RunResult
from dirsync.notify.incidents import FIRST_ERRORS, Incident, Situation, decide
from dirsync.vocabulary import IncidentKind, RunMode, RunStatus


def run(status=RunStatus.success, run_id=7, mode=RunMode.delta, message="") -> RunResult:
    return RunResult(run_id=run_id, status=status, mode=mode, trigger="scheduled", start_time="2026-12-03T10:00:00Z",
                     end_time="2026-12-03T10:01:00Z", counts={"inScope": 40, "deleted": 0}, message=message)


def error(n: int) -> ObjectError:
    return ObjectError(anchor=f"a{n}", dn=f"CN=User {n},OU=Staff,DC=contoso,DC=com", kind="user",
                       reason="The UPN is taken in the cloud.", fix="Change the UPN in AD.")


def situation(this: RunResult, earlier=(), errors=(), credential=None) -> Situation:
    return Situation(this, [this, *earlier], list(errors), credential, "dirsync1")


def told(kind: IncidentKind, anchors=()) -> dict[IncidentKind, Incident]:
    return {kind: Incident(kind, "2026-12-03T07:00:00Z", 3, True, tuple(anchors))}


def kinds(steps) -> list[tuple[IncidentKind, bool, bool]]:
    return [(s.incident.kind, s.cleared, s.email is not None) for s in steps]


def test_a_stopped_run_begins_an_incident_whose_message_says_what_happened_and_where_to_look():
    stopped = run(RunStatus.stopped, message="Microsoft 365 refused DirSync's credential. Run the wizard again.")
    steps = decide(situation(stopped), {}, 3)
    assert kinds(steps) == [(IncidentKind.run_stopped, False, True)]
    email = steps[0].email
    assert email.subject == "DirSync on dirsync1: a synchronization run stopped"
    assert "refused DirSync's credential. Run the wizard again." in email.body
    assert "Run 7 (delta, scheduled) started" in email.body and "inScope 40" in email.body
    assert "Get-CoexistenceSyncHistory -Last 1" in email.body and "dirsync history --last 1" in email.body
    assert steps[0].incident.notified and steps[0].incident.opened_run == 7


def test_an_incident_already_told_is_not_told_again_and_clears_only_with_a_complete_run():
    held = told(IncidentKind.run_stopped)
    assert decide(situation(run(RunStatus.server_down)), held, 3) == []
    assert kinds(decide(situation(run(RunStatus.another_server)), {}, 3)) == [(IncidentKind.run_stopped, False, True)]
    assert decide(situation(run(RunStatus.success, mode=RunMode.object)), held, 3) == []  # one object: not enough
    assert decide(situation(run(RunStatus.success, mode=RunMode.delta)), {}, 3) == []
    steps = decide(situation(run(RunStatus.export_errors), errors=[error(1)]), held, 3)
    cleared = [s for s in steps if s.incident.kind == IncidentKind.run_stopped]
    assert kinds(cleared) == [(IncidentKind.run_stopped, True, True)]
    assert cleared[0].email.subject == "DirSync on dirsync1: cleared: a synchronization run stopped"
    assert "It began at 2026-12-03T07:00:00Z (run 3)." in cleared[0].email.body


def test_an_incident_whose_message_was_not_sent_is_told_at_the_next_run_or_forgotten_silently_if_over():
    untold = {IncidentKind.run_stopped: replace(told(IncidentKind.run_stopped)[IncidentKind.run_stopped],
                                                notified=False)}
    assert kinds(decide(situation(run(RunStatus.stopped)), untold, 3)) == [(IncidentKind.run_stopped, False, True)]
    assert kinds(decide(situation(run()), untold, 3)) == [(IncidentKind.run_stopped, True, False)]


def test_runs_failing_in_a_row_make_their_own_incident_at_the_set_number():
    failed = [run(RunStatus.stopped, run_id=i) for i in (6, 5, 4)]
    held = told(IncidentKind.run_stopped)
    assert decide(situation(run(RunStatus.stopped), failed[:1]), held, 3) == []  # two in a row
    steps = decide(situation(run(RunStatus.stopped, message="The DC is down."), failed[:2]), held, 3)
    assert kinds(steps) == [(IncidentKind.failing_runs, False, True)]
    assert "3 synchronization runs failed in a row" in steps[0].email.subject
    assert "The last 3 runs did not synchronize. The last one said: The DC is down." in steps[0].email.body


def test_export_errors_are_told_when_objects_first_go_into_error_again_for_new_ones_and_clear_when_none_is_left():
    first = decide(situation(run(RunStatus.export_errors), errors=[error(1), error(2)]), {}, 3)
    assert kinds(first) == [(IncidentKind.export_errors, False, True)]
    assert first[0].email.subject == "DirSync on dirsync1: 2 objects could not be synchronized"
    assert "- CN=User 1,OU=Staff,DC=contoso,DC=com: The UPN is taken in the cloud. Fix: Change the UPN in AD." in \
        first[0].email.body
    held = {IncidentKind.export_errors: first[0].incident}
    assert decide(situation(run(RunStatus.export_errors), errors=[error(2)]), held, 3) == []  # no new one
    more = decide(situation(run(RunStatus.export_errors), errors=[error(2), error(3)]), held, 3)
    assert more[0].email.subject == "DirSync on dirsync1: 1 more object could not be synchronized"
    assert "CN=User 3," in more[0].email.body and "CN=User 2," not in more[0].email.body
    assert set(more[0].incident.anchors) == {"a1", "a2", "a3"}
    assert decide(situation(run(RunStatus.stopped), errors=[]), held, 3)[0].incident.kind == IncidentKind.run_stopped
    assert kinds(decide(situation(run(), errors=[]), held, 3)) == [(IncidentKind.export_errors, True, True)]


def test_a_message_lists_the_first_errors_and_says_how_many_more_the_history_holds():
    many = [error(n) for n in range(FIRST_ERRORS + 5)]
    body = decide(situation(run(RunStatus.export_errors), errors=many), {}, 3)[0].email.body
    assert body.count("Fix: Change the UPN in AD.") == FIRST_ERRORS
    assert "- and 5 more (the history lists them all)" in body


def test_the_credential_warning_is_an_incident_until_the_certificate_is_replaced():
    warning = "The certificate DirSync signs in to Microsoft 365 with expires on 2026-12-20 (in 17 days)."
    steps = decide(situation(run(), credential=warning), {}, 3)
    assert kinds(steps) == [(IncidentKind.credential_expiring, False, True)] and warning in steps[0].email.body
    held = {IncidentKind.credential_expiring: steps[0].incident}
    assert decide(situation(run(), credential=warning), held, 3) == []
    assert kinds(decide(situation(run()), held, 3)) == [(IncidentKind.credential_expiring, True, True)]


def test_a_name_from_active_directory_cannot_forge_lines_in_a_message():
    forged = replace(error(1), dn="CN=Eve\r\nSubject: all is well,DC=contoso,DC=com")
    body = decide(situation(run(RunStatus.export_errors), errors=[forged]), {}, 3)[0].email.body
    assert "CN=Eve\\x0d\\x0aSubject: all is well" in body and "\nSubject:" not in body
