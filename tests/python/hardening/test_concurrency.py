"""A scheduled run and a forced run at the same moment: exactly one runs, the other says why. A scheduled
run that meets a run in progress is recorded in the history as skipped-run-in-progress (the scheduler's
turn comes again); a forced one is refused with RunInProgressError."""

from __future__ import annotations

import threading

import pytest

from dirsync import service
from dirsync.errors import RunInProgressError
from dirsync.events import Events

IMPORT = "Importing from Active Directory"


def attempt(lab, trigger: str, **options):
    """The run's result, or the RunInProgressError it raised."""
    try:
        return service.start_sync(home=lab.home, trigger=trigger, **options).to_dict()
    except RunInProgressError as busy:
        return busy


def test_at_the_same_moment_exactly_one_runs_and_the_other_says_why(lab):
    start = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def run(trigger):
        start.wait()
        outcomes[trigger] = attempt(lab, trigger, full=True)  # a full import: long enough to overlap

    threads = [threading.Thread(target=run, args=(t,)) for t in ("scheduled", "manual")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    scheduled, manual = outcomes["scheduled"], outcomes["manual"]
    ran = [o for o in (scheduled, manual) if isinstance(o, dict) and o["status"] == "success"]
    assert len(ran) == 1, outcomes
    if ran[0] is manual:
        assert scheduled["status"] == "skipped-run-in-progress" and "already running" in scheduled["message"]
    else:
        assert isinstance(manual, RunInProgressError) and "already running" in manual.message and manual.fix


def hold_the_lock_then(lab, holder_trigger: str, arriving_trigger: str):
    """While a full run of `holder_trigger` is importing (inside its staging transaction), a run of
    `arriving_trigger` starts. Returns (the holder's result, what the arriving run gave, whether it gave
    it while the holder was still importing)."""
    importing, finished_import = threading.Event(), threading.Event()
    arriving: list = []

    def sink(event):
        if event["kind"] == "progress" and event.get("activity") == IMPORT:
            importing.set()
        if event["kind"] == "verbose" and event["message"].startswith("Import ("):
            finished_import.set()

    def second():
        importing.wait(60)
        arriving.append(attempt(lab, arriving_trigger))
        arriving.append(not finished_import.is_set())

    thread = threading.Thread(target=second)
    thread.start()
    held = service.start_sync(home=lab.home, trigger=holder_trigger, full=True, events=Events(sink)).to_dict()
    thread.join(60)
    return held, arriving[0], arriving[1]


def test_a_scheduled_run_meeting_a_forced_one_is_skipped_and_recorded(lab):
    held, skipped, promptly = hold_the_lock_then(lab, "manual", "scheduled")
    assert held["status"] == "success"
    assert skipped["status"] == "skipped-run-in-progress" and skipped["trigger"] == "scheduled"
    assert "already running" in skipped["message"] and "process" in skipped["message"]
    history = [r.to_dict() for r in service.sync_history(last=2, home=lab.home)]
    assert {r["status"] for r in history} == {"success", "skipped-run-in-progress"}


def test_the_skipped_scheduled_run_says_so_while_the_other_run_is_still_importing(lab):
    _, skipped, promptly = hold_the_lock_then(lab, "manual", "scheduled")
    assert skipped["status"] == "skipped-run-in-progress"
    assert promptly


def test_a_forced_run_meeting_a_scheduled_one_is_refused_with_the_reason(lab):
    held, refused, promptly = hold_the_lock_then(lab, "scheduled", "manual")
    assert held["status"] == "success" and held["trigger"] == "scheduled"
    assert isinstance(refused, RunInProgressError), refused
    assert "already running" in refused.message and refused.fix and refused.error_id == "DirSync.RunInProgress"
    assert promptly
    assert service.sync_history(last=1, home=lab.home)[0].status == "success"  # the refusal is not a run


@pytest.fixture(autouse=True)
def _first_sync_done(lab):
    if not service.sync_history(home=lab.home):
        assert lab.sync()["status"] == "success"
