"""Events the core emits while it works. The core never prints: PowerShell maps events to
Write-Progress / Write-Verbose / Write-Warning / Write-Host (notices), the CLI to rich progress bars and log lines.

An `Events` object is handed down to whatever does the work; its sink decides where events go. Every
event is for a person, so its text (which may quote Active Directory data) is neutralised here, once.
"""

from __future__ import annotations

import threading
from typing import Callable

from .text import displayable

Sink = Callable[[dict], None]


class Cancelled(Exception):
    """Raised inside the core when the caller asked to stop (Ctrl+C in PowerShell or the CLI)."""


class Events:
    def __init__(self, sink: Sink | None = None):
        self._sink = sink or (lambda event: None)
        self._cancel = threading.Event()
        self._last_progress: dict | None = None  # what a wait's status replaces, on the same bar

    def emit(self, kind: str, **fields) -> None:
        self._sink(displayable({"kind": kind, **fields}))

    def progress(self, activity: str, status: str, *, done: int = 0, total: int | None = None,
                 operation: str = "", activity_id: int = 1) -> None:
        """`total` None means the amount is not known yet (an import that streams)."""
        percent = -1 if not total else min(100, int(done * 100 / total))
        self._last_progress = dict(activity=activity, status=status, done=done, total=total,
                                   percent=percent, operation=operation, id=activity_id)
        self.emit("progress", **self._last_progress)

    def waiting(self, why: str) -> None:
        """Says on the current progress bar that the work is waiting and why (throttling, an outage), so
        that a wait never looks like a hang or like work."""
        if self._last_progress is not None:
            self.emit("progress", **{**self._last_progress, "status": why})

    def progress_done(self, activity: str, activity_id: int = 1) -> None:
        self._last_progress = None
        self.emit("progress", activity=activity, status="Done", done=0, total=None, percent=-1,
                  operation="", id=activity_id, completed=True)

    def verbose(self, message: str) -> None:
        self.emit("verbose", message=message)

    def warning(self, message: str) -> None:
        self.emit("warning", message=message)

    def notice(self, message: str) -> None:
        """Something the person must see and act on now (where to sign in, the code to type)."""
        self.emit("notice", message=message)

    # Cancellation: the caller sets it; long loops in the core call check_cancelled() between objects.
    def cancel(self) -> None:
        self._cancel.set()

    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def check_cancelled(self) -> None:
        if self._cancel.is_set():
            raise Cancelled("The operation was stopped by the caller.")

    def sleep(self, seconds: float) -> None:
        """A wait that a cancel ends at once (backoffs, Retry-After, the write governor)."""
        if self._cancel.wait(max(0.0, seconds)):
            self.check_cancelled()
