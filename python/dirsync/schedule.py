"""The recurring synchronization: every `sync.intervalMinutes` (three hours by default), registered with
the operating system's scheduler — a systemd timer where systemd runs, a Scheduled Task on Windows,
cron otherwise.

Each scheduler runs `dirsync sync --scheduled` with DIRSYNC_HOME set. cron cannot express every
interval (every 7 hours, say), so on cron the entry wakes every CRON_TICK_MINUTES and the command adds
`--if-due`: it runs only when the interval has passed since the last scheduled run. Each DirSync home
has its own registration, so several instances can live on one machine.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from . import config
from .errors import DirSyncError, InvalidArgumentError
from .events import Events
from .vocabulary import Trigger

CRON_TICK_MINUTES = 5
LOG_FILE_NAME = "scheduled-sync.log"
CRON_DAEMONS = {"cron", "crond", "cronie"}
PROC = Path("/proc")  # where the running processes are listed (Linux)
_CRON_MARK = "# dirsync-schedule home="


class SchedulerError(DirSyncError):
    error_id = "DirSync.SchedulerError"
    category = "InvalidOperation"


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _iso(moment: datetime | None) -> str | None:
    # The form of the run history's times (state.store.now), so that the last run time is the run's start.
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z") if moment else None


def scheduled_command(home: Path) -> list[str]:
    """The command a scheduler runs: this Python and this copy of DirSync — the ones that set the schedule,
    as the shell's module uses them — never whichever `dirsync` comes first on the scheduler's PATH. Its
    output goes to the home's private log (`--log`)."""
    package_root = str(Path(__file__).resolve().parent.parent)
    arguments = ["sync", "--scheduled", "--home", str(home), "--log", str(Path(home) / LOG_FILE_NAME)]
    if sys.platform == "win32":  # pragma: no cover - a scheduled task's command sets no environment
        bootstrap = f"import sys; sys.path.insert(0, {package_root!r}); from dirsync.cli import main; sys.exit(main())"
        return [sys.executable, "-c", bootstrap, *arguments]
    return ["env", f"PYTHONPATH={package_root}", sys.executable, "-m", "dirsync.cli", *arguments]


def _run(argv: list[str], what: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    try:
        result = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise SchedulerError(f"{argv[0]} is not installed, so DirSync cannot {what}.",
                             fix=f"Install {argv[0]} and try again.") from None
    return result


class Cron:
    name = "cron"

    def not_running(self, home: Path) -> str | None:
        """Why the registered entry cannot run, or None: crontab accepts entries with no daemon to run them."""
        if not PROC.is_dir():
            return None  # not Linux: nothing to look at
        for comm in PROC.glob("[0-9]*/comm"):
            try:
                if comm.read_text().strip() in CRON_DAEMONS:
                    return None
            except OSError:  # the process ended while we looked
                continue
        return ("No cron daemon is running on this machine, so the scheduled synchronization never starts. "
                "Start it (systemctl enable --now cron, or service cron start) and make it start at boot.")

    def _table(self) -> list[str]:
        listed = _run(["crontab", "-l"], "read the schedule")
        # crontab -l fails with "no crontab for <user>" when there is none yet.
        return listed.stdout.splitlines() if listed.returncode == 0 else []

    def _write(self, lines: list[str]) -> None:
        written = _run(["crontab", "-"], "register the schedule", stdin="".join(f"{entry}\n" for entry in lines))
        if written.returncode != 0:
            raise SchedulerError(f"crontab refused the schedule: {written.stderr.strip()}",
                                 fix="Check that this account may use cron (cron.allow, cron.deny).")

    @staticmethod
    def _mark(home: Path) -> str:
        return _CRON_MARK + shlex.quote(str(home))

    def register(self, home: Path, interval_minutes: int) -> None:
        command = shlex.join([*scheduled_command(home), "--if-due"])
        log = shlex.quote(str(Path(home) / LOG_FILE_NAME))
        # The log is written by the command; the redirection keeps what Python says if it cannot even
        # start, and the umask keeps the log private from its first byte.
        line = f"*/{CRON_TICK_MINUTES} * * * * umask 077; {command} >> {log} 2>&1 {self._mark(home)}"
        self._write([entry for entry in self._table() if not entry.endswith(self._mark(home))] + [line])

    def unregister(self, home: Path) -> None:
        table = self._table()
        kept = [entry for entry in table if not entry.endswith(self._mark(home))]
        if kept != table:
            self._write(kept)

    def registered_command(self, home: Path) -> str | None:
        for line in self._table():
            if line.endswith(self._mark(home)):
                return line[: -len(self._mark(home))].split(None, 5)[5].strip()
        return None

    def next_run(self, home: Path, interval_minutes: int, last_start: datetime | None) -> datetime:
        now = datetime.now(timezone.utc)
        due = max(now, last_start + timedelta(minutes=interval_minutes)) if last_start else now
        # The entry wakes on the next multiple of the tick.
        minute = due.minute + (1 if due.second or due.microsecond else 0)
        minutes = -(-minute // CRON_TICK_MINUTES) * CRON_TICK_MINUTES
        return due.replace(minute=0, second=0, microsecond=0) + timedelta(minutes=minutes)


class Systemd:
    """A timer unit per DirSync home: system units as root, user units otherwise."""

    name = "systemd"

    def __init__(self):
        self.user = os.geteuid() != 0
        self.folder = Path.home() / ".config/systemd/user" if self.user else Path("/etc/systemd/system")

    def _unit(self, home: Path) -> str:
        return "dirsync-sync-" + hashlib.sha256(str(home).encode()).hexdigest()[:12]

    def _systemctl(self, *args: str) -> subprocess.CompletedProcess:
        return _run(["systemctl", *(["--user"] if self.user else []), *args], "register the schedule")

    def register(self, home: Path, interval_minutes: int) -> None:
        unit = self._unit(home)
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / f"{unit}.service").write_text(
            f"[Unit]\nDescription=DirSync synchronization ({home})\n\n[Service]\nType=oneshot\n"
            f"ExecStart={shlex.join(scheduled_command(home))}\n")
        (self.folder / f"{unit}.timer").write_text(
            f"[Unit]\nDescription=DirSync synchronization every {interval_minutes} minutes ({home})\n\n"
            f"[Timer]\nOnActiveSec={interval_minutes}min\nOnUnitActiveSec={interval_minutes}min\n"
            "RandomizedDelaySec=60\nPersistent=true\n\n[Install]\nWantedBy=timers.target\n")
        self._systemctl("daemon-reload")
        started = self._systemctl("enable", "--now", f"{unit}.timer")
        if started.returncode != 0:
            raise SchedulerError(f"systemd did not start the timer {unit}: {started.stderr.strip()}",
                                 fix=f"See: systemctl status {unit}.timer")

    def unregister(self, home: Path) -> None:
        unit = self._unit(home)
        self._systemctl("disable", "--now", f"{unit}.timer")
        for suffix in (".timer", ".service"):
            (self.folder / f"{unit}{suffix}").unlink(missing_ok=True)
        self._systemctl("daemon-reload")

    def registered_command(self, home: Path) -> str | None:
        service = self.folder / f"{self._unit(home)}.service"
        if not service.exists():
            return None
        for line in service.read_text().splitlines():
            if line.startswith("ExecStart="):
                return line[len("ExecStart="):]
        return None

    def not_running(self, home: Path) -> str | None:
        unit = f"{self._unit(home)}.timer"
        state = self._systemctl("is-active", unit).stdout.strip()
        if state == "active":
            return None
        return (f"The systemd timer {unit} is {state or 'not active'}, so the scheduled synchronization never "
                f"starts. Start it: systemctl{' --user' if self.user else ''} enable --now {unit}"
                + (" (and loginctl enable-linger, so that it runs when you are logged out)." if self.user else "."))

    def next_run(self, home: Path, interval_minutes: int, last_start: datetime | None) -> datetime | None:
        shown = self._systemctl("show", f"{self._unit(home)}.timer", "-p", "NextElapseUSecRealtime", "--value")
        try:
            return datetime.strptime(shown.stdout.strip(), "%a %Y-%m-%d %H:%M:%S %Z").replace(tzinfo=timezone.utc)
        except ValueError:
            return None


class WindowsTask:  # pragma: no cover - exercised on Windows only
    name = "windows-task"
    folder = "\\DirSync\\"

    def _task(self, home: Path) -> str:
        return "Synchronize " + hashlib.sha256(str(home).encode()).hexdigest()[:12]

    def register(self, home: Path, interval_minutes: int) -> None:
        if interval_minutes < 1440:
            every = ["/SC", "MINUTE", "/MO", str(interval_minutes)]
        elif interval_minutes % 1440 == 0:
            every = ["/SC", "DAILY", "/MO", str(interval_minutes // 1440)]
        else:
            raise InvalidArgumentError(
                f"Task Scheduler cannot repeat every {interval_minutes} minutes.",
                fix="Choose fewer than 1440 minutes, or whole days.")
        created = _run(["schtasks", "/Create", "/F", "/TN", self.folder + self._task(home), "/RU", "SYSTEM",
                        "/TR", subprocess.list2cmdline(scheduled_command(home)), *every], "register the schedule")
        if created.returncode != 0:
            raise SchedulerError(f"Task Scheduler refused the task: {created.stderr.strip()}",
                                 fix="Run PowerShell as an administrator and try again.")

    def unregister(self, home: Path) -> None:
        _run(["schtasks", "/Delete", "/F", "/TN", self.folder + self._task(home)], "remove the schedule")

    def _info(self, home: Path, expression: str) -> str | None:
        shown = _run(["powershell.exe", "-NoProfile", "-Command",
                      f"$t = Get-ScheduledTask -TaskPath '{self.folder}' -TaskName '{self._task(home)}' "
                      f"-ErrorAction SilentlyContinue; if ($t) {{ {expression} }}"], "read the schedule")
        return shown.stdout.strip() or None

    def not_running(self, home: Path) -> str | None:
        state = self._info(home, "$t.State")
        if state in (None, "Ready", "Running"):
            return None
        return (f"The scheduled task {self.folder}{self._task(home)} is {state}, so the synchronization never "
                "starts. Enable it in Task Scheduler, or run Set-CoexistenceSyncSchedule -Enabled $true.")

    def registered_command(self, home: Path) -> str | None:
        return self._info(home, "$a = $t.Actions[0]; \"$($a.Execute) $($a.Arguments)\"")

    def next_run(self, home: Path, interval_minutes: int, last_start: datetime | None) -> datetime | None:
        shown = self._info(home, "($t | Get-ScheduledTaskInfo).NextRunTime.ToUniversalTime().ToString('o')")
        return _utc(shown) if shown else None


def scheduler():
    if sys.platform == "win32":
        return WindowsTask()
    if Path("/run/systemd/system").is_dir():  # systemd is the running init
        return Systemd()
    return Cron()


def _last_scheduled_start(home: Path) -> datetime | None:
    from .state.store import StateStore, state_path
    if not state_path(home).exists():
        return None
    with StateStore(home) as store:
        for run in store.runs():
            # A scheduled run that was skipped (another run in progress) still had its turn.
            if run.trigger == Trigger.scheduled:
                return _utc(run.start_time)
    return None


def describe(home: str | None = None, events: Events | None = None) -> dict:
    """Get-CoexistenceSyncSchedule, `dirsync schedule show`."""
    folder = Path(home) if home else config.home()
    interval = config.load(folder).sync.interval_minutes
    backend = scheduler()
    command = backend.registered_command(folder)
    last = _last_scheduled_start(folder)
    problem = backend.not_running(folder) if command else None
    # A scheduler that is not running has no next run, however regular the entry looks.
    return {"enabled": command is not None, "intervalMinutes": interval, "scheduler": backend.name,
            "command": command, "schedulerRunning": None if command is None else problem is None,
            "schedulerProblem": problem, "lastRunTime": _iso(last),
            "nextRunTime": _iso(backend.next_run(folder, interval, last)) if command and not problem else None}


def change(interval_minutes: int | None = None, enabled: bool | None = None, home: str | None = None,
           events: Events | None = None) -> dict:
    """Set-CoexistenceSyncSchedule, `dirsync schedule set`: the interval is saved in the configuration
    (validated there), then the registration follows it."""
    events = events or Events()
    folder = Path(home) if home else config.home()
    if interval_minutes is not None:
        config.change({"sync": {"intervalMinutes": interval_minutes}}, str(folder), events)
    backend = scheduler()
    if enabled is None:
        enabled = backend.registered_command(folder) is not None
    if enabled:
        backend.register(folder, config.load(folder).sync.interval_minutes)
        events.verbose(f"Registered the synchronization with {backend.name}.")
    else:
        backend.unregister(folder)
        events.verbose(f"Removed the synchronization from {backend.name}.")
    return describe(str(folder))


def is_due(home: Path) -> bool:
    """For cron's frequent wake-ups: has the interval passed since the last scheduled run?"""
    last = _last_scheduled_start(home)
    interval = config.load(home).sync.interval_minutes
    # A little slack, so a run that started a few seconds late does not push the next one a tick.
    return last is None or datetime.now(timezone.utc) >= last + timedelta(minutes=interval) - timedelta(seconds=30)
