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
