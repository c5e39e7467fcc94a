"""The state store: DirSync's memory between runs, one SQLite file in the DirSync home.

It is DirSync's connector space: every object read from Active Directory (in scope or not) with its
anchor, DN and the cloud object it became; a hash per property of what was last written to the cloud;
what is still to be written (`pending`, `pending_delete`); the links between objects (group members,
managers) as Active Directory has them and whether each one is in the cloud yet; the import watermarks;
the run history. Because the work still to do lives here and each result is committed as soon as the
cloud confirms it, a run that dies at any point leaves a state the next run carries on from.

Only one run at a time: `lock()` takes an operating-system lock on a file beside the database, which the
system releases when the process holding it dies, so the lock of a crashed run is taken over by itself.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import sys
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from ..errors import RunInProgressError, StateError

STATE_FILE_NAME = "dirsync-state.sqlite"
LOCK_FILE_NAME = "dirsync-run.lock"
SKIPPED_FILE_NAME = "dirsync-skipped-runs.jsonl"
RUNNING = "in-progress"
SKIPPED = "skipped-run-in-progress"

# Each migration takes the schema from its index to the next version; never edit one that shipped.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE objects(
        anchor TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        dn TEXT NOT NULL,
        in_scope INTEGER NOT NULL DEFAULT 0,
        skip_reason TEXT,
        cloud_id TEXT,
        create_intent TEXT,
        exported TEXT NOT NULL DEFAULT '{}',
        hash TEXT,
        pending TEXT,
        pending_delete INTEGER NOT NULL DEFAULT 0,
        tombstoned INTEGER NOT NULL DEFAULT 0,
        last_result TEXT,
        last_error TEXT,
        last_fix TEXT,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX objects_work ON objects(pending_delete, in_scope);
    CREATE TABLE links(
        src TEXT NOT NULL,
        rel TEXT NOT NULL,
        dst TEXT NOT NULL,
        wanted INTEGER NOT NULL,
        exported INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        PRIMARY KEY(src, rel, dst)
    ) WITHOUT ROWID;
    CREATE INDEX links_dst ON links(dst);
    CREATE TABLE watermarks(name TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL);
    CREATE TABLE runs(
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        start_time TEXT NOT NULL,
        end_time TEXT,
        mode TEXT NOT NULL,
        staging INTEGER NOT NULL DEFAULT 0,
        trigger TEXT NOT NULL,
        status TEXT NOT NULL,
        counts TEXT NOT NULL DEFAULT '{}',
        errors TEXT NOT NULL DEFAULT '[]',
        skipped TEXT NOT NULL DEFAULT '[]',
        message TEXT NOT NULL DEFAULT '',
        pid INTEGER
    );
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def state_path(home: Path) -> Path:
    return Path(home) / STATE_FILE_NAME


class StateStore:
    """One connection to the state database. Not shared between threads."""

    def __init__(self, home: Path):
        self.home = Path(home)
        self.path = state_path(self.home)
        self._lock_file = None
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            if sys.platform != "win32":
                # Created private before SQLite opens it: SQLite gives the -wal and -shm files the
                # database file's permissions, and the log holds directory data from the first write.
                os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
                os.chmod(self.path, 0o600)
            # isolation_level=None: transactions are explicit (`transaction()`), so a commit happens
            # exactly where the engine decides progress is made.
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL survives a killed process; a power cut may lose the last commits, which the
            # engine recovers from (hard match by anchor), but never corrupts the file.
            self.db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except (sqlite3.DatabaseError, OSError) as err:
            raise StateError(f"The state store {self.path} cannot be opened: {err}.",
                             fix="Check the file's permissions and free disk space; if it is damaged, "
                                 "restore it from a backup or delete it (the next run is then a full "
                                 "synchronization that hard-matches existing cloud objects).",
                             target=str(self.path)) from None

    def close(self) -> None:
        self.unlock()
        self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- schema ------------------------------------------------------------------------------------

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StateError(
                f"The state store {self.path} has schema version {version}, newer than this DirSync "
                f"understands ({SCHEMA_VERSION}).",
                fix="Upgrade DirSync to the version that last used this state store.", target=str(self.path))
        for target in range(version, SCHEMA_VERSION):
            with self.transaction():
                _script(self.db, MIGRATIONS[target])
                self.db.execute(f"PRAGMA user_version={target + 1}")

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def integrity_check(self) -> list[str]:
        """Problems found in the file and in the engine's invariants; empty when all is well."""
        problems = [row[0] for row in self.db.execute("PRAGMA integrity_check") if row[0] != "ok"]
        checks = {
            "objects waiting to be deleted that have no cloud object":
                "SELECT count(*) FROM objects WHERE pending_delete=1 AND cloud_id IS NULL "
                "AND create_intent IS NULL",
            "links exported to the cloud from an object that has no cloud object":
                "SELECT count(*) FROM links l JOIN objects o ON o.anchor=l.src "
                "WHERE l.exported=1 AND o.cloud_id IS NULL",
            "links exported to the cloud to an object that has no cloud object":
                "SELECT count(*) FROM links l JOIN objects o ON o.anchor=l.dst "
                "WHERE l.exported=1 AND o.cloud_id IS NULL",
            "cloud objects used by two anchors":
                "SELECT count(*) FROM (SELECT cloud_id FROM objects WHERE cloud_id IS NOT NULL "
                "GROUP BY cloud_id HAVING count(*) > 1)",
        }
        for text, sql in checks.items():
            count = self.db.execute(sql).fetchone()[0]
            if count:
                problems.append(f"{count} {text}")
        return problems

    # --- transactions ------------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction. A write the file system refuses (disk full, read-only, I/O error) is a
        StateError naming the file and the fix; what the transaction did is undone."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
                self.db.execute("COMMIT")
            except BaseException:
                if self.db.in_transaction:  # SQLite itself rolls back on some errors, such as a full disk
                    self.db.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as err:
            if "locked" in str(err):  # another process kept the database busy: not a storage problem
                raise
            raise StateError(
                f"The state store {self.path} could not be written: {err}.",
                fix=f"Free disk space on the drive that holds {self.home} and check that the account running "
                    "DirSync may write there. Nothing of the interrupted step was kept; the next run carries "
                    "on from the last change DirSync recorded.", target=str(self.path)) from None

    @contextmanager
    def rolled_back(self) -> Iterator[sqlite3.Connection]:
        """Everything done inside is undone at the end: how a preview writes nothing."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        finally:
            self.db.execute("ROLLBACK")

    @property
    def in_transaction(self) -> bool:
        return self.db.in_transaction

    @contextmanager
    def atomic(self) -> Iterator[sqlite3.Connection]:
        """A transaction, or nothing extra when one is already open (inside a preview)."""
        if self.db.in_transaction:
            yield self.db
        else:
            with self.transaction() as db:
                yield db

    # --- the run lock ------------------------------------------------------------------------------

    def lock(self, run_id: int | None = None) -> None:
        """Take the run lock or raise RunInProgressError naming the run that holds it."""
        path = self.home / LOCK_FILE_NAME
        handle = open(path, "a+b")
        try:
            _try_lock(handle)
        except OSError:
            handle.seek(0)
            holder = _describe_holder(handle.read())
            handle.close()
            raise RunInProgressError(
                f"A synchronization is already running{holder}; only one run at a time is allowed.",
                fix="Wait for it to finish (Get-CoexistenceSyncHistory -Last 1 shows it), then start the "
                    "sync again.", target=str(path)) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": now(),
                                 "runId": run_id}).encode())
        handle.flush()
        self._lock_file = handle
        # Holding the lock proves that runs still marked in progress died without finishing.
        with self.atomic():
            self.db.execute(
                "UPDATE runs SET status='stopped-error', end_time=?, message=? WHERE status=?",
                (now(), "The run ended unexpectedly (its process was stopped or crashed). The changes it "
                        "had confirmed are kept; the next run carries on with the rest.", RUNNING))

    def unlock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()  # closing releases the operating-system lock
            self._lock_file = None

    # --- watermarks and metadata -------------------------------------------------------------------

    def watermark(self, name: str) -> str | None:
        row = self.db.execute("SELECT value FROM watermarks WHERE name=?", (name,)).fetchone()
        return row[0] if row else None

    def set_watermark(self, name: str, value: str | None) -> None:
        with self.atomic():
            if value is None:
                self.db.execute("DELETE FROM watermarks WHERE name=?", (name,))
            else:
                self.db.execute("INSERT OR REPLACE INTO watermarks VALUES (?,?,?)", (name, value, now()))

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.atomic():
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?,?)", (key, value))

    # --- run history -------------------------------------------------------------------------------

    def begin_run(self, mode: str, trigger: str) -> int:
        with self.atomic():
            cur = self.db.execute(
                "INSERT INTO runs(start_time, mode, trigger, status, pid) VALUES (?,?,?,?,?)",
                (now(), mode, trigger, RUNNING, os.getpid()))
        return cur.lastrowid

    def end_run(self, run_id: int, *, mode: str, status: str, counts: dict, errors: list, skipped: list,
                message: str) -> None:
        with self.atomic():
            self.db.execute(
                "UPDATE runs SET end_time=?, mode=?, status=?, counts=?, errors=?, skipped=?, message=? "
                "WHERE id=?",
                (now(), mode, status, json.dumps(counts), json.dumps(errors), json.dumps(skipped), message,
                 run_id))

    def record_skipped_run(self, trigger: str, message: str) -> dict:
        """A run that did not happen (another one held the lock), kept in the history. It is written beside
        the database, not in it: the run in progress may hold the database's write lock for its whole
        import, and the skipped run must say so at once."""
        moment = now()
        record = {"runId": None, "status": SKIPPED, "mode": "delta", "trigger": trigger, "startTime": moment,
                  "endTime": moment, "counts": {}, "errors": [], "skipped": [], "message": message}
        fd = os.open(self.home / SKIPPED_FILE_NAME, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
        return record

    def runs(self, last: int | None = None) -> list[dict]:
        """The run history, newest first: the runs, and the scheduled runs that were skipped."""
        sql = "SELECT * FROM runs ORDER BY id DESC" + (" LIMIT ?" if last else "")
        rows = [_run_dict(row) for row in self.db.execute(sql, (last,) if last else ()).fetchall()]
        merged = sorted(rows + self._skipped_runs(), key=lambda run: run["startTime"], reverse=True)
        return merged[:last] if last else merged

    def _skipped_runs(self) -> list[dict]:
        try:
            lines = (self.home / SKIPPED_FILE_NAME).read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in lines if line.strip()]

    def last_successful_run(self) -> dict | None:
        row = self.db.execute(
            "SELECT * FROM runs WHERE status IN ('success', 'completed-export-errors') "
            "AND mode NOT IN ('preview', 'staging') ORDER BY id DESC LIMIT 1").fetchone()
        return _run_dict(row) if row else None


def _run_dict(row: sqlite3.Row) -> dict:
    return {"runId": row["id"], "status": row["status"], "mode": row["mode"], "trigger": row["trigger"],
            "startTime": row["start_time"], "endTime": row["end_time"],
            "counts": json.loads(row["counts"]), "errors": json.loads(row["errors"]),
            "skipped": json.loads(row["skipped"]), "message": row["message"]}


def _script(db: sqlite3.Connection, script: str) -> None:
    """Run a migration's statements inside the caller's transaction (executescript would commit)."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _describe_holder(data: bytes) -> str:
    try:
        holder = json.loads(data)
        return f" (process {holder['pid']} on {holder['host']}, started {holder['since']})"
    except (ValueError, KeyError, TypeError):
        return ""


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(handle) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
else:
    import fcntl

    def _try_lock(handle) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
