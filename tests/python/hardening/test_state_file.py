"""A damaged state file, against the real lab: the run, the history and `dirsync` refuse it with an error
that says what is wrong, which file, and how to recover (never "a defect in DirSync"); the recovery the
error gives — remove the file and run a full synchronization — adopts every cloud object by its anchor
and creates nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dirsync as package
from dirsync import bridge
from dirsync.state.store import StateStore, state_path

SOURCE = str(Path(package.__file__).parent.parent)
PAGE = 4096


def damage(home: Path) -> None:
    """Garbage over every page of the file but the first (the header and the table of tables), as a bad
    disk sector or a half-restored copy leaves it."""
    with StateStore(home):  # opening and closing checkpoints the WAL into the file
        pass
    path = state_path(home)
    size = path.stat().st_size
    assert size > 4 * PAGE
    with open(path, "r+b") as out:
        out.seek(PAGE)
        out.write(bytes((i * 37 + 11) % 251 for i in range(size - PAGE)))


def cmdlet(command: str, **arguments) -> dict:
    """What a cmdlet gets for `command`: the bridge's reply, as the PowerShell module polls it."""
    call = bridge.start(command, json.dumps(arguments))
    while not (reply := json.loads(bridge.poll(call, 1.0)))["done"]:
        pass
    return reply


def assert_says_what_to_do(error: dict, home: Path) -> None:
    assert error["errorId"] == "DirSync.StateDamaged"
    assert str(state_path(home)) in error["message"] and "damaged" in error["message"]
    assert "defect" not in error["message"] + error["fix"]
    assert "restore it from a backup" in error["fix"] and "-FullSync" in error["fix"]


def test_a_damaged_state_file_is_refused_with_the_way_back_and_the_full_sync_adopts(lab):
    assert lab.sync()["status"] == "success"
    before = lab.users()
    damage(lab.home)

    assert_says_what_to_do(cmdlet("start-sync", home=str(lab.home))["error"], lab.home)
    # A run of one object skips the whole file's check, and is refused as soon as it reads a damaged page.
    assert_says_what_to_do(cmdlet("start-sync", objects=["jdoe"], home=str(lab.home))["error"], lab.home)
    assert_says_what_to_do(cmdlet("get-history", home=str(lab.home))["error"], lab.home)

    env = {**os.environ, "DIRSYNC_HOME": str(lab.home), "PYTHONPATH": SOURCE}
    shown = subprocess.run([sys.executable, "-m", "dirsync.cli", "history", "--json"], capture_output=True,
                           text=True, env=env, timeout=60)
    assert shown.returncode == 1 and "Traceback" not in shown.stderr
    assert_says_what_to_do(json.loads(shown.stdout)["error"], lab.home)

    # The way back the error gives: remove the file, synchronize in full.
    for suffix in ("", "-wal", "-shm"):
        Path(f"{state_path(lab.home)}{suffix}").unlink(missing_ok=True)
    recovered = lab.sync(full=True)
    assert recovered["status"] == "success", recovered["message"]
    assert recovered["counts"]["added"] == 0 and recovered["counts"]["deleted"] == 0
    assert lab.users().keys() == before.keys()  # the same cloud users, by anchor: adopted, not created again
    after = lab.sync()["counts"]
    assert (after["added"], after["updated"], after["deleted"]) == (0, 0, 0)
