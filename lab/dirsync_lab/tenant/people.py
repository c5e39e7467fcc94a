"""Users who sign in: cloud-only member users the lab's admin API makes with a password, and the check of
that password when someone signs in (the sign-in page, device code approval). The user is a normal
directory user (Graph's POST /users makes it, with its checks); the tenant keeps a salted PBKDF2 hash of
the password, never the password. Sign-in errors are the identity platform's
(https://learn.microsoft.com/entra/identity-platform/reference-error-codes)."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
from typing import cast

from .directory import Directory, Request
from .directory.roles import DIRECTORY_ROLES
from .odata import GraphError

SCHEMA = "CREATE TABLE IF NOT EXISTS user_passwords(user_id TEXT PRIMARY KEY, salt TEXT NOT NULL, hash TEXT NOT NULL);"
# OWASP's recommended work factor for PBKDF2-HMAC-SHA256 (Password Storage Cheat Sheet).
PBKDF2_ITERATIONS = 600_000


class SignInError(Exception):
    """A sign-in the identity platform refuses: its AADSTS code and message."""

    def __init__(self, aadsts: int, message: str):
        super().__init__(message)
        self.aadsts, self.message = aadsts, message

    def __str__(self) -> str:
        return f"AADSTS{self.aadsts}: {self.message}"


def _hash(salt: str, password: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), PBKDF2_ITERATIONS).hex()


class People:
    def __init__(self, directory: Directory):
        self.directory = directory
        self.store = directory.store
        self.store.db.executescript(SCHEMA)

    def add_user(self, upn: str, password: str, display_name: str | None = None, roles=()) -> dict:
        """Admin action: a cloud-only member user who can sign in with `password`, holding directory `roles`
        (display names or template ids)."""
        if not isinstance(upn, str) or not isinstance(password, str) or not upn or not password:
            raise ValueError("userPrincipalName and password are required strings.")
        unknown = [r for r in roles if DIRECTORY_ROLES.get(r, r) not in DIRECTORY_ROLES.values()]
        if unknown:
            raise ValueError(f"Unknown directory roles {unknown}; known: {', '.join(DIRECTORY_ROLES)}.")
        body = {"accountEnabled": True, "displayName": display_name or upn.split("@")[0],
                "mailNickname": upn.split("@")[0], "userPrincipalName": upn,
                "passwordProfile": {"password": password, "forceChangePasswordNextSignIn": False}}
        request = Request("POST", "users", {}, {"content-type": "application/json"}, json.dumps(body).encode())
        salt = secrets.token_hex(16)
        digest = _hash(salt, password)
        with self.store.lock:
            try:  # Graph's own checks: verified domain, unique UPN, password complexity
                created = cast(dict, self.directory.create_user(request)[2])
            except GraphError as exc:
                raise ValueError(exc.message) from None
            user_id = created["id"]
            self.store.db.execute("INSERT INTO user_passwords VALUES (?, ?, ?)", (user_id, salt, digest))
            for role in roles:
                self.directory.assign_role(user_id, role)
            return {"id": user_id, "userPrincipalName": created["userPrincipalName"],
                    "roles": sorted(self.directory.roles_of(user_id))}

    def authenticate(self, upn: str, password: str) -> sqlite3.Row:
        """The active user `upn` if `password` is theirs; else SignInError as the sign-in page shows it."""
        upn = (upn or "").strip()
        with self.store.lock:
            user = self.store.db.execute("SELECT * FROM objects WHERE kind='user' AND state='active' AND upn=?",
                                         (upn.lower(),)).fetchone()
            stored = user and self.store.db.execute("SELECT * FROM user_passwords WHERE user_id=?",
                                                    (user["id"],)).fetchone()
        if user is None:
            raise SignInError(50034, f"The user account {upn} does not exist in the {self.store.tenant_id} "
                                     "directory. To sign into this application, the account must be added to "
                                     "the directory.")
        # Users made through Graph or synchronized have no password the tenant knows: like a wrong one.
        if not stored or not hmac.compare_digest(stored["hash"], _hash(stored["salt"], password or "")):
            raise SignInError(50126, "Error validating credentials due to invalid username or password.")
        if not json.loads(user["data"]).get("accountEnabled"):
            raise SignInError(50057, "The user account is disabled.")
        return user

    def active(self, user_id: str) -> sqlite3.Row | None:
        """The user if it still exists and may sign in (refresh tokens of deleted/disabled users stop working)."""
        with self.store.lock:
            user = self.store.db.execute("SELECT * FROM objects WHERE kind='user' AND state='active' AND id=?",
                                         (user_id,)).fetchone()
        return user if user and json.loads(user["data"]).get("accountEnabled") else None

    def claims(self, user: sqlite3.Row) -> dict:
        """The user's claims in a delegated token (access-token-claims-reference, id-token-claims-reference)."""
        data = json.loads(user["data"])
        with self.store.lock:
            wids = sorted(self.directory.roles_of(user["id"]))
        return {"oid": user["id"], "sub": user["id"], "upn": data["userPrincipalName"],
                "preferred_username": data["userPrincipalName"], "name": data.get("displayName"),
                "wids": wids}
