"""The DirSync configuration: its model, its file, validation and defaults.

The file is JSON, `dirsync.json` in the DirSync home folder (DIRSYNC_HOME, or a per-platform default).
Keys are camelCase (`intervalMinutes`); the Python fields are the same words in snake_case and the
PowerShell properties the same words in PascalCase. No secret is ever kept in this file: passwords,
client secrets and private keys live in the secrets store (secrets.py); so does the password of a proxy
URL given as http://user:password@host:port, which the file keeps as http://user@host:port.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import json
import os
import re
import sys
import types
import typing
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from . import secrets
from .dn import parse as parse_dn
from .errors import ConfigurationError, InvalidArgumentError, NotConfiguredError
from .events import Events
from .files import write_private, writing

CONFIG_FILE_NAME = "dirsync.json"
HOME_VARIABLE = "DIRSYNC_HOME"


def home() -> Path:
    """The folder holding the configuration, secrets, state and logs of this DirSync instance."""
    configured = os.environ.get(HOME_VARIABLE)
    if configured:
        return Path(configured)
    if sys.platform == "win32":
        return Path(os.environ.get("ProgramData", r"C:\ProgramData")) / "DirSync"
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "dirsync"


def config_path(folder: Path | None = None) -> Path:
    return (folder or home()) / CONFIG_FILE_NAME


def installation_id_for(folder: Path) -> str:
    """The id a first wizard gives this installation: the same at every attempt in this home on this
    machine, so that an attempt that failed half-way is completed by the next (its MSOL_ account, its
    app registration), never duplicated; another home or machine has another."""
    import socket  # not at the top: the planner imports this module and does no I/O

    seed = f"{socket.gethostname().lower()}\0{folder.resolve()}"
    return hashlib.sha256(seed.encode()).hexdigest()[:12]


# --- the model -------------------------------------------------------------------------------------
# `check` in a field's metadata validates its value; it returns an error text or None.

def _between(low: int, high: int):
    return lambda v: None if low <= v <= high else f"must be between {low} and {high}"


def _dns(values: list[str]):
    for value in values:
        try:
            parse_dn(value)
        except ValueError as problem:
            return (f"{value!r} is not a distinguished name such as 'OU=Staff,DC=contoso,DC=com' ({problem}; "
                    "escape a comma, plus, quote, semicolon or equals sign in a name with a backslash)")
    return None


def _dn_or_empty(value: str):
    return _dns([value]) if value else None


_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*\.?$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _host(value: str):
    if not value:
        return None  # not configured yet: the wizard asks for it
    try:
        ipaddress.ip_address(value)
        return None
    except ValueError:
        pass
    if _HOST.match(value):
        return None
    return ("must be the domain controller's host name or IP address alone, such as 'dc1.contoso.com' "
            "(no 'ldaps://', port or path: the port and transport are settings of their own)")


def _guid(value: str):
    return None if not value or _GUID.match(value) else \
        "must be the app's Application (client) ID, a GUID such as '00000000-0000-0000-0000-000000000000'"


def _tenant(value: str):
    if not value or _GUID.match(value) or (_HOST.match(value) and "." in value):
        return None
    return "must be the tenant's ID (a GUID) or one of its domains, such as 'contoso.onmicrosoft.com'"


def _url(schemes: tuple[str, ...], example: str):
    def check(value):
        if value is None:
            return None
        parts = urllib.parse.urlsplit(value)
        if parts.scheme in schemes and parts.hostname and not parts.query and not parts.fragment:
            try:
                parts.port  # noqa: B018 - raises ValueError when the port is not a number
                return None
            except ValueError:
                pass
        https_only = " (https only: tokens and directory data must not travel in clear)"
        return f"must be a URL such as '{example}'" + (https_only if schemes == ("https",) else "")
    return check


def _proxy(value: str | None):
    problem = _url(("http", "https"), "http://proxy.contoso.com:8080")(value)
    if problem or value is None or urllib.parse.urlsplit(value).password is None:
        return problem
    return ("must not hold the proxy's password (a secret never stays in the file): set the proxy with "
            "Set-CoexistenceConfiguration -Proxy or 'dirsync config set --proxy', which keeps it protected")


def _installation_id(value: str):
    return None if not value or re.match(r"^[0-9a-f]{12}$", value) else \
        "must be the 12 hex digits the configuration wizard chose (it names the service account MSOL_<id>)"


def _exclusion(value: str):
    if value and not re.match(r"^[A-Za-z][\w-]*=.+$", value):
        return "must be 'attribute=value', such as 'extensionAttribute15=NoSync', or empty"
    return None


@dataclass(frozen=True)
class ActiveDirectorySettings:
    server: str = field(default="", metadata={"check": _host})
    port: int = field(default=636, metadata={"check": _between(1, 65535)})
    transport: Literal["ldaps", "starttls"] = "ldaps"
    ca_file: str | None = None
    verify_certificate: bool = True
    base_dn: str = field(default="", metadata={"check": _dn_or_empty})
    service_account: str = ""


@dataclass(frozen=True)
class TenantSettings:
    tenant_id: str = field(default="", metadata={"check": _tenant})
    client_id: str = field(default="", metadata={"check": _guid})
    authority_host: str = field(default="https://login.microsoftonline.com",
                                metadata={"check": _url(("https",), "https://login.microsoftonline.com")})
    graph_endpoint: str = field(default="https://graph.microsoft.com",
                                metadata={"check": _url(("https",), "https://graph.microsoft.com")})
    credential_type: Literal["certificate", "secret"] = "certificate"
    certificate_file: str | None = None
    ca_file: str | None = None
    proxy: str | None = field(default=None, metadata={"check": _proxy})
    # Test-CoexistenceSync warns this many days before the app's certificate expires.
    credential_expiry_warning_days: int = field(default=30, metadata={"check": _between(1, 365)})


@dataclass(frozen=True)
class SyncSettings:
    # DirSync synchronized every three hours; Entra Connect allows no less than 30 minutes.
    interval_minutes: int = field(default=180, metadata={"check": _between(30, 10080)})
    include_ous: list[str] = field(default_factory=list, metadata={"check": _dns})
    exclude_ous: list[str] = field(default_factory=list, metadata={"check": _dns})
    exclusion_attribute: str = field(default="extensionAttribute15=NoSync", metadata={"check": _exclusion})
    staging_mode: bool = False
    soft_match: bool = False


@dataclass(frozen=True)
class PreventAccidentalDeletesSettings:
    """A run stops before writing when it would delete more than `object_deletion_threshold` objects, or
    more than `object_deletion_percentage` % of the synchronized objects (a typo in an OU filter empties
    a small directory long before it reaches an absolute threshold)."""
    enabled: bool = True
    object_deletion_threshold: int = field(default=500, metadata={"check": _between(1, 1_000_000)})
    object_deletion_percentage: int = field(default=10, metadata={"check": _between(1, 100)})


_ADDRESS = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[^@\s<>(),;:\"\[\]]+$")


def _address(value: str):
    return None if not value or _ADDRESS.match(value) else "must be an e-mail address such as 'dirsync@contoso.com'"


def _addresses(values: list[str]):
    return next((f"holds {v!r}, which is not an e-mail address such as 'admin@contoso.com'"
                 for v in values if not _ADDRESS.match(v)), None)


def _system_log_address(value: str):
    if not value or value.startswith("/"):
        return None
    parts = urllib.parse.urlsplit(value)
    try:
        if parts.scheme == "udp" and parts.hostname and parts.port and not parts.path:
            return None
    except ValueError:
        pass
    return ("must be empty (the system's own log), the path of a syslog socket such as '/dev/log', or "
            "'udp://host:port' such as 'udp://syslog.contoso.com:514'")


SmtpSecurity = Literal["starttls", "tls"]


@dataclass(frozen=True)
class NotificationSettings:
    """E-mail to the technical contact, one message per incident (notify/). No SMTP server: no e-mail.
    The password of `smtp_username` lives in the secrets store."""
    smtp_server: str = field(default="", metadata={"check": _host})
    smtp_port: int = field(default=587, metadata={"check": _between(1, 65535)})
    # Always encrypted and the certificate verified: STARTTLS (port 587) or TLS from the start (465).
    smtp_security: SmtpSecurity = "starttls"
    smtp_username: str = ""
    ca_file: str | None = None
    sender: str = field(default="", metadata={"check": _address})
    recipients: list[str] = field(default_factory=list, metadata={"check": _addresses})
    # Runs failing one after another that make an incident of their own.
    failed_runs_in_a_row: int = field(default=3, metadata={"check": _between(2, 100)})


Facility = Literal["user", "daemon", "auth", "local0", "local1", "local2", "local3", "local4", "local5", "local6",
                   "local7"]


@dataclass(frozen=True)
class SystemLogSettings:
    """One event per run in the operating system's log: syslog (journald reads it) or Windows' Application log."""
    enabled: bool = True
    address: str = field(default="", metadata={"check": _system_log_address})
    facility: Facility = "daemon"


@dataclass(frozen=True)
class Configuration:
    active_directory: ActiveDirectorySettings = field(default_factory=ActiveDirectorySettings)
    tenant: TenantSettings = field(default_factory=TenantSettings)
    sync: SyncSettings = field(default_factory=SyncSettings)
    prevent_accidental_deletes: PreventAccidentalDeletesSettings = field(
        default_factory=PreventAccidentalDeletesSettings)
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
    system_log: SystemLogSettings = field(default_factory=SystemLogSettings)
    exchange_hybrid: bool = False
    # Chosen by the first wizard in this home; names its service account (service_account.account_name).
    installation_id: str = field(default="", metadata={"check": _installation_id})

    def to_dict(self) -> dict:
        return _to_json(self)


# --- names -----------------------------------------------------------------------------------------

_ACRONYMS = {"ous": "OUs", "dn": "DN"}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(_ACRONYMS.get(part, part.capitalize()) for part in rest)


def _to_json(obj) -> typing.Any:
    if dataclasses.is_dataclass(obj):
        return {camel(f.name): _to_json(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, list):
        return list(obj)
    return obj


# --- reading and validating --------------------------------------------------------------------------

def _type_name(tp) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " or ".join(repr(a) for a in typing.get_args(tp))
    if origin is list:
        return "a list of strings"
    if origin in (typing.Union, types.UnionType):
        return " or ".join("null" if a is types.NoneType else _type_name(a) for a in typing.get_args(tp))
    return {str: "a string", int: "a whole number", bool: "true or false"}.get(tp, str(tp))


def _matches(tp, value) -> bool:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return value in typing.get_args(tp)
    if origin is list:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(a, value) for a in typing.get_args(tp))
    if tp is types.NoneType:
        return value is None
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, tp)


class _Reader:
    """Builds the dataclasses from parsed JSON, reporting the first problem. Reading a file, the
    problem names the file and line; checking a change (path None), it names the setting only."""

    def __init__(self, path: Path | None, text: str):
        self.path, self.text = path, text

    def fail(self, message: str, key: str, fix: str = ""):
        if self.path is None:
            raise InvalidArgumentError(message, fix=fix or "Nothing was changed; give a valid value.")
        place = str(self.path)
        match = re.search(r'"%s"\s*:' % re.escape(key), self.text)
        if match:
            place += f", line {self.text.count(chr(10), 0, match.start()) + 1}"
        raise ConfigurationError(
            f"{message.rstrip('.')} ({place}).",
            fix=fix or "Correct the value in the file, or set it with Set-CoexistenceConfiguration.",
            target=str(self.path))

    def build(self, cls, data, prefix: str = ""):
        if not isinstance(data, dict):
            self.fail(f"The setting '{prefix or 'configuration'}' must be an object ({{ … }}).",
                      prefix.split(".")[-1])
        hints = typing.get_type_hints(cls)
        fields = {camel(f.name): f for f in dataclasses.fields(cls)}
        values = {}
        for key, value in data.items():
            name = f"{prefix}.{key}" if prefix else key
            if key not in fields:
                self.fail(f"Unknown setting '{name}'.", key,
                          f"Remove it or correct its spelling; the settings here are: {', '.join(fields)}.")
            f = fields[key]
            tp = hints[f.name]
            if dataclasses.is_dataclass(tp):
                values[f.name] = self.build(tp, value, name)
                continue
            if not _matches(tp, value):
                self.fail(f"The setting '{name}' is {json.dumps(value)}, but it must be {_type_name(tp)}.", key)
            problem = f.metadata.get("check", lambda v: None)(value)
            if problem:
                self.fail(f"The setting '{name}' {problem}.", key)
            values[f.name] = value
        return cls(**values)


def parse(text: str, path: Path | None = None) -> Configuration:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        place = f"{path}, line {err.lineno}, column {err.colno}" if path else f"line {err.lineno}"
        raise ConfigurationError(
            f"The configuration ({place}) is not valid JSON: {err.msg}.",
            fix="Correct the syntax there (or restore the file from a backup); DirSync has not changed it.",
            target=str(path or "")) from None
    return _Reader(path, text).build(Configuration, data)


def from_dict(data: dict) -> Configuration:
    return _Reader(None, "").build(Configuration, data)


def load(folder: Path | None = None) -> Configuration:
    path = config_path(folder)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotConfiguredError(
            f"DirSync is not configured yet: there is no configuration file at {path}.",
            fix="Run Start-CoexistenceConfigurationWizard (or 'dirsync configure') to configure it.",
            target=str(path)) from None
    except UnicodeDecodeError:
        raise ConfigurationError(f"The configuration file {path} is not UTF-8 text.",
                                 fix="Save it as UTF-8.", target=str(path)) from None
    return parse(text, path)


def save(configuration: Configuration, folder: Path | None = None) -> Path:
    """Write atomically (files.write_private): a save killed half-way never replaces the good file."""
    path = config_path(folder)
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        write_private(path, (json.dumps(configuration.to_dict(), indent=2) + "\n").encode("utf-8"))
    return path


Check = typing.Callable[["Configuration", "Configuration"], None]


def change(changes: dict, home: str | None = None, events: Events | None = None, check: Check | None = None,
           smtp_password: str | None = None) -> dict:
    """Set-CoexistenceConfiguration, Set-PreventAccidentalDeletes, `dirsync config set`: apply
    `changes` (camelCase sections) to the saved configuration, validated as a whole; an invalid
    change leaves the file as it was. `check(current, changed)` may refuse it too (raising), before
    it is saved: the OU filter against the directory. `smtp_password` goes to the secrets store ('' removes it)."""
    folder = Path(home) if home else None
    proxy_password = None
    if "proxy" in changes.get("tenant", {}):
        url, proxy_password = split_proxy_password(changes["tenant"]["proxy"])
        changes = {**changes, "tenant": {**changes["tenant"], "proxy": url}}
    current = load(folder)
    changed = update(current, changes)
    _check_notifications(changed.notifications, smtp_password)
    if check:
        check(current, changed)
    secret_home = folder or config_path().parent
    if "proxy" in changes.get("tenant", {}):  # only once the change as a whole is valid
        _keep_secret(secret_home, secrets.PROXY_PASSWORD, proxy_password)
    if smtp_password is not None or not changed.notifications.smtp_username:
        _keep_secret(secret_home, secrets.SMTP_PASSWORD, smtp_password or None)
    (events or Events()).verbose(f"Saving the configuration to {save(changed, folder)}")
    return describe(home)


def _keep_secret(folder: Path, name: str, value: str | None) -> None:
    if value:
        secrets.store_secret(folder, name, value)
    else:
        secrets.delete_secret(folder, name)


def _check_notifications(settings: NotificationSettings, smtp_password: str | None) -> None:
    """Settings that are valid one by one but not together: e-mail needs a sender and recipients, a password
    a user name."""
    if settings.smtp_server and not (settings.sender and settings.recipients):
        missing = " and ".join(name for name, value in (("a sender", settings.sender),
                                                        ("recipients", settings.recipients)) if not value)
        raise InvalidArgumentError(
            f"E-mail notifications through {settings.smtp_server} need {missing}; nothing was changed.",
            fix="Give -NotificationSender and -NotificationRecipients (--notification-sender, "
                "--notification-recipient) with the SMTP server.")
    if smtp_password and not settings.smtp_username:
        raise InvalidArgumentError("An SMTP password was given without a user name; nothing was changed.",
                                   fix="Give the user name too (-SmtpCredential, --smtp-username).")


def split_proxy_password(url: str | None) -> tuple[str | None, str | None]:
    """(the URL without its password, the password): what the file keeps, and what the secrets store keeps."""
    parts = urllib.parse.urlsplit(url) if url else None
    if parts is None or parts.password is None:
        return url, None
    netloc = parts.netloc.rpartition("@")[2]
    user = parts.netloc.rpartition("@")[0].partition(":")[0]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}@{netloc}")), urllib.parse.unquote(parts.password)


def with_proxy_password(tenant: TenantSettings, folder: Path) -> TenantSettings:
    """The tenant settings a session needs: the proxy URL with its password back from the secrets store,
    in memory only (never saved, shown or logged)."""
    parts = urllib.parse.urlsplit(tenant.proxy) if tenant.proxy else None
    if parts is None or not parts.username:
        return tenant
    try:
        password = secrets.load_secret(folder, secrets.PROXY_PASSWORD)
    except NotConfiguredError:
        return tenant  # a proxy user with no password
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{parts.username}:{urllib.parse.quote(password, safe='')}@{host}"
    return dataclasses.replace(tenant, proxy=urllib.parse.urlunsplit(parts._replace(netloc=netloc)))


# The flat settings of Set-CoexistenceConfiguration, Set-PreventAccidentalDeletes and `dirsync config
# set` (their parameter names in snake_case), and where each lives in the configuration.
SETTINGS = {
    "include_ous": ("sync", "includeOUs"),
    "exclude_ous": ("sync", "excludeOUs"),
    "exclusion_attribute": ("sync", "exclusionAttribute"),
    "staging_mode": ("sync", "stagingMode"),
    "soft_match": ("sync", "softMatch"),
    "proxy": ("tenant", "proxy"),
    "credential_expiry_warning_days": ("tenant", "credentialExpiryWarningDays"),
    "exchange_hybrid": (None, "exchangeHybrid"),
    "prevent_accidental_deletes": ("preventAccidentalDeletes", "enabled"),
    "object_deletion_threshold": ("preventAccidentalDeletes", "objectDeletionThreshold"),
    "object_deletion_percentage": ("preventAccidentalDeletes", "objectDeletionPercentage"),
    "smtp_server": ("notifications", "smtpServer"),
    "smtp_port": ("notifications", "smtpPort"),
    "smtp_security": ("notifications", "smtpSecurity"),
    "smtp_username": ("notifications", "smtpUsername"),
    "smtp_ca_file": ("notifications", "caFile"),
    "notification_sender": ("notifications", "sender"),
    "notification_recipients": ("notifications", "recipients"),
    "failed_runs_in_a_row": ("notifications", "failedRunsInARow"),
    "system_log": ("systemLog", "enabled"),
    "system_log_address": ("systemLog", "address"),
    "system_log_facility": ("systemLog", "facility"),
}
_WHOLE_NUMBERS = {"object_deletion_threshold": "-ObjectDeletionThreshold (--deletion-threshold)",
                  "credential_expiry_warning_days": "-CredentialExpiryWarningDays (--credential-warning-days)",
                  "object_deletion_percentage": "-ObjectDeletionPercentage (--deletion-percentage)",
                  "smtp_port": "-SmtpPort (--smtp-port)",
                  "failed_runs_in_a_row": "-FailedRunsInARow (--failed-runs-in-a-row)"}


def changes_from_settings(**settings) -> dict:
    """The change (camelCase sections, as update() takes) that the flat settings given make. A setting
    that is None is left as it is; an empty proxy means none; '' in an OU list is dropped, so '' alone
    means the whole domain."""
    changes: dict = {}
    for name, value in settings.items():
        if name not in SETTINGS:
            raise InvalidArgumentError(f"There is no setting '{name}'.", fix=f"Use one of: {', '.join(SETTINGS)}.")
        if value is None:
            continue
        if name in ("include_ous", "exclude_ous", "notification_recipients"):
            value = [item for item in value if item]
        elif name in ("proxy", "smtp_ca_file"):
            value = value or None
        elif name in _WHOLE_NUMBERS:
            value = _whole_number(value, _WHOLE_NUMBERS[name])
        section, key = SETTINGS[name]
        if section is None:
            changes[key] = value
        else:
            changes.setdefault(section, {})[key] = value
    if not changes:
        raise InvalidArgumentError(
            "No setting was given, so nothing changed.",
            fix="Give at least one: dirsync config set --help, Get-Help Set-CoexistenceConfiguration.")
    return changes


def _whole_number(value, name: str) -> int:
    """A count given as a number with a fraction (PowerShell would round 1.5 to 2) is refused, not rounded."""
    if isinstance(value, float):
        if not value.is_integer():
            raise InvalidArgumentError(f"{name} is {value:g}, but it must be a whole number; nothing was changed.",
                                       fix=f"Give a whole number, such as {int(value)} or {int(value) + 1}.")
        return int(value)
    return value


def change_settings(home: str | None = None, events: Events | None = None, check: Check | None = None,
                    smtp_password: str | None = None, **settings) -> dict:
    """change() with flat settings (changes_from_settings): what service.change_settings calls."""
    if smtp_password is not None and not any(v is not None for v in settings.values()):
        return change({}, home, events, check, smtp_password)  # the password alone
    return change(changes_from_settings(**settings), home, events, check, smtp_password)


def update(configuration: Configuration, changes: dict) -> Configuration:
    """A new configuration with `changes` ({"sync": {"intervalMinutes": 60}}, camelCase) applied
    and validated as a whole."""
    merged = configuration.to_dict()
    for section, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(section), dict):
            merged[section] = {**merged[section], **value}
        else:
            merged[section] = value
    return from_dict(merged)


def describe(home: str | None = None, events: Events | None = None) -> dict:
    """The configuration as the administrator sees it (Get-CoexistenceConfiguration, `dirsync config
    show`): every setting and where it is stored. It holds no secret: secrets never enter the file."""
    folder = Path(home) if home else None
    (events or Events()).verbose(f"Reading the configuration from {config_path(folder)}")
    configuration = load(folder)
    return {"path": str(config_path(folder)), **configuration.to_dict()}
