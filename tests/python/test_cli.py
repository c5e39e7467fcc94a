"""The dirsync command line: the same core, rich output for people and --json for scripts."""

import json
import os
import subprocess
import sys
from pathlib import Path

import dirsync as package
from dirsync import config

SOURCE = str(Path(package.__file__).parent.parent)


def dirsync(*args, home):
    env = {**os.environ, "DIRSYNC_HOME": str(home), "COLUMNS": "200", "PYTHONPATH": SOURCE}
    return subprocess.run([sys.executable, "-m", "dirsync.cli", *args], capture_output=True, text=True, env=env)


def test_config_show_prints_the_settings(tmp_path):
    config.save(config.Configuration(), tmp_path)
    shown = dirsync("config", "show", home=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "sync.intervalMinutes" in shown.stdout and "180" in shown.stdout


def test_config_show_json_is_for_scripts(tmp_path):
    config.save(config.Configuration(), tmp_path)
    shown = dirsync("config", "show", "--json", home=tmp_path)
    data = json.loads(shown.stdout)
    assert data["path"] == str(tmp_path / "dirsync.json")
    assert data["preventAccidentalDeletes"] == {"enabled": True, "objectDeletionThreshold": 500,
                                                "objectDeletionPercentage": 10}


def test_no_configuration_exits_2_with_the_fix(tmp_path):
    shown = dirsync("config", "show", home=tmp_path)
    assert shown.returncode == 2
    assert "not configured" in shown.stderr and "Start-CoexistenceConfigurationWizard" in shown.stderr
    shown = dirsync("config", "show", "--json", home=tmp_path)
    assert json.loads(shown.stdout)["error"]["errorId"] == "DirSync.NotConfigured"
