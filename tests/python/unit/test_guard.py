"""The guard between a plan and the cloud: deletion threshold, preview and staging (pure)."""

from __future__ import annotations

from dirsync.config import PreventAccidentalDeletesSettings
from dirsync.engine import guard
from dirsync.engine.planner import Plan
from dirsync.engine.ports import Change
from dirsync.vocabulary import PlanAction, RunStatus


def deleting(count: int) -> Plan:
    return Plan(changes=[Change(PlanAction.delete, "user", f"a{i}", f"CN=u{i}", cloud_id=f"c{i}")
                         for i in range(count)] + [Change(PlanAction.add, "user", "new", "CN=new", {})])


def check(plan, threshold=3, enabled=True, allow_deletes=False, preview=False, staging=False):
    return guard.check(plan, PreventAccidentalDeletesSettings(enabled, threshold), allow_deletes=allow_deletes,
                       preview=preview, staging=staging)


def test_more_deletes_than_the_threshold_stop_the_whole_export_and_say_how_to_go_on():
    verdict = check(deleting(4))
    assert (verdict.export, verdict.status) == (False, RunStatus.threshold_exceeded)
    assert "delete 4 objects" in verdict.message and "-AllowDeletes" in verdict.message
    assert "-ObjectDeletionThreshold 4" in verdict.message


def test_up_to_the_threshold_allowed_once_or_with_the_threshold_off_the_plan_is_exported():
    assert check(deleting(3)).export
    assert check(deleting(4), allow_deletes=True).export
    assert check(deleting(4), enabled=False).export


def test_the_threshold_stops_a_preview_and_staging_too_so_they_show_what_a_run_would_do():
    assert check(deleting(4), preview=True).status == RunStatus.threshold_exceeded
    assert check(deleting(4), staging=True).status == RunStatus.threshold_exceeded


def test_preview_and_staging_export_nothing_without_stopping_the_run():
    preview, staging = check(deleting(1), preview=True), check(deleting(1), staging=True)
    assert (preview.export, preview.status, preview.message) == (False, None, "Preview: nothing was written.")
    assert (staging.export, staging.status) == (False, None) and "Staging mode is on" in staging.message
