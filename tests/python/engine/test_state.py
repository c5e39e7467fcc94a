"""The state store: one run at a time, a crashed run's lock taken over, schema versions, integrity."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from dirsync.errors import RunInProgressError, StateError
from dirsync.state.schema import MIGRATIONS
from dirsync.state.store import SCHEMA_VERSION, StateStore, state_path


def test_a_second_run_is_refused_while_one_holds_the_lock(tmp_path):
    with StateStore(tmp_path) as first, StateStore(tmp_path) as second:
        first.lock()
        with pytest.raises(RunInProgressError) as refused:
            second.lock()
        assert f"process {os.getpid()}" in refused.value.message
        assert "Wait for it to finish" in refused.value.fix
        first.unlock()
        second.lock()  # free again once the first run ends


def _holder(home):
    """A process that takes the lock, starts a run and waits to be killed."""
    code = textwrap.dedent(f"""
        import sys
        from dirsync.state.store import StateStore
        store = StateStore({str(home)!r})
        store.lock()
        store.begin_run("delta", "scheduler")
        print("locked", flush=True)
        sys.stdin.read()
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env=env)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_the_lock_of_a_killed_run_is_taken_over_and_its_run_marked_stopped(tmp_path):
    proc = _holder(tmp_path)
    try:
        with StateStore(tmp_path) as store:
            with pytest.raises(RunInProgressError, match=f"process {proc.pid}"):
                store.lock()
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            store.lock()
            [run] = [r.to_dict() for r in store.runs()]
            assert run["status"] == "stopped-error" and "ended unexpectedly" in run["message"]
            assert run["endTime"]
    finally:
        proc.kill()
        proc.wait()


def test_a_new_store_is_at_the_current_schema_in_wal_mode_and_private(tmp_path):
    with StateStore(tmp_path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.integrity_check() == []
    assert os.stat(state_path(tmp_path)).st_mode & 0o077 == 0


def test_a_store_of_the_first_schema_is_migrated_and_keeps_its_links(tmp_path):
    db = sqlite3.connect(state_path(tmp_path))
    for statement in MIGRATIONS[0].split(";"):
        db.execute(statement)
    db.execute("PRAGMA user_version=1")
    db.execute("INSERT INTO links(src, rel, dst, wanted, exported) VALUES ('g', 'member', 'u', 1, 1)")
    db.commit()
    db.close()
    with StateStore(tmp_path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.links("g", "member") == {"u": (True, True)}
        assert "last_error" not in [row[1] for row in store.db.execute("PRAGMA table_info(links)")]


def _objects(db, *rows):
    db.executemany("INSERT INTO objects(anchor, kind, dn, in_scope, skip_reason, cloud_id, pending_delete, "
                   "updated_at) VALUES (?, 'user', ?, ?, ?, ?, ?, 'now')", [(r[0], r[0], *r[1:]) for r in rows])


def test_a_store_of_schema_5_counts_its_objects_in_scope_and_synchronized_when_migrated(tmp_path):
    db = sqlite3.connect(state_path(tmp_path))
    for version, script in enumerate(MIGRATIONS[:5], start=1):
        for statement in script.split(";"):
            db.execute(statement)
        db.execute(f"PRAGMA user_version={version}")
    # in scope and synchronized; in scope, not yet created; skipped (a contact); out of scope, being deleted
    _objects(db, ("a", 1, None, "id-a", 0), ("b", 1, None, None, 0), ("c", 1, "contact", None, 0),
             ("d", 0, None, "id-d", 1))
    db.commit()
    db.close()
    with StateStore(tmp_path) as store:
        assert (store.in_scope(), store.pending_work().synchronized) == (2, 1)
        assert store.integrity_check() == []


def test_the_counts_follow_every_change_of_the_objects(tmp_path):
    with StateStore(tmp_path) as store:
        db = store.db
        _objects(db, ("a", 1, None, None, 0), ("b", 1, None, None, 0), ("c", 0, None, None, 0))
        assert (store.in_scope(), store.pending_work().synchronized) == (2, 0)
        store.record_properties("a", cloud_id="id-a", exported={}, digest="", pending=None)
        store.record_properties("b", cloud_id="id-b", exported={}, digest="", pending=None)
        assert (store.in_scope(), store.pending_work().synchronized) == (2, 2)
        store.mark_deleted("a")  # out of scope, its cloud object to be deleted: neither count has it
        db.execute("UPDATE objects SET skip_reason='contact' WHERE anchor='b'")
        db.execute("UPDATE objects SET in_scope=1 WHERE anchor='c'")
        assert (store.in_scope(), store.pending_work().synchronized) == (1, 1)
        store.record_delete("a")
        store.remove("c")
        assert (store.in_scope(), store.pending_work().synchronized) == (0, 1)
        assert store.integrity_check() == []
        db.execute("UPDATE tallies SET value=7 WHERE name='in_scope'")  # a count gone wrong is found
        assert store.integrity_check() == [
            "1 tallies (the counts of objects in scope and synchronized) that disagree with the objects"]


def test_a_store_from_a_newer_dirsync_is_refused_untouched(tmp_path):
    StateStore(tmp_path).close()
    db = sqlite3.connect(state_path(tmp_path))
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StateError, match="newer than this DirSync") as err:
        StateStore(tmp_path)
    assert "Upgrade DirSync" in err.value.fix


def test_a_damaged_file_gives_a_state_error_that_says_what_to_do(tmp_path):
    state_path(tmp_path).write_bytes(b"this is not a database" * 100)
    with pytest.raises(StateError) as err:
        StateStore(tmp_path)
    assert "restore it from a backup" in err.value.fix


def test_integrity_check_finds_a_cloud_object_claimed_by_two_anchors(tmp_path):
    with StateStore(tmp_path) as store:
        for anchor in ("a", "b"):
            store.db.execute("INSERT INTO objects(anchor, kind, dn, cloud_id, updated_at) "
                             "VALUES (?, 'user', ?, 'same-id', 'now')", (anchor, anchor))
        assert store.integrity_check() == ["1 cloud objects used by two anchors"]


def test_watermark_and_history_survive_reopening(tmp_path):
    with StateStore(tmp_path) as store:
        run = store.begin_run("full", "manual")
        store.end_run(run, mode="full", status="success", counts={"added": 3}, errors=[], skipped=[], message="")
        store.set_watermark("active-directory", "cookie-1")
    with StateStore(tmp_path) as store:
        assert store.watermark("active-directory") == "cookie-1"
        [entry] = [r.to_dict() for r in store.runs(last=1)]
        assert (entry["runId"], entry["status"], entry["counts"]) == (run, "success", {"added": 3})
