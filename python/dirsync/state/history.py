"""The run history: the `runs` table, and the scheduled runs that were skipped (a file beside it).

A mixin of StateStore (it needs `db`, `home` and `atomic`).
"""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Callable, cast

from ..clock import now
from ..engine.ports import ObjectError, RunResult, SkippedObject
from ..vocabulary import RunMode, RunStatus

SKIPPED_FILE_NAME = "dirsync-skipped-runs.jsonl"
CRASHED = ("The run ended unexpectedly (its process was stopped or crashed). The changes it had confirmed "
           "are kept; the next run carries on with the rest.")


class RunHistory:
    db: sqlite3.Connection
    home: Path
    atomic: Callable[[], AbstractContextManager[sqlite3.Connection]]

    def begin_run(self, mode: str, trigger: str, staging: bool = False, start_time: str | None = None) -> int:
        with self.atomic():
            cur = self.db.execute(
                "INSERT INTO runs(start_time, mode, staging, trigger, status, pid) VALUES (?,?,?,?,?,?)",
                (start_time or now(), mode, int(staging), trigger, RunStatus.in_progress, os.getpid()))
        return cast(int, cur.lastrowid)  # an INSERT always sets it

    def end_run(self, run_id: int, *, mode: str, status: str, counts: dict, errors: list[ObjectError],
                skipped: list[SkippedObject], message: str, end_time: str | None = None) -> None:
        with self.atomic():
            self.db.execute(
                "UPDATE runs SET end_time=?, mode=?, status=?, counts=?, errors=?, skipped=?, message=? "
                "WHERE id=?",
                (end_time or now(), mode, status, json.dumps(counts), json.dumps([e.to_dict() for e in errors]),
                 json.dumps([s.to_dict() for s in skipped]), message, run_id))

    def end_crashed_runs(self) -> None:
        """Runs still marked in progress died without finishing (the caller holds the run lock)."""
        with self.atomic():
            self.db.execute("UPDATE runs SET status=?, end_time=?, message=? WHERE status=?",
                            (RunStatus.stopped, now(), CRASHED, RunStatus.in_progress))

    def record_skipped_run(self, trigger: str, message: str) -> RunResult:
        """A run that did not happen (another one held the lock), kept in the history. It is written beside
        the database, not in it: the run in progress may hold the database's write lock for its whole
        import, and the skipped run must say so at once."""
        moment = now()
        record = RunResult(run_id=None, status=RunStatus.skipped, mode=RunMode.delta, trigger=trigger,
                           start_time=moment, end_time=moment, message=message)
        fd = os.open(self.home / SKIPPED_FILE_NAME, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            out.write(json.dumps(record.to_dict()) + "\n")
        return record

    def runs(self, last: int | None = None) -> list[RunResult]:
        """The run history, newest first: the runs, and the scheduled runs that were skipped."""
        sql = "SELECT * FROM runs ORDER BY id DESC" + (" LIMIT ?" if last else "")
        rows = [_run(row) for row in self.db.execute(sql, (last,) if last else ()).fetchall()]
        merged = sorted(rows + self._skipped_runs(), key=lambda run: run.start_time, reverse=True)
        return merged[:last] if last else merged

    def _skipped_runs(self) -> list[RunResult]:
        try:
            lines = (self.home / SKIPPED_FILE_NAME).read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        return [RunResult.from_dict(json.loads(line)) for line in lines if line.strip()]

    def recent_runs(self, count: int) -> list[RunResult]:
        """The latest `count` recorded runs, newest first (not the skipped turns)."""
        return [_run(row) for row in self.db.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (count,))]

    def last_successful_run(self) -> RunResult | None:
        """The last run that synchronized: staging mode plans and records, but writes nothing to the cloud, and a
        run of chosen objects leaves every other change for the next delta."""
        row = self.db.execute("SELECT * FROM runs WHERE status IN (?, ?) AND staging=0 AND mode<>? "
                              "ORDER BY id DESC LIMIT 1",
                              (RunStatus.success, RunStatus.export_errors, RunMode.object)).fetchone()
        return _run(row) if row else None


def _run(row: sqlite3.Row) -> RunResult:
    return RunResult(run_id=row["id"], status=RunStatus(row["status"]), mode=RunMode(row["mode"]),
                     trigger=row["trigger"], start_time=row["start_time"], end_time=row["end_time"],
                     counts=json.loads(row["counts"]),
                     errors=[ObjectError(**e) for e in json.loads(row["errors"])],
                     skipped=[SkippedObject(**s) for s in json.loads(row["skipped"])],
                     message=row["message"], staging=bool(row["staging"]), notices=json.loads(row["notices"]))
