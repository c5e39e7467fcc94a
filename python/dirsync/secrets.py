"""Protected storage of DirSync's own secrets: the service account password, the app's client secret
or certificate private key, the proxy's and the SMTP server's passwords. Never the Enterprise Admin
credentials, which are used once and dropped.

Each secret is one file in `<home>/secrets/`, a folder readable only by the account that runs DirSync
(0700, files 0600). On Windows the value is also encrypted with DPAPI for the current user, as the
original tool protected its service account password.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from .errors import ConfigurationError, NotConfiguredError
from .files import write_private, writing

AD_SERVICE_ACCOUNT_PASSWORD = "ad-service-account-password"
TENANT_CLIENT_SECRET = "tenant-client-secret"
TENANT_CERTIFICATE_KEY = "tenant-certificate-key"
PROXY_PASSWORD = "proxy-password"
SMTP_PASSWORD = "smtp-password"

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def _folder(home: Path) -> Path:
    return Path(home) / "secrets"


def _file(home: Path, name: str) -> Path:
    if not _NAME.match(name):
        raise ConfigurationError(f"{name!r} is not a valid secret name.",
                                 fix="Use lower-case letters, digits and hyphens.")
    return _folder(home) / name


def store_secret(home: Path, name: str, value: str) -> None:
    path = _file(home, name)
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path.parent, 0o700)
        write_private(path, _protect(value.encode("utf-8")))


def load_secret(home: Path, name: str) -> str:
    path = _file(home, name)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise NotConfiguredError(
            f"The secret '{name}' is not stored in {path.parent}.",
            fix="Run Start-CoexistenceConfigurationWizard to store it again.", target=str(path)) from None
    if sys.platform != "win32" and path.stat().st_mode & 0o077:
        raise ConfigurationError(
            f"The secret file {path} can be read by other accounts.",
            fix=f"Restrict it to the account that runs DirSync: chmod 600 {path}", target=str(path))
    return _unprotect(data).decode("utf-8")


def delete_secret(home: Path, name: str) -> None:
    path = _file(home, name)
    with writing(path):
        path.unlink(missing_ok=True)


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import ctypes
    from ctypes import wintypes

    class _Blob(ctypes.Structure):
        _fields_ = [("cbData", wintypes.DWORD), ("pbData", ctypes.POINTER(ctypes.c_char))]

    def _call(fn, data: bytes) -> bytes:
        source = _Blob(len(data), ctypes.create_string_buffer(data, len(data)))
        result = _Blob()
        if not fn(ctypes.byref(source), None, None, None, None, 0, ctypes.byref(result)):
            raise ctypes.WinError()
        try:
            return ctypes.string_at(result.pbData, result.cbData)
        finally:
            ctypes.windll.kernel32.LocalFree(result.pbData)

    def _protect(data: bytes) -> bytes:
        return _call(ctypes.windll.crypt32.CryptProtectData, data)

    def _unprotect(data: bytes) -> bytes:
        return _call(ctypes.windll.crypt32.CryptUnprotectData, data)
else:
    def _protect(data: bytes) -> bytes:
        return data

    def _unprotect(data: bytes) -> bytes:
        return data
