"""A DirSync home on a read-only file system, against the real lab: every writer — the configuration
(Set-CoexistenceConfiguration, `dirsync config set`), the schedule's interval, the secrets, the state of
a run — says which file it cannot write and how to fix it, never "a defect" or a traceback, and nothing
that was there is lost."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import dirsync as package
from dirsync import bridge, config, secrets

SOURCE = str(Path(package.__file__).parent.parent)


@pytest.fixture
def read_only_home(lab, tmp_path):
    """A copy of the lab's configured home, mounted read-only over itself."""
    home = tmp_path / "home"
    shutil.copytree(lab.home, home, ignore=shutil.ignore_patterns("dirsync-run.lock"))
    if subprocess.run(["mount", "--bind", str(home), str(home)]).returncode:
        pytest.skip("cannot bind-mount here (needs root)")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(home)], check=True)
        yield home
    finally:
        subprocess.run(["umount", "-l", str(home)], check=True)


def cmdlet(command: str, **arguments) -> dict:
    """What a cmdlet gets for `command`: the bridge's reply, as the PowerShell module polls it."""
    call = bridge.start(command, json.dumps(arguments))
    while not (reply := json.loads(bridge.poll(call, 1.0)))["done"]:
        pass
    return reply


def assert_names_the_file_and_the_fix(error: dict, home: Path) -> None:
    assert error["errorId"] == "DirSync.FolderNotWritable", error
    assert str(home) in error["message"] and "Read-only file system" in error["message"]
    assert "read-only file system" in error["fix"] and "defect" not in error["message"] + error["fix"]


def test_every_writer_names_the_file_and_the_fix_and_nothing_is_lost(read_only_home):
    home = read_only_home
    saved = config.config_path(home).read_bytes()

    env = {**os.environ, "DIRSYNC_HOME": str(home), "PYTHONPATH": SOURCE, "COLUMNS": "200"}
    shown = subprocess.run([sys.executable, "-m", "dirsync.cli", "config", "set", "--json", "--staging-mode", "on"],
                           capture_output=True, text=True, env=env, timeout=60)
    assert shown.returncode == 1 and "Traceback" not in shown.stderr, shown.stderr
    assert_names_the_file_and_the_fix(json.loads(shown.stdout)["error"], home)

    assert_names_the_file_and_the_fix(cmdlet("set-configuration", home=str(home), staging_mode=True)["error"], home)
    assert_names_the_file_and_the_fix(cmdlet("set-schedule", home=str(home), interval_minutes=60)["error"], home)
    assert_names_the_file_and_the_fix(cmdlet("start-sync", home=str(home))["error"], home)
    assert_names_the_file_and_the_fix(
        cmdlet(f"{secrets.__name__}:store_secret", home=str(home), name=secrets.TENANT_CLIENT_SECRET,
               value="new")["error"], home)

    assert config.config_path(home).read_bytes() == saved
    assert secrets.load_secret(home, secrets.TENANT_CLIENT_SECRET) != "new"
