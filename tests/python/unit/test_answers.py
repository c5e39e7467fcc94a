"""Unit tests of the one place that shapes the cmdlets' and the CLI's flat settings into the configuration:
config.changes_from_settings (Set-CoexistenceConfiguration, Set-PreventAccidentalDeletes, `dirsync config
set`) and wizard.sections (Start-CoexistenceConfigurationWizard, `dirsync configure`)."""

import pytest

from dirsync import config, wizard
from dirsync.errors import InvalidArgumentError


def test_each_setting_lands_in_its_section():
    assert config.changes_from_settings(
        include_ous=["OU=Staff,DC=x"], exclude_ous=[], exclusion_attribute="", staging_mode=True, soft_match=False,
        proxy="http://proxy:8080", exchange_hybrid=True, prevent_accidental_deletes=False,
        object_deletion_threshold=250) == {
        "sync": {"includeOUs": ["OU=Staff,DC=x"], "excludeOUs": [], "exclusionAttribute": "",
                 "stagingMode": True, "softMatch": False},
        "tenant": {"proxy": "http://proxy:8080"},
        "exchangeHybrid": True,
        "preventAccidentalDeletes": {"enabled": False, "objectDeletionThreshold": 250},
    }


def test_a_setting_left_out_or_none_is_not_changed():
    assert config.changes_from_settings(staging_mode=True, soft_match=None) == {"sync": {"stagingMode": True}}


def test_an_empty_proxy_means_none_and_an_empty_ou_means_the_whole_domain():
    assert config.changes_from_settings(proxy="") == {"tenant": {"proxy": None}}
    assert config.changes_from_settings(include_ous=[""]) == {"sync": {"includeOUs": []}}


def test_no_setting_and_an_unknown_setting_are_refused_by_name():
    with pytest.raises(InvalidArgumentError, match="No setting was given"):
        config.changes_from_settings(proxy=None)
    with pytest.raises(InvalidArgumentError, match="There is no setting 'interval'") as refused:
        config.changes_from_settings(interval=5)
    assert "include_ous" in refused.value.fix


def test_the_shaped_change_is_a_valid_configuration_change():
    changes = config.changes_from_settings(exclude_ous=["OU=Leavers,DC=x"], object_deletion_threshold=9)
    changed = config.update(config.Configuration(), changes)
    assert changed.sync.exclude_ous == ["OU=Leavers,DC=x"]
    assert changed.prevent_accidental_deletes.object_deletion_threshold == 9


def test_the_wizard_answers_become_the_tenant_and_directory_sections():
    assert wizard.sections(tenant_id="contoso.onmicrosoft.com", client_id="c1", certificate_file="/k/app.pem",
                           authority_host="https://login.test", tenant_ca_file="/k/ca.pem",
                           domain_controller="dc1.contoso.com", port=389, transport="starttls",
                           domain_controller_ca_file="/k/dc-ca.pem") == {
        "tenant": {"tenantId": "contoso.onmicrosoft.com", "clientId": "c1", "authorityHost": "https://login.test",
                   "caFile": "/k/ca.pem", "certificateFile": "/k/app.pem", "credentialType": "certificate"},
        "active_directory": {"server": "dc1.contoso.com", "port": 389, "transport": "starttls",
                             "caFile": "/k/dc-ca.pem"},
    }


def test_answers_not_given_keep_their_current_values():
    # PowerShell sends its unset parameters as '' and 0.
    shaped = wizard.sections(tenant_id="t.onmicrosoft.com", client_id="", graph_endpoint=None, certificate_file="",
                             domain_controller="dc1", port=0, transport="")
    assert shaped == {"tenant": {"tenantId": "t.onmicrosoft.com", "credentialType": "secret"},
                      "active_directory": {"server": "dc1"}}


def test_a_client_secret_wins_over_a_certificate():
    assert wizard.sections(certificate_file="/k/app.pem", client_secret="s")["tenant"] == {"credentialType": "secret"}
    assert wizard.sections(certificate_file="/k/app.pem")["tenant"]["credentialType"] == "certificate"
