"""Typed errors of the DirSync core.

Every error an administrator can meet is a DirSyncError: a message saying what went wrong, a `fix` saying
what to do, a stable `error_id` that scripts can branch on, and the PowerShell ErrorCategory it maps to.
Messages never contain secrets: callers pass names of things (a server, a file, a key), never passwords.
"""

from __future__ import annotations


class DirSyncError(Exception):
    error_id = "DirSync.Error"
    category = "NotSpecified"  # a System.Management.Automation.ErrorCategory name

    def __init__(self, message: str, *, fix: str = "", target: str = ""):
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.target = target

    def __str__(self) -> str:
        return f"{self.message} {self.fix}".strip()

    def to_dict(self) -> dict:
        return {
            "errorId": self.error_id,
            "category": self.category,
            "message": self.message,
            "fix": self.fix,
            "target": self.target,
            "type": type(self).__name__,
        }


class ConfigurationError(DirSyncError):
    """The configuration file or a setting is invalid."""

    error_id = "DirSync.InvalidConfiguration"
    category = "InvalidData"


class NotConfiguredError(DirSyncError):
    """DirSync has not been configured yet on this machine (or this DIRSYNC_HOME)."""

    error_id = "DirSync.NotConfigured"
    category = "ObjectNotFound"


class InvalidArgumentError(DirSyncError):
    error_id = "DirSync.InvalidArgument"
    category = "InvalidArgument"


class ServerUnreachableError(DirSyncError):
    """A server (domain controller, tenant) could not be reached."""

    error_id = "DirSync.ServerUnreachable"
    category = "ConnectionError"


class AuthenticationError(DirSyncError):
    error_id = "DirSync.AuthenticationFailed"
    category = "AuthenticationError"


class CertificateError(DirSyncError):
    """A server's TLS certificate is not trusted or does not match its name."""

    error_id = "DirSync.UntrustedCertificate"
    category = "SecurityError"


class PermissionDeniedError(DirSyncError):
    error_id = "DirSync.PermissionDenied"
    category = "PermissionDenied"


class IdentityNotFoundError(DirSyncError):
    """An -Identity that names no object of Active Directory (nor of DirSync's state)."""

    error_id = "DirSync.IdentityNotFound"
    category = "ObjectNotFound"


class IdentityAmbiguousError(DirSyncError):
    """An -Identity that names more than one object."""

    error_id = "DirSync.IdentityAmbiguous"
    category = "InvalidArgument"


class RunInProgressError(DirSyncError):
    error_id = "DirSync.RunInProgress"
    category = "ResourceBusy"


class CloudError(DirSyncError):
    """Microsoft Graph answered with an error the connector could not recover from."""

    error_id = "DirSync.CloudError"
    category = "InvalidResult"


class GroupAnchorError(CloudError):
    """The group anchor property cannot be read, registered or filtered on: groups wait, users still sync."""

    error_id = "DirSync.GroupAnchorUnavailable"
    category = "PermissionDenied"


class NotificationError(DirSyncError):
    """An e-mail to the technical contact could not be sent (it never fails a run: the run keeps a notice)."""

    error_id = "DirSync.NotificationFailed"
    category = "ConnectionError"


class ActiveServerUnknownError(CloudError):
    """The active-server marker on DirSync's app cannot be read or written (the app does not own its
    registration): the run goes on, warned that two active servers would not be detected."""

    error_id = "DirSync.ActiveServerUnknown"
    category = "PermissionDenied"


class StateError(DirSyncError):
    """The state store cannot be read or written."""

    error_id = "DirSync.StateError"
    category = "WriteError"


class StateDamagedError(StateError):
    """The state file fails SQLite's integrity check, or SQLite reports it damaged."""

    error_id = "DirSync.StateDamaged"
    category = "InvalidData"


class FolderNotWritableError(DirSyncError):
    """The file system refuses a write in the DirSync home (permissions, a read-only mount)."""

    error_id = "DirSync.FolderNotWritable"
    category = "PermissionDenied"
