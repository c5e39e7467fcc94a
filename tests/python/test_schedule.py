"""The recurring synchronization, registered with this machine's scheduler (cron here)."""

import shlex
import subprocess
from datetime import datetime, timedelta, timezone

import pytest

from dirsync import config, schedule
from dirsync.errors import InvalidArgumentError

pytestmark = pytest.mark.skipif(not isinstance(schedule.scheduler(), schedule.Cron),
                                reason="this machine's scheduler is not cron")


@pytest.fixture
def home(tmp_path):
    config.save(config.Configuration(), tmp_path)
    yield tmp_path
    schedule.change(enabled=False, home=str(tmp_path))


def crontab():
    listed = subprocess.run(["crontab", "-l"], capture_output=True, text=True)
    return listed.stdout if listed.returncode == 0 else ""


def test_enabling_registers_with_cron_and_reports_the_next_run(home, tmp_path_factory, monkeypatch):
    running = tmp_path_factory.mktemp("proc")
    (running / "1").mkdir()
    (running / "1" / "comm").write_text("cron\n")
    monkeypatch.setattr(schedule, "PROC", running)  # a cron daemon runs: there is a next run
    shown = schedule.change(enabled=True, home=str(home))
    assert shown["enabled"] and shown["scheduler"] == "cron"
    assert shown["intervalMinutes"] == 180
    line = next(l for l in crontab().splitlines() if str(home) in l)
    assert line.startswith(f"*/{schedule.CRON_TICK_MINUTES} * * * * ")
    assert shown["command"] in line and "sync --scheduled" in shown["command"]
    assert shlex.split(shown["command"])[shlex.split(shown["command"]).index("--home") + 1] == str(home)
    next_run = datetime.fromisoformat(shown["nextRunTime"].replace("Z", "+00:00"))
    now = datetime.now(timezone.utc)
    assert now <= next_run <= now + timedelta(minutes=schedule.CRON_TICK_MINUTES + 1)


def test_two_homes_have_their_own_entries_and_disabling_removes_only_its_own(home, tmp_path_factory):
    other = tmp_path_factory.mktemp("other")
    config.save(config.Configuration(), other)
    try:
        schedule.change(enabled=True, home=str(home))
        schedule.change(enabled=True, home=str(other))
        schedule.change(enabled=False, home=str(home))
        assert str(home) not in crontab() and str(other) in crontab()
        assert not schedule.describe(str(home))["enabled"]
    finally:
        schedule.change(enabled=False, home=str(other))


def test_the_interval_is_kept_in_the_configuration(home):
    schedule.change(interval_minutes=60, enabled=True, home=str(home))
    assert config.load(home).sync.interval_minutes == 60
    assert schedule.describe(str(home))["intervalMinutes"] == 60


def test_an_invalid_interval_changes_nothing(home):
    schedule.change(enabled=True, home=str(home))
    before = crontab()
    with pytest.raises(InvalidArgumentError) as caught:
        schedule.change(interval_minutes=10, home=str(home))
    assert "between 30 and 10080" in caught.value.message
    assert crontab() == before
    assert config.load(home).sync.interval_minutes == 180


def test_a_scheduled_run_is_due_once_the_interval_has_passed(home):
    assert schedule.is_due(home)  # never ran
