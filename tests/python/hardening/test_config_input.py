"""Configuration input: every setting refuses a bad value with a message naming the setting and what it
must be, in the file (ConfigurationError, file left alone) and through Set-CoexistenceConfiguration
(InvalidArgumentError, nothing saved). A save killed half-way never replaces the good file."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import typing

import pytest

from dirsync import config, secrets
from dirsync.errors import ConfigurationError, InvalidArgumentError

# One bad value per setting, and what the message must say it should be.
BAD = {
    "activeDirectory.server": ("ldaps://dc1.contoso.com:636", "host name or IP address alone"),
    "activeDirectory.port": (0, "between 1 and 65535"),
    "activeDirectory.transport": ("plain", "'ldaps' or 'starttls'"),
    "activeDirectory.caFile": (5, "a string or null"),
    "activeDirectory.verifyCertificate": ("no", "true or false"),
    "activeDirectory.baseDN": ("contoso.com", "not a distinguished name"),
    "activeDirectory.serviceAccount": (["MSOL_AD_SYNC"], "a string"),
    "tenant.tenantId": ("my tenant", "a GUID) or one of its domains"),
    "tenant.clientId": ("DirSync", "a GUID"),
    "tenant.authorityHost": ("http://login.microsoftonline.com", "https only"),
    "tenant.graphEndpoint": ("graph.microsoft.com", "a URL such as 'https://graph.microsoft.com'"),
    "tenant.credentialType": ("password", "'certificate' or 'secret'"),
    "tenant.certificateFile": (True, "a string or null"),
    "tenant.caFile": ([], "a string or null"),
    "tenant.proxy": ("proxy:8080", "a URL such as 'http://proxy.contoso.com:8080'"),
    "tenant.credentialExpiryWarningDays": (0, "between 1 and 365"),
    "sync.intervalMinutes": (29, "between 30 and 10080"),
    "sync.includeOUs": (["Staff"], "not a distinguished name"),
    "sync.excludeOUs": ("OU=Staff,DC=contoso,DC=com", "a list of strings"),
    "sync.exclusionAttribute": ("NoSync", "'attribute=value'"),
    "sync.stagingMode": (1, "true or false"),
    "sync.softMatch": ("yes", "true or false"),
    "preventAccidentalDeletes.enabled": ("on", "true or false"),
    "preventAccidentalDeletes.objectDeletionThreshold": (0, "between 1 and 1000000"),
    "preventAccidentalDeletes.objectDeletionPercentage": (101, "between 1 and 100"),
    "notifications.smtpServer": ("smtp://mail.contoso.com", "host name or IP address alone"),
    "notifications.smtpPort": (65536, "between 1 and 65535"),
    "notifications.smtpSecurity": ("none", "'starttls' or 'tls'"),
    "notifications.smtpUsername": (["mailer"], "a string"),
    "notifications.caFile": (1, "a string or null"),
    "notifications.sender": ("dirsync", "an e-mail address such as 'dirsync@contoso.com'"),
    "notifications.recipients": (["admin"], "not an e-mail address"),
    "notifications.failedRunsInARow": (1, "between 2 and 100"),
    "systemLog.enabled": ("yes", "true or false"),
    "systemLog.address": ("syslog.contoso.com:514", "'udp://host:port'"),
    "systemLog.facility": ("kern", "'user' or 'daemon'"),
    "exchangeHybrid": ("true", "true or false"),
    "installationId": ("MSOL_AD_SYNC", "12 hex digits"),
}


def leaf_settings(cls=config.Configuration, prefix="") -> list[str]:
    names = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        name = prefix + config.camel(f.name)
        if dataclasses.is_dataclass(hints[f.name]):
            names += leaf_settings(hints[f.name], name + ".")
        else:
            names.append(name)
    return names


def nested(setting: str, value) -> dict:
    section, _, key = setting.rpartition(".")
    return {section: {key: value}} if section else {setting: value}


def test_every_setting_has_a_bad_value_tested():
    assert sorted(BAD) == sorted(leaf_settings())


@pytest.mark.parametrize("setting", sorted(BAD))
def test_a_bad_value_in_the_file_names_the_setting_and_what_it_must_be(tmp_path, setting):
    value, must = BAD[setting]
    path = tmp_path / config.CONFIG_FILE_NAME
    text = json.dumps(nested(setting, value), indent=2)
    path.write_text(text)
    with pytest.raises(ConfigurationError) as caught:
        config.load(tmp_path)
    assert f"'{setting}'" in caught.value.message and must in caught.value.message
    assert str(path) in caught.value.message and caught.value.fix
    assert path.read_text() == text


@pytest.mark.parametrize("setting", sorted(BAD))
def test_a_bad_change_names_the_setting_and_saves_nothing(tmp_path, setting):
    good = config.save(config.Configuration(), tmp_path).read_bytes()
    value, must = BAD[setting]
    with pytest.raises(InvalidArgumentError) as caught:
        config.change(nested(setting, value), str(tmp_path))
    assert f"'{setting}'" in caught.value.message and must in caught.value.message
    assert (tmp_path / config.CONFIG_FILE_NAME).read_bytes() == good


@pytest.mark.parametrize("value", ["dc1", "dc1.contoso.com", "10.0.0.4", "fe80::1", "127.1.2.3"])
def test_good_servers_are_accepted(tmp_path, value):
    assert config.update(config.Configuration(), nested("activeDirectory.server", value))


def test_an_ou_with_escaped_specials_is_a_valid_dn():
    ous = ["OU=Sales\\, EMEA,DC=contoso,DC=com", "OU=R\\;D\\3D1,DC=contoso,DC=com", "OU=#1\\+2, DC=contoso, DC=com"]
    assert config.update(config.Configuration(), {"sync": {"includeOUs": ous}}).sync.include_ous == ous


# --- killed while saving ----------------------------------------------------------------------------

KILLED_SAVE = textwrap.dedent("""
    import os, sys
    from dirsync import config, secrets
    home = sys.argv[1]

    def stuck(fd):  # the new content is half on disk: the process is killed here
        print("saving", flush=True)
        sys.stdin.read()

    os.fsync = stuck
    if sys.argv[2] == "config":
        config.change({"sync": {"intervalMinutes": 60}}, home)
    else:
        secrets.store_secret(home, secrets.TENANT_CLIENT_SECRET, "new-secret-never-complete")
""")


@pytest.mark.parametrize("what", ["config", "secret"])
def test_a_save_killed_half_way_never_replaces_the_good_file(tmp_path, what):
    config.save(config.Configuration(), tmp_path)
    secrets.store_secret(tmp_path, secrets.TENANT_CLIENT_SECRET, "the-good-secret")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    with subprocess.Popen([sys.executable, "-c", KILLED_SAVE, str(tmp_path), what], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True, env=env) as child:
        assert child.stdout.readline() == "saving\n"
        child.send_signal(signal.SIGKILL)
    assert child.returncode == -signal.SIGKILL
    assert config.load(tmp_path).sync.interval_minutes == 180
    assert secrets.load_secret(tmp_path, secrets.TENANT_CLIENT_SECRET) == "the-good-secret"
