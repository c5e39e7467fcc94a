"""The local tenant's state in SQLite: directory objects, memberships, app registrations, verified domains
and settings. One connection behind one lock: requests are serialized, which keeps every Graph write
atomic and is fast enough for ~100k objects on a small machine (WAL, indexed lookups, keyset paging).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS domains(name TEXT PRIMARY KEY, is_default INTEGER NOT NULL, is_initial INTEGER NOT NULL);
-- ready: when a change made through Graph has replicated to sign-in (identity_replication_seconds later;
-- the lab's admin API makes things with ready 0, as if long ago). data: the application's other
-- properties as JSON (signInAudience, requiredResourceAccess).
CREATE TABLE IF NOT EXISTS apps(
    app_id TEXT PRIMARY KEY, object_id TEXT UNIQUE NOT NULL, display_name TEXT NOT NULL, unique_name TEXT UNIQUE,
    secret_salt TEXT, secret_hash TEXT, public_client INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL DEFAULT '{}',
    created TEXT NOT NULL, ready REAL NOT NULL DEFAULT 0);
-- certificates of an app registration (keyCredentials); start/end from the certificate, UTC ISO 8601
CREATE TABLE IF NOT EXISTS key_credentials(
    key_id TEXT PRIMARY KEY, app_object_id TEXT NOT NULL, cert_pem TEXT NOT NULL, display_name TEXT,
    thumbprint TEXT NOT NULL, start TEXT NOT NULL, end TEXT NOT NULL, ready REAL NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS key_credentials_app ON key_credentials(app_object_id);
CREATE TABLE IF NOT EXISTS service_principals(
    id TEXT PRIMARY KEY, app_id TEXT UNIQUE NOT NULL, display_name TEXT NOT NULL, data TEXT NOT NULL DEFAULT '{}',
    created TEXT NOT NULL, ready REAL NOT NULL DEFAULT 0);
-- app roles of a resource service principal assigned to a client service principal (application permissions)
CREATE TABLE IF NOT EXISTS app_role_assignments(
    id TEXT PRIMARY KEY, principal_id TEXT NOT NULL, resource_id TEXT NOT NULL, app_role_id TEXT NOT NULL,
    created TEXT NOT NULL, ready REAL NOT NULL DEFAULT 0, UNIQUE(principal_id, resource_id, app_role_id));
CREATE INDEX IF NOT EXISTS app_role_assignments_resource ON app_role_assignments(resource_id);
-- owners of an app registration: directory objects (service principals or users), by id
CREATE TABLE IF NOT EXISTS app_owners(
    app_object_id TEXT NOT NULL, owner_id TEXT NOT NULL, PRIMARY KEY(app_object_id, owner_id));
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
-- deleted items by deletion time: every request first purges the expired ones (directory/deleted.py), which
-- without it scanned every object, per request
CREATE INDEX IF NOT EXISTS objects_deleted ON objects(json_extract(data, '$.deletedDateTime')) WHERE state='deleted';
-- every object's proxy addresses, bare and lower-cased, so that their uniqueness check is a look-up (a scan of
-- every object's JSON per address made creating N users O(N^2))
CREATE TABLE IF NOT EXISTS proxy_addresses(address TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY(address, id));
CREATE INDEX IF NOT EXISTS proxy_addresses_id ON proxy_addresses(id);
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
    # https://learn.microsoft.com/entra/identity-platform/howto-handle-eventual-consistency : apps, service
    # principals, keys and app-role assignments made through Graph count for sign-in only this much later
    "identity_replication_seconds": 5,
    # Conditional Access blocking sign-in flows, any of "device_code", "authorization_code"
    # (https://learn.microsoft.com/entra/identity/conditional-access/concept-authentication-flows)
    "blocked_sign_in_flows": [],
}
# Microsoft's first-party public client "Microsoft Graph Command Line Tools" (what Connect-MgGraph signs in
# as), which every tenant can sign in to; identity.REDIRECT_URIS has its loopback redirect URI.
CLI_TOOLS_APP_ID = "14d82eec-204b-4c2f-b7e8-296a70dab67e"


def _hash_secret(salt: str, secret: str) -> str:
    return hashlib.sha256((salt + secret).encode()).hexdigest()


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def cert_validity(cert: x509.Certificate) -> tuple[datetime, datetime]:
    """notBefore and notAfter in UTC (the naive accessors: the Debian cryptography has no *_utc ones)."""
    return (cert.not_valid_before.replace(tzinfo=timezone.utc), cert.not_valid_after.replace(tzinfo=timezone.utc))


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
        if "ready" not in {c["name"] for c in self.db.execute("PRAGMA table_info(apps)")}:
            # CREATE TABLE IF NOT EXISTS keeps an older layout; its apps have no keys or service principals.
            raise RuntimeError(f"The local tenant's database {path} is from an older version (app registrations "
                               "without service principals); delete its data folder to start afresh.")
        with self.lock:
            if self.meta("tenant_id") is None:
                self._initialize()
            self._seed_graph()
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

    # --- app registrations, service principals, keys, app-role assignments -----------------------------
    def ready_at(self) -> float:
        """When something made through Graph now counts for sign-in (identity_replication_seconds)."""
        return time.time() + float(self.settings()["identity_replication_seconds"])

    def _seed_graph(self) -> None:
        # Microsoft Graph's service principal is in every tenant; its app roles are permissions.GRAPH_APP_ROLES.
        from .permissions import GRAPH_APP_ID

        self.db.execute("INSERT OR IGNORE INTO service_principals VALUES (?, ?, 'Microsoft Graph', '{}', "
                        "datetime('now'), 0)", (str(uuid.uuid4()), GRAPH_APP_ID))

    def graph_sp(self) -> sqlite3.Row:
        from .permissions import GRAPH_APP_ID

        sp = self.service_principal(GRAPH_APP_ID)
        if sp is None:  # _seed_graph runs at every start
            raise RuntimeError("The local tenant has no Microsoft Graph service principal.")
        return sp

    def register_app(self, display_name: str, *, with_secret: bool, cert_pem: str | None = None,
                     public_client: bool = False, permissions: Iterable[str] = ()) -> tuple[sqlite3.Row, str | None]:
        """Returns the app and its new secret (shown once; only a salted hash is kept). The app gets its service
        principal, its certificate (if any) and `permissions` (Microsoft Graph application permissions granted
        as app-role assignments, as admin consent does); with Application.ReadWrite.OwnedBy its service
        principal is also made owner of its own registration (the documented owner step). Everything is made
        as if long ago: usable for sign-in at once, unlike what is made through Graph."""
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
        app_id, object_id, sp_id = (str(uuid.uuid4()) for _ in range(3))
        with self.lock:
            self.db.execute("INSERT INTO apps(app_id, object_id, display_name, secret_salt, secret_hash, "
                            "public_client, data, created, ready) VALUES (?, ?, ?, ?, ?, ?, ?, datetime('now'), 0)",
                            (app_id, object_id, display_name, salt, digest, int(public_client),
                             json.dumps({"signInAudience": "AzureADMyOrg", "requiredResourceAccess": []})))
            self.add_service_principal(sp_id, app_id, display_name, ready=0)
            if cert_pem:
                self.add_key(object_id, str(uuid.uuid4()), x509.load_pem_x509_certificate(cert_pem.encode()),
                             None, ready=0)
            graph = self.graph_sp()["id"]
            for name in permissions:
                self.add_assignment(sp_id, graph, GRAPH_APP_ROLES[name], ready=0)
            if OWNED_BY in permissions:
                self.db.execute("INSERT INTO app_owners VALUES (?, ?)", (object_id, sp_id))
            app = self.app(app_id)
            if app is None:
                raise RuntimeError(f"App {app_id} was not found right after it was registered.")
            return app, secret

    def add_service_principal(self, sp_id: str, app_id: str, display_name: str, *, ready: float) -> None:
        self.db.execute("INSERT INTO service_principals VALUES (?, ?, ?, '{}', datetime('now'), ?)",
                        (sp_id, app_id, display_name, ready))

    def add_key(self, app_object_id: str, key_id: str, cert: x509.Certificate, display_name: str | None, *,
                ready: float) -> None:
        """A certificate credential; its validity is the certificate's own (keyCredential resource)."""
        self.db.execute("INSERT INTO key_credentials VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (key_id, app_object_id, cert.public_bytes(serialization.Encoding.PEM).decode(),
                         display_name, cert.fingerprint(hashes.SHA1()).hex().upper(),  # nosec: thumbprint
                         *(_iso(moment) for moment in cert_validity(cert)), ready))

    def add_assignment(self, principal_id: str, resource_id: str, app_role_id: str, *, ready: float) -> str:
        # Graph's appRoleAssignment ids are 43-character base64url strings, not GUIDs.
        assignment_id = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
        self.db.execute("INSERT INTO app_role_assignments VALUES (?, ?, ?, ?, ?, ?)",
                        (assignment_id, principal_id, resource_id, app_role_id,
                         datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), ready))
        return assignment_id

    def app_roles(self, app_id: str) -> list[str]:
        """The Graph application permissions granted to an app and replicated (what its token's `roles`
        carries): app-role assignments of its service principal on Microsoft Graph's."""
        from .permissions import GRAPH_ROLE_NAMES

        rows = self.db.execute(
            "SELECT a.app_role_id FROM app_role_assignments a JOIN service_principals sp ON sp.id = a.principal_id "
            "WHERE sp.app_id=? AND a.resource_id=? AND a.ready <= ?",
            (app_id, self.graph_sp()["id"], time.time())).fetchall()
        return sorted(GRAPH_ROLE_NAMES[r[0]] for r in rows if r[0] in GRAPH_ROLE_NAMES)

    def app(self, app_id: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM apps WHERE app_id=?", (app_id,)).fetchone()

    def service_principal(self, app_id: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM service_principals WHERE app_id=?", (app_id,)).fetchone()

    def usable_keys(self, app_object_id: str) -> list[sqlite3.Row]:
        """The app's certificates that have replicated (validity is for the caller to check)."""
        return self.db.execute("SELECT * FROM key_credentials WHERE app_object_id=? AND ready <= ?",
                               (app_object_id, time.time())).fetchall()

    @staticmethod
    def secret_matches(app: sqlite3.Row, secret: str) -> bool:
        if not app["secret_hash"]:
            return False
        return hmac.compare_digest(app["secret_hash"], _hash_secret(app["secret_salt"], secret))

    def ensure_extension_index(self, prop: str) -> None:
        self.db.execute(f"CREATE INDEX IF NOT EXISTS {index_name(prop)} ON objects({ext_column(prop)})")
