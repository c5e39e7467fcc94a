"""The guard between a plan and the cloud: deletion threshold, preview and staging (pure)."""

from __future__ import annotations

import pytest

from dirsync import config
from dirsync.config import PreventAccidentalDeletesSettings
from dirsync.engine import guard
from dirsync.engine.planner import Plan
from dirsync.engine.ports import ActiveServer, Change
from dirsync.errors import InvalidArgumentError
from dirsync.vocabulary import PlanAction, RunStatus


def deleting(count: int, of: int = 1000) -> Plan:
    return Plan(changes=[Change(PlanAction.delete, "user", f"a{i}", f"CN=u{i}", cloud_id=f"c{i}")
                         for i in range(count)] + [Change(PlanAction.add, "user", "new", "CN=new", {})],
                synchronized=of)


def check(plan, threshold=3, enabled=True, allow_deletes=False, preview=False, staging=False, percentage=10):
    return guard.check(plan, PreventAccidentalDeletesSettings(enabled, threshold, percentage),
                       allow_deletes=allow_deletes, preview=preview, staging=staging)


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


def test_deleting_more_than_the_percentage_of_a_small_directory_stops_and_says_both_numbers_and_how_to_go_on():
    # The OU filter typo of issue 13: all 13 synchronized objects leave the scope, far below 500.
    verdict = check(deleting(13, of=13), threshold=500)
    assert (verdict.export, verdict.status) == (False, RunStatus.threshold_exceeded)
    assert "delete 13 of the 13 synchronized objects" in verdict.message and "(100 %)" in verdict.message
    assert "threshold of 10 %" in verdict.message and "-ObjectDeletionPercentage 100" in verdict.message
    assert "-AllowDeletes" in verdict.message
    assert check(deleting(13, of=13), threshold=500, allow_deletes=True).export
    assert check(deleting(13, of=13), threshold=500, enabled=False).export


def test_the_percentage_allows_up_to_its_share_rounded_up_in_the_fix_and_ignores_one_or_two_deletes():
    assert check(deleting(10, of=100), threshold=500).export        # 10 % is not more than 10 %
    stopped = check(deleting(11, of=100), threshold=500)
    assert stopped.status == RunStatus.threshold_exceeded and "-ObjectDeletionPercentage 11" in stopped.message
    assert check(deleting(11, of=100), threshold=500, percentage=11).export
    assert "(34 %)" in check(deleting(3, of=9), threshold=500).message  # 33.3 % rounds up to what allows it
    # A leaver or two in a directory of a dozen is ordinary churn, not an accident.
    assert check(deleting(2, of=12), threshold=500).export
    assert check(deleting(guard.MIN_SHARE_DELETES, of=12), threshold=500).status == RunStatus.threshold_exceeded


def test_a_threshold_with_a_fraction_is_refused_with_the_fix_not_rounded():
    # -ObjectDeletionThreshold 1.5 reaches the core as 1.5 (the cmdlet no longer rounds it to 2).
    for name, flag in (("object_deletion_threshold", "-ObjectDeletionThreshold"),
                       ("object_deletion_percentage", "-ObjectDeletionPercentage")):
        with pytest.raises(InvalidArgumentError) as refused:
            config.changes_from_settings(**{name: 1.5})
        assert f"{flag} (" in refused.value.message and "1.5" in refused.value.message
        assert "whole number" in refused.value.message and "such as 1 or 2" in refused.value.fix
    # A whole number that arrives as 250.0 is that number.
    assert config.changes_from_settings(object_deletion_threshold=250.0) == {
        "preventAccidentalDeletes": {"objectDeletionThreshold": 250}}


def test_another_active_server_stops_the_export_first_naming_it_and_both_ways_out():
    other = ActiveServer("3f2504e0-4f89-11d3-9a0c-0305e82c3301", "dirsync-a.contoso.com", "2026-01-02T03:04:05.000Z")
    verdict = guard.check(deleting(4), PreventAccidentalDeletesSettings(True, 3, 10), allow_deletes=False,
                          preview=False, staging=False, other_server=other)
    assert (verdict.export, verdict.status) == (False, RunStatus.another_server)
    assert ("dirsync-a.contoso.com (server id 3f2504e0-4f89-11d3-9a0c-0305e82c3301, last marked active at "
            "2026-01-02T03:04:05.000Z)") in verdict.message
    assert "-StagingMode $true" in verdict.message and "-TakeOver" in verdict.message
    assert "--take-over" in verdict.message
    # A preview and a staging server write nothing: another server is no reason to stop them.
    for preview, staging in ((True, False), (False, True)):
        assert guard.check(Plan(changes=[]), PreventAccidentalDeletesSettings(True, 3, 10), allow_deletes=False,
                           preview=preview, staging=staging, other_server=other).status is None
