"""The configuration wizard's core against the demo lab: each fault is a specific error naming the server
and the fix, and a wizard that failed wrote nothing — no configuration, no secret."""

from __future__ import annotations

import ldap3
import pytest

from dirsync import config, schedule, secrets, wizard
from dirsync.errors import (AuthenticationError, CertificateError, NotConfiguredError, PermissionDeniedError,
                            ServerUnreachableError)


@pytest.fixture(scope="module")
def lab(demo_lab):
    return demo_lab[1]


@pytest.fixture(scope="module")
def lab_folder(demo_lab):
    return demo_lab[0]


def answers(facts: dict, **ad_changes) -> dict:
    t, ad = facts["tenant"], facts["activeDirectory"]
    return dict(tenant={k: t[k] for k in ("tenantId", "clientId", "authorityHost", "graphEndpoint", "caFile",
                                          "certificateFile")} | {"credentialType": "certificate"},
                active_directory={"server": ad["server"], "caFile": ad["caFile"]} | ad_changes,
                admin_user=ad["adminUser"], admin_password=ad["adminPassword"],
                certificate_key_file=t["certificateKeyFile"], sync_now=False)


def assert_nothing_written(home):
    assert not (home / "dirsync.json").exists()
    assert not (home / "secrets").exists() or not any((home / "secrets").iterdir())
    with pytest.raises(NotConfiguredError):
        config.load(home)


@pytest.mark.parametrize("case, change, error, says", [
    ("an unreachable domain controller", {"server": "127.0.0.9"}, ServerUnreachableError, "127.0.0.9"),
    ("an untrusted certificate", {"caFile": None}, CertificateError, "certificate"),
])
def test_a_domain_controller_fault_names_the_server_and_writes_nothing(lab, tmp_path, case, change, error, says):
    with pytest.raises(error) as caught:
        wizard.configure(**answers(lab, **change), home=str(tmp_path))
    assert says in caught.value.message and caught.value.fix
    assert lab["activeDirectory"]["adminPassword"] not in str(caught.value)
    assert_nothing_written(tmp_path)


def test_a_wrong_admin_password_names_the_server_and_writes_nothing(lab, tmp_path):
    given = answers(lab) | {"admin_password": "not-the-password"}
    with pytest.raises(AuthenticationError) as caught:
        wizard.configure(**given, home=str(tmp_path))
    assert lab["activeDirectory"]["server"] in caught.value.message and caught.value.fix
    assert_nothing_written(tmp_path)


def test_an_account_that_is_not_an_enterprise_admin_cannot_create_the_service_account_and_writes_nothing(
        lab, lab_folder, tmp_path):
    from dirsync_lab.testdomain import SambaDomain
    password = "Helpdesk-Passw0rd-42"
    admin = SambaDomain(lab_folder / "dc").connect(lab["activeDirectory"]["adminUser"],
                                                   lab["activeDirectory"]["adminPassword"])
    admin.search("DC=dirsync,DC=test", "(sAMAccountName=jmuller)")
    admin.modify(admin.response[0]["dn"],
                 {"unicodePwd": [(ldap3.MODIFY_REPLACE, [f'"{password}"'.encode("utf-16-le")])]})
    admin.unbind()
    given = answers(lab) | {"admin_user": "jmuller@dirsync.test", "admin_password": password}
    with pytest.raises(PermissionDeniedError) as caught:
        wizard.configure(**given, home=str(tmp_path))
    assert lab["activeDirectory"]["server"] in caught.value.message and "MSOL_" in caught.value.message
    assert "Enterprise Admin" in caught.value.fix
    assert password not in str(caught.value)
    assert_nothing_written(tmp_path)


def test_a_wrong_tenant_credential_is_refused_before_active_directory_is_touched(lab, tmp_path):
    given = answers(lab)
    given["tenant"] = given["tenant"] | {"clientId": lab["reader"]["clientId"]}  # not the certificate's app
    with pytest.raises(AuthenticationError):
        wizard.configure(**given, home=str(tmp_path))
    assert_nothing_written(tmp_path)


def test_a_successful_wizard_keeps_only_dirsyncs_own_secrets(lab, tmp_path):
    result = wizard.configure(**answers(lab), home=str(tmp_path))
    try:
        assert result["serviceAccount"]["user"] == f"MSOL_{result['configuration']['installationId']}@dirsync.test"
        assert sorted(p.name for p in (tmp_path / "secrets").iterdir()) == sorted(
            [secrets.AD_SERVICE_ACCOUNT_PASSWORD, secrets.TENANT_CERTIFICATE_KEY])
        admin_password = lab["activeDirectory"]["adminPassword"].encode()
        assert all(admin_password not in p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    finally:
        schedule.change(enabled=False, home=str(tmp_path))


def service_account_binds(home) -> bool:
    """Whether the home's stored service account still signs in to AD (an import connects at once)."""
    from dirsync import service
    from dirsync.events import Events
    source = service.build_source(config.load(home), home, Events())
    try:
        source.full_import()
    except AuthenticationError:
        return False
    return True


def test_a_wizard_in_a_second_home_makes_its_own_account_and_the_first_keeps_working(lab, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    try:
        one = wizard.configure(**answers(lab), home=str(first))
        two = wizard.configure(**answers(lab), home=str(second))
        assert service_account_binds(first) and service_account_binds(second)
        assert one["serviceAccount"]["user"] != two["serviceAccount"]["user"]
        for result in (one, two):
            installation = result["configuration"]["installationId"]
            assert result["serviceAccount"]["user"] == f"MSOL_{installation}@dirsync.test"
            assert len(f"MSOL_{installation}") <= 20  # sAMAccountName's limit
        # Re-running in the same home keeps that home's account (its password reset), not a new one.
        again = wizard.configure(**answers(lab), home=str(first))
        assert again["serviceAccount"] == {**one["serviceAccount"], "created": False}
        assert service_account_binds(first) and service_account_binds(second)
    finally:
        for home in (first, second):
            schedule.change(enabled=False, home=str(home))


def test_a_wrong_service_account_password_at_run_time_says_to_re_run_the_wizard(lab, tmp_path):
    from dirsync import service
    try:
        wizard.configure(**answers(lab), home=str(tmp_path))
        secrets.store_secret(tmp_path, secrets.AD_SERVICE_ACCOUNT_PASSWORD, "no-longer-the-password")
        run = service.start_sync(preview=True, home=tmp_path)
        assert run.status != "success"
        assert "wizard" in run.message and "Start-CoexistenceConfigurationWizard" in run.message
        assert "no-longer-the-password" not in run.message
    finally:
        schedule.change(enabled=False, home=str(tmp_path))
