"""The run result's one JSON form, and what a status says about a run."""

from __future__ import annotations

import json

from dirsync.bridge import plain
from dirsync.cli import RUN_EXIT
from dirsync.engine.ports import Change, ObjectError, RunResult, SkippedObject
from dirsync.vocabulary import PlanAction, RunMode, RunStatus, Trigger


def run(status: RunStatus, **fields) -> RunResult:
    return RunResult(run_id=7, status=status, mode=RunMode.delta, trigger=Trigger.manual,
                     start_time="2026-01-01T00:00:00.000Z", end_time="2026-01-01T00:00:01.000Z", **fields)


def test_the_statuses_that_fail_a_run_carry_the_error_id_the_cmdlet_raises():
    failed = {s for s in RunStatus if s.failed}
    assert failed == {RunStatus.threshold_exceeded, RunStatus.server_down, RunStatus.another_server,
                      RunStatus.stopped}
    assert RunStatus.server_down.error_id == "DirSync.Run.stopped-server-down"
    assert RunStatus.export_errors.error_id is None
    assert {status: RUN_EXIT.get(status, 1) for status in RunStatus if status != RunStatus.in_progress} == {
        RunStatus.success: 0, RunStatus.skipped: 0, RunStatus.export_errors: 3,
        RunStatus.threshold_exceeded: 1, RunStatus.server_down: 1, RunStatus.another_server: 1, RunStatus.stopped: 1}


def test_a_run_result_has_one_json_form_with_camel_case_keys_that_reads_back_the_same():
    error = ObjectError("a1", "CN=bob", "user", "UPN conflict.", "Rename it.", action=PlanAction.add, code="E1")
    result = run(RunStatus.threshold_exceeded, counts={"deleted": 0}, errors=[error],
                 skipped=[SkippedObject("a2", "CN=dl", "group", "a distribution group")],
                 plan=[Change(PlanAction.delete, "user", "a3", "CN=gone", cloud_id="c3")], message="Stopped.",
                 notices=["The notification 'x' was not sent: the SMTP server is down."])
    data = json.loads(json.dumps(plain(result)))
    assert list(data) == ["runId", "status", "mode", "preview", "staging", "trigger", "startTime", "endTime",
                          "counts", "errors", "skipped", "message", "notices", "failed", "errorId", "plan"]
    assert (data["status"], data["failed"], data["errorId"]) == (
        "stopped-deletion-threshold-exceeded", True, "DirSync.Run.stopped-deletion-threshold-exceeded")
    assert data["errors"] == [{"anchor": "a1", "dn": "CN=bob", "kind": "user", "action": "add", "code": "E1",
                               "reason": "UPN conflict.", "fix": "Rename it."}]
    assert data["plan"] == [{"action": "delete", "kind": "user", "anchor": "a3", "dn": "CN=gone"}]
    assert RunResult.from_dict(result.to_dict()).to_dict() == result.to_dict()


def test_a_run_that_exported_reports_its_changes_not_a_plan():
    data = run(RunStatus.success, changes=[]).to_dict()
    assert data["changes"] == [] and "plan" not in data and data["failed"] is False and data["errorId"] is None
