"""The single entry point the PowerShell module calls, inside pwsh's own process (pythonnet).

JSON in, JSON out. A call runs on a Python daemon thread so that the PowerShell pipeline thread stays
free to render events while it runs: PowerShell calls `start`, then `poll` until the reply says done.
No .NET delegate is ever called from a Python thread (that crashes pwsh without a runspace), and no
GIL is held between polls.

    start(command, arguments_json) -> call id
    poll(call_id, timeout_seconds) -> {"events": [...], "done": bool, "result": ..., "error": {...}}
    cancel(call_id) -> whether the call ended (it waits for it, bounded)
    display(texts_json) -> the same texts, neutralised for a person (text.for_display), as JSON

`command` is a name from COMMANDS, or "package.module:function" for a function of another module
(used by extensions and by the tests). The function gets the arguments as keywords, plus `events`
and `home` (the DirSync home folder) when it takes those parameters. What it returns goes out as JSON
through `plain`: a typed result (RunResult, ObjectError, …) in the form of its `to_dict`.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import json
import queue
import threading
import traceback
from enum import Enum

from .errors import DirSyncError, InvalidArgumentError
from .events import Cancelled, Events
from .text import displayable, for_display

COMMANDS = {
    "get-configuration": "dirsync.config:describe",
    "set-configuration": "dirsync.service:change_settings",
    "get-schedule": "dirsync.schedule:describe",
    "set-schedule": "dirsync.schedule:change",
    "configure": "dirsync.wizard:configure_with_answers",
    "check-domain-controller": "dirsync.wizard:check_domain_controller",
    "start-sync": "dirsync.service:start_sync",
    "get-object": "dirsync.service:describe_objects",
    "get-history": "dirsync.service:sync_history",
    "test-sync": "dirsync.service:test_sync",
    "get-environment": "dirsync.bridge:environment",
    "update-credential": "dirsync.service:update_credential",
    "send-test-notification": "dirsync.service:send_test_notification",
}

CONTEXT = {"home"}  # sent by the PowerShell module with every call

# How long a cancel waits for the core to stop: a $batch request in flight is answered (or times out) first.
CANCEL_WAIT = 30.0
_DONE = object()
_calls: dict[str, "_Call"] = {}
_ids = itertools.count(1)
_lock = threading.Lock()


def plain(value):
    """The JSON form of a result: objects with `to_dict` (the typed results) as that dict, enums as their
    value, inside dicts and lists too. The CLI prints the same form."""
    if hasattr(value, "to_dict"):
        return plain(value.to_dict())
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def _resolve(command: str):
    target = COMMANDS.get(command, command)
    module_name, _, function_name = target.partition(":")
    if not function_name:
        raise InvalidArgumentError(f"DirSync has no command '{command}'.",
                                   fix=f"Use one of: {', '.join(sorted(COMMANDS))}.")
    return getattr(importlib.import_module(module_name), function_name)


def _error(exc: BaseException) -> dict:
    """The failure as PowerShell shows it to a person (an ErrorRecord, -Verbose): its text neutralised."""
    failure = _failure(exc)
    detail = failure.pop("detail", None)
    failure = displayable(failure)
    if detail is not None:  # a traceback keeps its lines
        failure["detail"] = "\n".join(for_display(line) for line in detail.splitlines())
    return failure


def _failure(exc: BaseException) -> dict:
    if isinstance(exc, DirSyncError):
        return exc.to_dict()
    if isinstance(exc, Cancelled):
        return {"errorId": "DirSync.Stopped", "category": "OperationStopped", "message": str(exc),
                "fix": "", "target": "", "type": "Cancelled"}
    # A bug, not a user error: keep the Python detail for -Verbose and bug reports.
    return {"errorId": "DirSync.UnexpectedError", "category": "NotSpecified",
            "message": f"{type(exc).__name__}: {exc}", "type": type(exc).__name__,
            "fix": "This is a defect in DirSync; please report it with the detail shown by -Verbose.",
            "target": "", "detail": "".join(traceback.format_exception(exc))}


class _Call:
    def __init__(self, function, arguments: dict):
        self.queue: queue.Queue = queue.Queue()
        self.events = Events(self.queue.put)
        self.outcome: dict = {}
        # The caller's context (events, home) goes only to functions that take it.
        accepted = inspect.signature(function).parameters
        arguments = {k: v for k, v in arguments.items() if k in accepted or k not in CONTEXT}
        if "events" in accepted:
            arguments["events"] = self.events
        self.thread = threading.Thread(target=self._run, args=(function, arguments), daemon=True,
                                       name="dirsync-call")
        self.thread.start()

    def _run(self, function, arguments):
        try:
            self.outcome = {"result": plain(function(**arguments))}
        except BaseException as exc:  # every failure goes back to the caller as data
            self.outcome = {"error": _error(exc)}
        finally:
            self.queue.put(_DONE)


def start(command: str, arguments_json: str = "{}") -> str:
    try:
        function = _resolve(command)
        arguments = json.loads(arguments_json or "{}")
    except Exception as exc:
        # Fails on its thread like any other call, so the caller has one path for every error.
        function, arguments = _raise(exc), {}
    call_id = str(next(_ids))
    with _lock:
        _calls[call_id] = _Call(function, arguments)
    return call_id


def _raise(exc: Exception):
    def fail():
        raise exc
    return fail


def poll(call_id: str, timeout_seconds: float = 0.1) -> str:
    call = _calls[call_id]
    events, done = [], False
    try:
        item = call.queue.get(timeout=timeout_seconds)  # waits without the GIL
        while True:
            if item is _DONE:
                done = True
                break
            events.append(item)
            item = call.queue.get_nowait()
    except queue.Empty:
        pass
    reply = {"events": events, "done": done}
    if done:
        with _lock:
            _calls.pop(call_id, None)
        reply.update(call.outcome)
    return json.dumps(reply, default=str)


def environment() -> dict:
    """Which Python and which DirSync this process hosts: for support and for the bridge's tests."""
    import sys

    from . import __file__ as package_file, __version__
    return {"pythonVersion": sys.version.split()[0], "executable": sys.executable, "prefix": sys.prefix,
            "path": sys.path, "dirsyncVersion": __version__, "dirsyncPath": package_file}


def display(texts_json: str) -> str:
    """Texts a cmdlet builds from returned data (a warning per object in error), made safe to show."""
    return json.dumps([for_display(t) for t in json.loads(texts_json)])


def cancel(call_id: str, wait_seconds: float = CANCEL_WAIT) -> bool:
    """The caller stopped waiting (Ctrl+C): the core stops at its next check (between $batch requests, in
    any wait), and nobody polls again. Waits for the call to end, `wait_seconds` at most, so that when the
    prompt returns a run has committed what the cloud confirmed and released its lock. True if it ended."""
    with _lock:
        call = _calls.pop(call_id, None)
    if call is None:
        return True
    call.events.cancel()
    call.thread.join(wait_seconds)  # releases the GIL while it waits
    return not call.thread.is_alive()
