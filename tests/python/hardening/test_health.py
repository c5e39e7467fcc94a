"""Health means a recent successful run: Test-CoexistenceSync (service.test_sync) and `dirsync test` against
the real lab look at the last run's age against the schedule's interval and at whether the scheduler that
should start the runs is running, give each reason with its fix, and `dirsync test` exits non-zero when
synchronization is not healthy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import dirsync as package
from dirsync import schedule, service
from dirsync.state.store import StateStore

pytestmark = pytest.mark.skipif(not isinstance(schedule.scheduler(), schedule.Cron),
                                reason="this machine's scheduler is not cron")

SOURCE = str(Path(package.__file__).parent.parent)


def fake_processes(root: Path, *names: str) -> Path:
    """A /proc with these processes running, and nothing else."""
    for pid, name in enumerate(names, start=1):
        (root / str(pid)).mkdir(parents=True)
        (root / str(pid) / "comm").write_text(f"{name}\n")
    root.mkdir(exist_ok=True)
    return root


def backdate_last_run(home: Path, hours: float) -> None:
    """As if the last run had ended `hours` ago and nothing had run since."""
    moment = (datetime.now(timezone.utc) - timedelta(hours=hours)).isoformat(timespec="milliseconds")
    with StateStore(home) as store, store.transaction() as db:
        db.execute("UPDATE runs SET start_time=?, end_time=? WHERE id=(SELECT max(id) FROM runs)",
                   (moment.replace("+00:00", "Z"),) * 2)


@pytest.fixture
def scheduled(lab):
    schedule.change(enabled=True, home=str(lab.home))
    yield lab
    schedule.change(enabled=False, home=str(lab.home))


def test_a_schedule_that_no_daemon_runs_is_not_healthy_and_has_no_next_run(scheduled, tmp_path, monkeypatch):
    assert scheduled.sync()["status"] == "success"
    monkeypatch.setattr(schedule, "PROC", fake_processes(tmp_path / "proc", "bash", "samba"), raising=False)
    report = service.test_sync(home=scheduled.home)
    assert report["healthy"] is False
    assert any("No cron daemon is running" in reason and "systemctl enable --now cron" in reason
               for reason in report["reasons"])
    assert report["schedule"]["schedulerRunning"] is False and report["schedule"]["nextRunTime"] is None

    monkeypatch.setattr(schedule, "PROC", fake_processes(tmp_path / "proc-with-cron", "bash", "cron"))
    report = service.test_sync(home=scheduled.home)
    assert report["reasons"] == [] and report["healthy"] is True
    assert report["schedule"]["nextRunTime"] is not None


def test_a_last_success_older_than_two_intervals_is_not_healthy(scheduled, tmp_path, monkeypatch):
    monkeypatch.setattr(schedule, "PROC", fake_processes(tmp_path / "proc", "cron"), raising=False)
    assert scheduled.sync()["status"] == "success"
    backdate_last_run(scheduled.home, hours=2.5)  # under 2 × 3 h + the margin: one missed turn is forgiven
    assert service.test_sync(home=scheduled.home)["healthy"] is True

    backdate_last_run(scheduled.home, hours=7)
    report = service.test_sync(home=scheduled.home)
    assert report["healthy"] is False
    assert [reason for reason in report["reasons"]
            if "ended 7 h 0 min ago" in reason and "every 180 minutes" in reason]


def dirsync_test(home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DIRSYNC_HOME": str(home), "COLUMNS": "200", "PYTHONPATH": SOURCE}
    return subprocess.run([sys.executable, "-m", "dirsync.cli", "test", "--json"], capture_output=True,
                          text=True, env=env, timeout=120)


def test_dirsync_test_exits_4_when_not_healthy_and_0_when_healthy(lab):
    assert lab.sync()["status"] == "success"
    healthy = dirsync_test(lab.home)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert json.loads(healthy.stdout)["healthy"] is True

    backdate_last_run(lab.home, hours=9)
    stale = dirsync_test(lab.home)
    assert stale.returncode == 4
    report = json.loads(stale.stdout)
    assert report["healthy"] is False and any("turned off" in reason for reason in report["reasons"])
