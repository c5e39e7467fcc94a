"""The local tenant's state in SQLite: directory objects, memberships, app registrations, verified domains
and settings. One connection behind one lock: requests are serialized, which keeps every Graph write
atomic and is fast enough for ~100k objects on a small machine (WAL, indexed lookups, keyset paging).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Iterable

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS domains(name TEXT PRIMARY KEY, is_default INTEGER NOT NULL, is_initial INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS apps(
    app_id TEXT PRIMARY KEY, object_id TEXT UNIQUE NOT NULL, display_name TEXT NOT NULL,
    secret_salt TEXT, secret_hash TEXT, cert_pem TEXT, public_client INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL);
-- app roles of Graph's service principal assigned to an app's service principal (admin consent), by name
CREATE TABLE IF NOT EXISTS app_role_assignments(app_id TEXT NOT NULL, role TEXT NOT NULL, PRIMARY KEY(app_id, role));
-- owners of an app registration, by the owning app's appId (its service principal)
CREATE TABLE IF NOT EXISTS app_owners(
    app_object_id TEXT NOT NULL, owner_app_id TEXT NOT NULL, PRIMARY KEY(app_object_id, owner_app_id));
CREATE TABLE IF NOT EXISTS extension_properties(
    id TEXT PRIMARY KEY, app_object_id TEXT NOT NULL, name TEXT UNIQUE NOT NULL, data TEXT NOT NULL);
-- kind: user | group; state: active | deleted (in deletedItems) | purged (kept for delta's @removed)
-- upn, nick, immutable_id, display_name: lower-cased copies for filters and uniqueness checks
CREATE TABLE IF NOT EXISTS objects(
    rid INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, kind TEXT NOT NULL,
    state TEXT NOT NULL, seq INTEGER NOT NULL, upn TEXT, nick TEXT, immutable_id TEXT,
    display_name TEXT, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS objects_kind ON objects(kind, state, rid);
CREATE INDEX IF NOT EXISTS objects_seq ON objects(kind, seq);
CREATE INDEX IF NOT EXISTS objects_upn ON objects(upn);
CREATE INDEX IF NOT EXISTS objects_nick ON objects(nick);
CREATE INDEX IF NOT EXISTS objects_immutable ON objects(immutable_id);
CREATE INDEX IF NOT EXISTS objects_display ON objects(display_name);
CREATE TABLE IF NOT EXISTS members(group_id TEXT NOT NULL, member_id TEXT NOT NULL, PRIMARY KEY(group_id, member_id));
CREATE INDEX IF NOT EXISTS members_member ON members(member_id);
CREATE TABLE IF NOT EXISTS managers(user_id TEXT PRIMARY KEY, manager_id TEXT NOT NULL);
-- directory roles held by users (directory/roles.py)
CREATE TABLE IF NOT EXISTS role_members(role_id TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY(role_id, user_id));
"""

DEFAULT_SETTINGS = {
    # https://learn.microsoft.com/entra/identity-platform/configurable-token-lifetimes (60-90 min by default)
    "token_lifetime": 3600,
    # https://learn.microsoft.com/graph/throttling-limits#identity-and-access-service-limits
    "write_quota_app_tenant": [3000, 150.0],
    "write_quota_tenant": [18000, 300.0],
    "other_apps_write_rate": 0.0,          # writes per second other apps make, counted in the tenant's quota
    "resource_units_app_tenant": None,     # [units, seconds]; None: 3,500/5,000/8,000 per 10 s by tenant size
    "device_code_interval": 5,
    "page_size": 100,
    # https://learn.microsoft.com/graph/api/resources/directory : deleted items are purged after 30 days
    "deleted_item_retention_seconds": 30 * 24 * 3600,
    # Conditional Access blocking sign-in flows, any of "device_code", "authorization_code"
    # (https://learn.microsoft.com/entra/identity/conditional-access/concept-authentication-flows)
    "blocked_sign_in_flows": [],
}
# Microsoft's first-party public client "Microsoft Graph Command Line Tools" (what Connect-MgGraph signs in
# as), which every tenant can sign in to; identity.REDIRECT_URIS has its loopback redirect URI.
CLI_TOOLS_APP_ID = "14d82eec-204b-4c2f-b7e8-296a70dab67e"


def _hash_secret(salt: str, secret: str) -> str:
    return hashlib.sha256((salt + secret).encode()).hexdigest()


def index_name(prop: str) -> str:
    return "ext_" + hashlib.sha1(prop.encode()).hexdigest()[:16]


def ext_column(prop: str) -> str:
    # The same text in queries and in the expression index, so SQLite uses the index.
    return f"lower(json_extract(data, '$.\"{prop}\"'))"


class Store:
    def __init__(self, path: Path):
        self.lock = threading.RLock()
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        with self.lock:
            if self.meta("tenant_id") is None:
                self._initialize()
            # Also into tenants made before it existed.
            self.db.execute("INSERT OR IGNORE INTO apps(app_id, object_id, display_name, public_client, created) "
                            "VALUES (?, ?, 'Microsoft Graph Command Line Tools', 1, datetime('now'))",
                            (CLI_TOOLS_APP_ID, str(uuid.uuid4())))
            self._seq = self.db.execute("SELECT COALESCE(MAX(seq), 0) FROM objects").fetchone()[0]

    def _initialize(self) -> None:
        tenant_id = str(uuid.uuid4())
        self.set_meta("tenant_id", tenant_id)
        self.set_meta("org_name", "DirSync Local Tenant")
        self.set_meta("settings", json.dumps(DEFAULT_SETTINGS))
        # Every tenant has an initial *.onmicrosoft.com domain; a local one cannot collide with a real one.
        initial = f"dirsync{tenant_id[:8]}.onmicrosoft.com"
        self.db.execute("INSERT INTO domains VALUES (?, 1, 1)", (initial,))

    def close(self) -> None:
        with self.lock:
            self.db.close()

    # --- meta and settings --------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    @property
    def tenant_id(self) -> str:
        tenant_id = self.meta("tenant_id")
        if tenant_id is None:  # __init__ writes it into a new database
            raise RuntimeError("The local tenant's database has no tenant id; delete its data folder to start afresh.")
        return tenant_id

    def settings(self) -> dict:
        return {**DEFAULT_SETTINGS, **json.loads(self.meta("settings") or "{}")}

    def update_settings(self, changes: dict) -> dict:
        unknown = set(changes) - set(DEFAULT_SETTINGS)
        if unknown:
            raise ValueError(f"Unknown settings: {', '.join(sorted(unknown))}.")
        flows = changes.get("blocked_sign_in_flows", [])
        if not isinstance(flows, list) or not set(flows) <= {"device_code", "authorization_code"}:
            raise ValueError("blocked_sign_in_flows is a list of \"device_code\", \"authorization_code\".")
        with self.lock:
            merged = {**self.settings(), **changes}
            self.set_meta("settings", json.dumps(merged))
            return merged

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # --- domains ---------------------------------------------------------------------------------------
    def domains(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM domains ORDER BY is_initial DESC, name").fetchall()

    def add_domain(self, name: str, default: bool = False) -> None:
        name = name.strip().lower()
        if not name or "." not in name or any(c.isspace() for c in name):
            raise ValueError(f"'{name}' is not a domain name.")
        with self.lock:
            if default:
                self.db.execute("UPDATE domains SET is_default=0")
            self.db.execute("INSERT OR IGNORE INTO domains VALUES (?, 0, 0)", (name,))
            if default:
                self.db.execute("UPDATE domains SET is_default=1 WHERE name=?", (name,))

    # --- app registrations --------------------------------------------------------------------------
    def register_app(self, display_name: str, *, with_secret: bool, cert_pem: str | None = None,
                     public_client: bool = False, permissions: Iterable[str] = ()) -> tuple[sqlite3.Row, str | None]:
        """Returns the app and its new secret (shown once; only a salted hash is kept). `permissions` are
        Microsoft Graph application permissions granted with admin consent; with Application.ReadWrite.OwnedBy
        the app's service principal is also made owner of its own registration (the documented owner step)."""
        from .permissions import GRAPH_APP_ROLES, OWNED_BY

        permissions = list(dict.fromkeys(permissions))
        unknown = [p for p in permissions if p not in GRAPH_APP_ROLES]
        if unknown:
            raise ValueError(f"Microsoft Graph has no application permission {', '.join(unknown)}.")
        secret = salt = digest = None
        if with_secret:
            secret = secrets.token_urlsafe(30)
            salt = secrets.token_hex(8)
            digest = _hash_secret(salt, secret)
        app_id = str(uuid.uuid4())
        with self.lock:
            self.db.execute("INSERT INTO apps VALUES (?, ?, ?, ?, ?, ?, ?, datetime('now'))",
                            (app_id, str(uuid.uuid4()), display_name, salt, digest, cert_pem,
                             int(public_client)))
            self.db.executemany("INSERT INTO app_role_assignments VALUES (?, ?)", [(app_id, p) for p in permissions])
            app = self.app(app_id)
            if app is None:
                raise RuntimeError(f"App {app_id} was not found right after it was registered.")
            if OWNED_BY in permissions:
                self.db.execute("INSERT INTO app_owners VALUES (?, ?)", (app["object_id"], app_id))
            return app, secret

    def app_roles(self, app_id: str) -> list[str]:
        """The Graph application permissions granted to an app (what its token's `roles` carries)."""
        return [r["role"] for r in self.db.execute(
            "SELECT role FROM app_role_assignments WHERE app_id=? ORDER BY role", (app_id,))]

    def app(self, app_id: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM apps WHERE app_id=?", (app_id,)).fetchone()

    @staticmethod
    def secret_matches(app: sqlite3.Row, secret: str) -> bool:
        if not app["secret_hash"]:
            return False
        return hmac.compare_digest(app["secret_hash"], _hash_secret(app["secret_salt"], secret))

    def ensure_extension_index(self, prop: str) -> None:
        self.db.execute(f"CREATE INDEX IF NOT EXISTS {index_name(prop)} ON objects({ext_column(prop)})")
