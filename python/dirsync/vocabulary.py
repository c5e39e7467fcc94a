"""DirSync's words, each with one spelling: how a run ends, what a plan does, what is sent to the cloud
and what came back. The values are what users, scripts and the state store see; code names the members.

StrEnum: a member is its value wherever a string goes (JSON, SQLite, f-strings, comparisons), so the
history written before these enums existed reads back as the same members. Members are named in lower
case, as their values are.
"""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    success = "success"
    export_errors = "completed-export-errors"
    threshold_exceeded = "stopped-deletion-threshold-exceeded"
    server_down = "stopped-server-down"
    another_server = "stopped-another-active-server"  # another DirSync exports to this tenant (guard.py)
    stopped = "stopped-error"
    in_progress = "in-progress"
    skipped = "skipped-run-in-progress"

    @property
    def failed(self) -> bool:
        """A run that stopped before it was done: an error for the cmdlet, exit code 1 for the CLI."""
        return self in _STOPPED

    @property
    def error_id(self) -> str | None:
        """The PowerShell ErrorId of a failed run."""
        return f"DirSync.Run.{self.value}" if self.failed else None

    @property
    def synchronized(self) -> bool:
        """The run exported all it planned (some objects may be in error, each on its own)."""
        return self in (RunStatus.success, RunStatus.export_errors)


_STOPPED = frozenset({RunStatus.threshold_exceeded, RunStatus.server_down, RunStatus.another_server,
                      RunStatus.stopped})


class IncidentKind(StrEnum):
    """What the technical contact is told of (notify/): one message when it begins, one when it clears."""

    run_stopped = "run-stopped"
    deletion_threshold = "deletion-threshold"
    export_errors = "export-errors"
    credential_expiring = "credential-expiring"
    failing_runs = "failing-runs"


class RunMode(StrEnum):
    full = "full"
    delta = "delta"
    object = "object"  # chosen objects only (Start-OnlineCoexistenceSync -Identity)


class ImportMode(StrEnum):
    """Which import ran: a run in delta mode may have read everything after all."""

    full = "full"
    dirsync = "dirsync"  # the DirSync control
    usn = "usn"          # uSNChanged polling


class Trigger(StrEnum):
    """What started a run."""

    manual = "manual"
    scheduled = "scheduled"
    wizard = "wizard"
    test = "test"  # the preview of Test-CoexistenceSync


class PlanAction(StrEnum):
    """A change of a plan, in the words an administrator reads in a preview."""

    add = "add"
    adopt = "adopt"
    restore = "restore"  # from deleted items, then updated as an adoption is
    update = "update"
    delete = "delete"
    add_member = "addMember"
    remove_member = "removeMember"
    set_manager = "setManager"
    remove_manager = "removeManager"


LINK_ACTIONS = (PlanAction.add_member, PlanAction.remove_member, PlanAction.set_manager,
                PlanAction.remove_manager)
CHECK = "check"  # the action of an object that must be corrected in Active Directory before it is written


class CloudAction(StrEnum):
    """One write to Microsoft 365. The link writes are spelled as the plan's actions they carry out."""

    create = "create"
    restore = PlanAction.restore.value
    update = PlanAction.update.value
    delete = PlanAction.delete.value
    add_member = PlanAction.add_member.value
    remove_member = PlanAction.remove_member.value
    set_manager = PlanAction.set_manager.value
    remove_manager = PlanAction.remove_manager.value


class Outcome(StrEnum):
    """What the cloud said to one write."""

    created = "created"
    restored = "restored"
    updated = "updated"
    deleted = "deleted"
    conflict = "conflict"
    not_found = "notFound"
    throttled = "throttled"
    failed = "failed"

    @property
    def ok(self) -> bool:
        return self in (Outcome.created, Outcome.restored, Outcome.updated, Outcome.deleted)
