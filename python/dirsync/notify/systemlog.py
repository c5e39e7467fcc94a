"""The run's events in the operating system's log, as monitoring expects them: syslog on Linux and other
Unix systems (journald reads /dev/log), the Application event log (source "DirSync") on Windows.

An event holds the run's status, counts and message, which never hold a secret, with every control
character escaped (text.for_display): a name from Active Directory cannot forge a second log line.
"""

from __future__ import annotations

import os
import socket
import sys
import urllib.parse
from dataclasses import dataclass

from ..config import SystemLogSettings
from ..engine.ports import RunResult
from ..text import for_display
from ..vocabulary import RunStatus

DEFAULT_SOCKET = "/dev/log"
FACILITIES = {"user": 1, "daemon": 3, "auth": 4, **{f"local{n}": 16 + n for n in range(8)}}
ERROR, WARNING, INFORMATION = 3, 4, 6  # syslog severities (RFC 5424)
TAG = "dirsync"
MAX_BYTES = 2048  # RFC 5424 receivers must take 480 octets and should take 2,048; longer is cut


@dataclass(frozen=True)
class Event:
    severity: int
    text: str


def events_of(run: RunResult) -> list[Event]:
    """One summary per run and, for a run that stopped, one with its reason."""
    counts = " ".join(f"{name}={value}" for name, value in run.counts.items())
    severity = ERROR if run.failed else WARNING if run.status == RunStatus.export_errors else INFORMATION
    summary = Event(severity, f"run={run.run_id} status={run.status} mode={run.mode} trigger={run.trigger} "
                              f"staging={str(run.staging).lower()} start={run.start_time} end={run.end_time} {counts}")
    if not run.failed:
        return [summary]
    return [summary, Event(ERROR, f"run={run.run_id} stopped ({run.status}): {run.message}")]


def write(settings: SystemLogSettings, events: list[Event]) -> str | None:
    """Write the events; a problem is returned as a notice (it never fails the run), None when all went."""
    if not settings.enabled:
        return None
    if sys.platform == "win32" and not settings.address:  # pragma: no cover - Windows only
        return _write_event_log(events)  # defined below, on Windows
    address = settings.address or DEFAULT_SOCKET
    if not settings.address and not os.path.exists(DEFAULT_SOCKET):
        return None  # no syslog daemon here (a container): nothing to write to, nothing to report
    try:
        with _connect(address) as sock:
            for event in events:
                sock.send(_frame(settings.facility, event))
    except OSError as err:
        return (f"The run's events were not written to the system log at {address}: {err.strerror or err}. Check "
                "that the syslog service runs, or set Set-CoexistenceConfiguration -SystemLogAddress.")
    return None


def _frame(facility: str, event: Event) -> bytes:
    # RFC 3164's "<PRI>TAG[PID]: MSG", what syslog(3) writes: the daemon adds the time and host.
    line = f"<{FACILITIES[facility] * 8 + event.severity}>{TAG}[{os.getpid()}]: {for_display(event.text)}"
    return line.encode("utf-8")[:MAX_BYTES]


def _connect(address: str) -> socket.socket:
    if address.startswith("udp://"):
        parts = urllib.parse.urlsplit(address)
        sock = socket.socket(socket.AF_INET6 if ":" in (parts.hostname or "") else socket.AF_INET, socket.SOCK_DGRAM)
        sock.connect((parts.hostname, parts.port))
        return sock
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.connect(address)
    except OSError:
        sock.close()
        raise
    return sock


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    def _write_event_log(events: list[Event]) -> str | None:
        """ReportEventW under the source "DirSync" (docs/install.md registers it once, as an administrator)."""
        import ctypes
        from ctypes import wintypes

        types = {ERROR: 0x0001, WARNING: 0x0002, INFORMATION: 0x0004}
        advapi = ctypes.WinDLL("advapi32", use_last_error=True)
        advapi.RegisterEventSourceW.restype = wintypes.HANDLE
        handle = advapi.RegisterEventSourceW(None, "DirSync")
        if not handle:
            return ("The run's events were not written to the Application event log: "
                    f"{ctypes.WinError(ctypes.get_last_error())}.")
        try:
            for event in events:
                strings = (wintypes.LPCWSTR * 1)(for_display(event.text))
                if not advapi.ReportEventW(wintypes.HANDLE(handle), types[event.severity], 0, 1000 + event.severity,
                                           None, 1, 0, strings, None):
                    return ("The run's events were not written to the Application event log: "
                            f"{ctypes.WinError(ctypes.get_last_error())}.")
        finally:
            advapi.DeregisterEventSource(wintypes.HANDLE(handle))
        return None
