"""The secrets store: DirSync's own secrets, readable only by the account that runs it."""

import os
import stat

import pytest

from dirsync import secrets
from dirsync.errors import ConfigurationError, NotConfiguredError


def test_a_secret_is_kept_apart_and_private(tmp_path):
    secrets.store_secret(tmp_path, secrets.AD_SERVICE_ACCOUNT_PASSWORD, "S3cret-Value!")
    assert secrets.load_secret(tmp_path, secrets.AD_SERVICE_ACCOUNT_PASSWORD) == "S3cret-Value!"
    folder = tmp_path / "secrets"
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    for entry in folder.iterdir():
        assert stat.S_IMODE(os.stat(entry).st_mode) == 0o600
    assert not (tmp_path / "dirsync.json").exists()


def test_replacing_a_secret_leaves_no_temporary_copy(tmp_path):
    secrets.store_secret(tmp_path, secrets.TENANT_CLIENT_SECRET, "first")
    secrets.store_secret(tmp_path, secrets.TENANT_CLIENT_SECRET, "second")
    assert secrets.load_secret(tmp_path, secrets.TENANT_CLIENT_SECRET) == "second"
    assert [p.name for p in (tmp_path / "secrets").iterdir()] == [secrets.TENANT_CLIENT_SECRET]


def test_a_missing_secret_says_how_to_store_it_again(tmp_path):
    with pytest.raises(NotConfiguredError) as caught:
        secrets.load_secret(tmp_path, secrets.TENANT_CLIENT_SECRET)
    assert "Start-CoexistenceConfigurationWizard" in caught.value.fix


def test_a_secret_readable_by_others_is_refused(tmp_path):
    secrets.store_secret(tmp_path, secrets.TENANT_CLIENT_SECRET, "value")
    path = tmp_path / "secrets" / secrets.TENANT_CLIENT_SECRET
    os.chmod(path, 0o644)
    with pytest.raises(ConfigurationError) as caught:
        secrets.load_secret(tmp_path, secrets.TENANT_CLIENT_SECRET)
    assert "chmod 600" in caught.value.fix
    assert "value" not in str(caught.value)
