"""The scheduled synchronization, run as cron runs it (sh, a bare environment, the home folder as the
working directory) against the real lab: it runs the Python and the copy of DirSync that set the schedule,
not whichever `dirsync` is on PATH, and its log is private, says when each run happened and keeps its
tables whole."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import dirsync as package
from dirsync import schedule, service

pytestmark = pytest.mark.skipif(not isinstance(schedule.scheduler(), schedule.Cron),
                                reason="this machine's scheduler is not cron")

SOURCE = str(Path(package.__file__).resolve().parent.parent)


@pytest.fixture
def scheduled(lab):
    schedule.change(enabled=True, home=str(lab.home))
    yield lab
    schedule.change(enabled=False, home=str(lab.home))


def cron_runs(line: str, cwd: Path) -> subprocess.CompletedProcess:
    """The command part of a crontab line, as cron runs it: /bin/sh -c with cron's own small environment."""
    command = line.split(None, 5)[5]
    return subprocess.run(["/bin/sh", "-c", command], cwd=cwd, env={"PATH": "/usr/bin:/bin", "HOME": str(cwd)},
                          capture_output=True, text=True, timeout=300)


def test_the_scheduled_command_is_this_dirsync_and_its_log_is_private_timestamped_and_wide(scheduled):
    shown = schedule.describe(str(scheduled.home))
    assert sys.executable in shown["command"] and f"PYTHONPATH={SOURCE}" in shown["command"]

    line = next(entry for entry in subprocess.run(["crontab", "-l"], capture_output=True, text=True).stdout.splitlines()
                if str(scheduled.home) in entry)
    log = scheduled.home / "scheduled-sync.log"
    log.unlink(missing_ok=True)
    ran = cron_runs(line, scheduled.home)
    assert ran.returncode == 0, ran.stderr
    assert service.sync_history(home=scheduled.home)[0].trigger == "scheduled"

    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    text = log.read_text()
    assert re.search(r"^=== \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z scheduled synchronization", text, re.M), text
    assert "…" not in text and max(len(row) for row in text.splitlines()) > 80  # tables whole, not cut at 80

    os.chmod(log, 0o644)  # as an older version left it
    assert cron_runs(line.replace("--if-due", ""), scheduled.home).returncode == 0
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert len(re.findall(r"^=== .* scheduled synchronization", log.read_text(), re.M)) == 2
