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
from pathlib import Path
from typing import Iterator

from ..clock import now
from ..errors import RunInProgressError, StateDamagedError, StateError
from ..files import writing
from . import schema
from .history import RunHistory
from .incidents import IncidentTable
from .objects import ObjectTables
from .schema import SCHEMA_VERSION

STATE_FILE_NAME = "dirsync-state.sqlite"
LOCK_FILE_NAME = "dirsync-run.lock"
DAMAGED = {"SQLITE_CORRUPT", "SQLITE_NOTADB"}
STORAGE = ("SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM")


def state_path(home: Path) -> Path:
    return Path(home) / STATE_FILE_NAME


class StateStore(ObjectTables, RunHistory, IncidentTable):
    """One connection to the state database, the SQLite StateRepository (engine/ports.py): the
    connector space (objects.py) and the run history (history.py). Not shared between threads."""

    def __init__(self, home: Path):
        self.home = Path(home)
        self.path = state_path(self.home)
        self._lock_file = None
        try:
            with writing(self.path):
                self.home.mkdir(parents=True, exist_ok=True)
                if sys.platform != "win32":
                    # Created private before SQLite opens it: SQLite gives the -wal and -shm files the
                    # database file's permissions, and the log holds directory data from the first write.
                    os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
                    os.chmod(self.path, 0o600)
            # isolation_level=None: transactions are explicit (`transaction()`), so a commit happens
            # exactly where the engine decides progress is made.
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30, factory=_Connection)
        except (sqlite3.DatabaseError, OSError) as err:
            raise StateError(f"The state store {self.path} cannot be opened: {err}.",
                             fix="Check the file's permissions and free disk space.",
                             target=str(self.path)) from None
        self.db.store_error = self._error
        self.db.row_factory = sqlite3.Row
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL survives a killed process; a power cut may lose the last commits, which the
            # engine recovers from (hard match by anchor), but never corrupts the file.
            self.db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except BaseException:
            self.db.close()
            raise

    def _error(self, err: sqlite3.DatabaseError) -> Exception:
        """The DirSyncError for what SQLite reported: a damaged file, or storage that refuses a write. Other
        errors (a busy database, a constraint) are left as they are: they are not about the file."""
        name = getattr(err, "sqlite_errorname", "") or ""
        if name not in DAMAGED and type(err) is sqlite3.DatabaseError and self._damage():
            name = "SQLITE_CORRUPT"  # a plain DatabaseError whose cause the integrity check confirms
        if name in DAMAGED:
            return damaged(self.path, str(err))
        if name.startswith(STORAGE):
            return StateError(
                f"The state store {self.path} could not be written: {err}.",
                fix=f"Free disk space on the drive that holds {self.home} and check that the account running "
                    "DirSync may write there. Nothing of the interrupted step was kept; the next run carries "
                    "on from the last change DirSync recorded.", target=str(self.path))
        return err

    def _damage(self) -> str | None:
        """The first problem SQLite's quick check finds in the file (O(size): about half a second at 100,000
        objects), or None."""
        try:
            first = sqlite3.Connection.execute(self.db, "PRAGMA quick_check(1)").fetchone()[0]
        except sqlite3.DatabaseError as err:
            return str(err)
        return None if first == "ok" else first

    def close(self) -> None:
        self.unlock()
        self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- schema ------------------------------------------------------------------------------------

    def _migrate(self) -> None:
        def too_new(version: int) -> StateError:
            return StateError(
                f"The state store {self.path} has schema version {version}, newer than this DirSync "
                f"understands ({SCHEMA_VERSION}).",
                fix="Upgrade DirSync to the version that last used this state store.", target=str(self.path))
        schema.migrate(self.db, self.transaction, too_new)

    @property
    def schema_version(self) -> int:
        return schema.version(self.db)

    def integrity_check(self) -> list[str]:
        """Problems found in the file and in the engine's invariants; empty when all is well."""
        return schema.integrity_check(self.db)

    # --- transactions ------------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction. A write the file system refuses (disk full, read-only, I/O error) is a
        StateError naming the file and the fix (_Connection); what the transaction did is undone."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:  # SQLite itself rolls back on some errors, such as a full disk
                self.db.execute("ROLLBACK")
            raise

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

    def lock(self, run_id: int | None = None, check: bool = True) -> None:
        """Take the run lock or raise RunInProgressError naming the run that holds it. `check`: SQLite's quick
        check of the whole file first (O(size): 0.15-0.2 s at 100,000 objects); a run of chosen objects leaves
        it to the next full or delta run, as it reads only its objects' rows, where damage answers
        SQLITE_CORRUPT and is refused the same way (_error)."""
        path = self.home / LOCK_FILE_NAME
        with writing(path):
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
        # Once per run, before anything is decided from it: a damaged file is refused, with the way back.
        problem = self._damage() if check else None
        if problem:
            self.unlock()
            raise damaged(self.path, problem)
        # Holding the lock proves that runs still marked in progress died without finishing.
        self.end_crashed_runs()

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


def damaged(path: Path, problem: str) -> StateDamagedError:
    return StateDamagedError(
        f"The state store {path} is damaged ({problem}), so DirSync cannot trust what it remembers of the "
        "objects it synchronized. Nothing was written.",
        fix=f"Stop DirSync's runs, then restore it from a backup of {path.name} taken while no run was going, "
            "or remove it (with its -wal and -shm files, if any) and run Start-OnlineCoexistenceSync -FullSync "
            "(dirsync sync --full): the full synchronization finds each object already in Microsoft 365 by its "
            "anchor and adopts it, creating nothing twice.", target=str(path))


def _mapped(method):
    """`method` of sqlite3.Cursor, with SQLite's errors handed to the store (_Connection.store_error)."""
    def call(self, *args):
        try:
            return method(self, *args)
        except sqlite3.DatabaseError as err:
            raise self.connection.store_error(err) from None
    return call


class _Cursor(sqlite3.Cursor):
    """Every statement and every fetch: a damaged page can show at any step, not only at the statement."""

    connection: "_Connection"
    execute = _mapped(sqlite3.Cursor.execute)
    executemany = _mapped(sqlite3.Cursor.executemany)
    fetchone = _mapped(sqlite3.Cursor.fetchone)
    fetchall = _mapped(sqlite3.Cursor.fetchall)
    __next__ = _mapped(sqlite3.Cursor.__next__)


class _Connection(sqlite3.Connection):
    """The store's connection: statements run on _Cursor, so that a damaged file or a refused write is a
    StateError wherever it shows, not an sqlite3 error that reaches the administrator as a defect."""

    def store_error(self, err: sqlite3.DatabaseError) -> Exception:
        return err  # until the store sets its own

    def execute(self, sql, parameters=(), /):
        return self.cursor(_Cursor).execute(sql, parameters)

    def executemany(self, sql, parameters, /):
        return self.cursor(_Cursor).executemany(sql, parameters)


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
