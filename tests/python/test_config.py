"""The configuration file: validation that names the file, the key or line and the fix; safe saves."""

import json
import re
import os
import stat

import pytest

from dirsync import config, secrets
from dirsync.errors import ConfigurationError, InvalidArgumentError, NotConfiguredError


def write(home, text):
    path = home / config.CONFIG_FILE_NAME
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_dirsyncs(tmp_path):
    write(tmp_path, "{}")
    loaded = config.load(tmp_path)
    assert loaded.sync.interval_minutes == 180  # every three hours
    assert loaded.prevent_accidental_deletes.enabled
    assert loaded.prevent_accidental_deletes.object_deletion_threshold == 500
    assert loaded.active_directory.verify_certificate


def test_no_configuration_tells_to_run_the_wizard(tmp_path):
    with pytest.raises(NotConfiguredError) as caught:
        config.load(tmp_path)
    assert str(tmp_path / "dirsync.json") in caught.value.message
    assert "Start-CoexistenceConfigurationWizard" in caught.value.fix


@pytest.mark.parametrize("text, expected", [
    ('{\n  "sync": {\n    "intervalMinutes": 60,\n  }\n}', r"line 4.*not valid JSON"),
    ('{\n  "sync": {\n    "intervalMinute": 60\n  }\n}', r"Unknown setting 'sync.intervalMinute'.*line 3"),
    ('{\n  "sync": {\n    "intervalMinutes": "60"\n  }\n}', r"'sync.intervalMinutes'.*whole number.*line 3"),
    ('{\n  "sync": {\n    "intervalMinutes": 5\n  }\n}', r"'sync.intervalMinutes'.*between 30 and.*line 3"),
    ('{"sync": {"includeOUs": ["Staff"]}}', r"'Staff' is not a distinguished name"),
    ('{"activeDirectory": {"transport": "plain"}}', r"'activeDirectory.transport'.*'ldaps' or 'starttls'"),
    ('{"sync": {"exclusionAttribute": "NoSync"}}', r"'attribute=value'"),
    ('{"tenant": 5}', r"'tenant'.*must be an object"),
    ('[1, 2]', r"must be an object"),
])
def test_bad_file_names_the_place_and_the_fix_and_is_left_alone(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigurationError) as caught:
        config.load(tmp_path)
    message = caught.value.message
    assert str(path) in message
    assert caught.value.fix

    assert re.search(expected, message, re.S), message
    assert path.read_text(encoding="utf-8") == text


def test_unknown_key_lists_the_valid_ones(tmp_path):
    write(tmp_path, '{"sync": {"stagingmode": true}}')
    with pytest.raises(ConfigurationError) as caught:
        config.load(tmp_path)
    assert "stagingMode" in caught.value.fix


def test_save_round_trips_and_is_private(tmp_path):
    changed = config.update(config.Configuration(), {"sync": {"intervalMinutes": 60, "includeOUs": ["OU=Staff,DC=contoso,DC=com"]}})
    path = config.save(changed, tmp_path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = config.load(tmp_path)
    assert again == changed
    assert json.loads(path.read_text())["sync"]["includeOUs"] == ["OU=Staff,DC=contoso,DC=com"]


def test_an_invalid_change_names_the_setting_and_changes_nothing(tmp_path):
    path = config.save(config.Configuration(), tmp_path)
    before = path.read_bytes()
    with pytest.raises(InvalidArgumentError) as caught:
        config.change({"preventAccidentalDeletes": {"objectDeletionThreshold": 0}}, str(tmp_path))
    assert "'preventAccidentalDeletes.objectDeletionThreshold' must be between 1 and" in caught.value.message
    assert "Nothing was changed" in caught.value.fix
    assert path.read_bytes() == before


@pytest.mark.parametrize("setting, value, expected", [
    ("notification_recipients", ["admin@contoso.com", "not an address"],
     "holds 'not an address', which is not an e-mail"),
    ("notification_sender", "dirsync", "'notifications.sender' must be an e-mail address"),
    ("smtp_server", "smtp://mail.contoso.com", "'notifications.smtpServer' must be the"),
    ("smtp_port", 70000, "'notifications.smtpPort' must be between 1 and 65535"),
    ("smtp_security", "none", "'notifications.smtpSecurity' is \"none\", but it must be 'starttls' or 'tls'"),
    ("system_log_address", "syslog.contoso.com:514",
     "must be empty (the system's own log), the path of a syslog socket"),
    ("system_log_facility", "local9", "'systemLog.facility' is \"local9\""),
])
def test_a_notification_or_system_log_setting_that_cannot_work_is_refused_by_name(tmp_path, setting, value,
                                                                                  expected):
    path = config.save(config.Configuration(), tmp_path)
    before = path.read_bytes()
    with pytest.raises(InvalidArgumentError) as caught:
        config.change_settings(str(tmp_path), **{setting: value})
    assert expected in caught.value.message
    assert path.read_bytes() == before


def test_an_smtp_password_goes_to_the_secrets_store_and_no_user_name_removes_it(tmp_path):
    config.save(config.Configuration(), tmp_path)
    with pytest.raises(InvalidArgumentError, match="without a user name"):
        config.change_settings(str(tmp_path), smtp_password="Pw-1")
    shown = config.change_settings(str(tmp_path), smtp_server="smtp.contoso.com", smtp_username="mailer",
                                   smtp_password="Pw-1", notification_sender="dirsync@contoso.com",
                                   notification_recipients=["admin@contoso.com", ""])
    assert shown["notifications"]["recipients"] == ["admin@contoso.com"] and "Pw-1" not in json.dumps(shown)
    assert secrets.load_secret(tmp_path, secrets.SMTP_PASSWORD) == "Pw-1"
    assert "Pw-1" not in config.config_path(tmp_path).read_text()
    config.change_settings(str(tmp_path), smtp_username="")
    assert not (tmp_path / "secrets" / secrets.SMTP_PASSWORD).exists()


def test_a_change_is_saved_and_shown(tmp_path):
    config.save(config.Configuration(), tmp_path)
    shown = config.change({"sync": {"stagingMode": True}}, str(tmp_path))
    assert shown["sync"]["stagingMode"] is True
    assert config.load(tmp_path).sync.staging_mode


def test_a_save_that_fails_half_way_keeps_the_good_file(tmp_path, monkeypatch):
    path = config.save(config.Configuration(), tmp_path)
    before = path.read_bytes()

    def disk_full(*args):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError):
        config.save(config.update(config.Configuration(), {"exchangeHybrid": True}), tmp_path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["dirsync.json"]  # no temporary file left behind


def test_home_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DIRSYNC_HOME", str(tmp_path))
    assert config.home() == tmp_path
    assert config.config_path() == tmp_path / "dirsync.json"
