"""The state database's schema: the migrations that build it and the checks of its invariants."""

from __future__ import annotations

import sqlite3

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
    # links.last_error was never written: a link's failure is its source object's error.
    "ALTER TABLE links DROP COLUMN last_error",
    # The UPN as Active Directory has it, which the cloud's may differ from (an unverified suffix): the
    # words of a UPN conflict name the one the administrator can find and change.
    "ALTER TABLE objects ADD COLUMN source_upn TEXT",
    # When a user's account expires (accountExpires, kept while still ahead): the first run after it
    # reads the user again, as nothing changes in AD when the moment passes. And when and by which run the
    # cloud object was last written, for Get-CoexistenceObject.
    """
    ALTER TABLE objects ADD COLUMN expires TEXT;
    CREATE INDEX objects_expires ON objects(expires) WHERE expires IS NOT NULL;
    ALTER TABLE objects ADD COLUMN written_at TEXT;
    ALTER TABLE objects ADD COLUMN written_run INTEGER;
    CREATE INDEX objects_cloud_id ON objects(cloud_id) WHERE cloud_id IS NOT NULL
    """,
    # The incidents the technical contact was told of (notify/), so that one lasting over many runs is one
    # message; and what a run could not tell (a notification not sent), kept with the run.
    """
    CREATE TABLE incidents(
        kind TEXT PRIMARY KEY,
        opened_at TEXT NOT NULL,
        opened_run INTEGER,
        notified INTEGER NOT NULL DEFAULT 0,
        anchors TEXT NOT NULL DEFAULT '[]'
    );
    ALTER TABLE runs ADD COLUMN notices TEXT NOT NULL DEFAULT '[]'
    """,
    # What a delta or a run of chosen objects plans from, without reading the whole state: the two counts a
    # run reports (in scope; synchronized, the deletion percentage's base) kept by triggers as rows change,
    # and partial indexes of the rows with work (a no-change delta at 100,000 objects read them all); and
    # the names a one-object run finds a deleted object by (its old DN, its UPN).
    """
    CREATE TABLE tallies(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
    INSERT INTO tallies VALUES
        ('in_scope', (SELECT count(*) FROM objects WHERE in_scope=1 AND skip_reason IS NULL)),
        ('synchronized', (SELECT count(*) FROM objects WHERE cloud_id IS NOT NULL AND pending_delete=0));
    CREATE TRIGGER objects_tally_insert AFTER INSERT ON objects BEGIN
        UPDATE tallies SET value=value+(NEW.in_scope=1 AND NEW.skip_reason IS NULL) WHERE name='in_scope';
        UPDATE tallies SET value=value+(NEW.cloud_id IS NOT NULL AND NEW.pending_delete=0)
            WHERE name='synchronized';
    END;
    CREATE TRIGGER objects_tally_delete AFTER DELETE ON objects BEGIN
        UPDATE tallies SET value=value-(OLD.in_scope=1 AND OLD.skip_reason IS NULL) WHERE name='in_scope';
        UPDATE tallies SET value=value-(OLD.cloud_id IS NOT NULL AND OLD.pending_delete=0)
            WHERE name='synchronized';
    END;
    CREATE TRIGGER objects_tally_update AFTER UPDATE OF in_scope, skip_reason, cloud_id, pending_delete
    ON objects BEGIN
        UPDATE tallies SET value=value+(NEW.in_scope=1 AND NEW.skip_reason IS NULL)
            -(OLD.in_scope=1 AND OLD.skip_reason IS NULL) WHERE name='in_scope';
        UPDATE tallies SET value=value+(NEW.cloud_id IS NOT NULL AND NEW.pending_delete=0)
            -(OLD.cloud_id IS NOT NULL AND OLD.pending_delete=0) WHERE name='synchronized';
    END;
    CREATE INDEX objects_pending ON objects(anchor) WHERE pending IS NOT NULL;
    CREATE INDEX objects_invalid ON objects(anchor) WHERE last_result='invalid';
    CREATE INDEX links_unsettled ON links(src, rel, dst) WHERE wanted<>exported;
    CREATE INDEX objects_dn ON objects(dn COLLATE NOCASE);
    CREATE INDEX objects_source_upn ON objects(source_upn COLLATE NOCASE) WHERE source_upn IS NOT NULL
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


def version(db: sqlite3.Connection) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


def migrate(db: sqlite3.Connection, transaction, too_new) -> None:
    """Bring the schema up to SCHEMA_VERSION, one migration per transaction. `too_new(version)` is the
    error to raise for a file written by a newer DirSync."""
    current = version(db)
    if current > SCHEMA_VERSION:
        raise too_new(current)
    for target in range(current, SCHEMA_VERSION):
        with transaction():
            _script(db, MIGRATIONS[target])
            db.execute(f"PRAGMA user_version={target + 1}")


def _script(db: sqlite3.Connection, script: str) -> None:
    """Run a migration's statements inside the caller's transaction (executescript would commit). A
    statement ends at a `;` that completes it: a trigger's body holds statements of its own."""
    statement = ""
    for part in script.split(";"):
        statement += part + ";"
        if sqlite3.complete_statement(statement):
            if statement.strip(" \n;"):
                db.execute(statement)
            statement = ""
    if statement.strip(" \n;"):
        db.execute(statement)


INVARIANTS = {
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
    "tallies (the counts of objects in scope and synchronized) that disagree with the objects":
        "SELECT (SELECT value FROM tallies WHERE name='in_scope') IS NOT "
        "(SELECT count(*) FROM objects WHERE in_scope=1 AND skip_reason IS NULL) "
        "OR (SELECT value FROM tallies WHERE name='synchronized') IS NOT "
        "(SELECT count(*) FROM objects WHERE cloud_id IS NOT NULL AND pending_delete=0)",
}


def integrity_check(db: sqlite3.Connection) -> list[str]:
    """Problems found in the file and in the engine's invariants; empty when all is well."""
    problems = [row[0] for row in db.execute("PRAGMA integrity_check") if row[0] != "ok"]
    for text, sql in INVARIANTS.items():
        count = db.execute(sql).fetchone()[0]
        if count:
            problems.append(f"{count} {text}")
    return problems
