"""The installation's MSOL_<id>: created with Replicating Directory Changes, usable for DirSync, kept on a
re-run, one per installation, and neither password shows in anything the set-up emits."""

from __future__ import annotations

import json

import ldap3
import pytest

from ad_helpers import settings_for
from dirsync import errors
from dirsync.ad.reader import REPLICATING_DIRECTORY_CHANGES, ActiveDirectorySource
from dirsync.ad.service_account import DONT_EXPIRE_PASSWORD, account_name, ensure_service_account
from dirsync.events import Events
from dirsync_lab.testdomain import ADMIN_USER, BASE_DN

pytestmark = pytest.mark.samba

INSTALLATION = "16fb75d0227d"
NAME = account_name(INSTALLATION)


def dacl_grants(domain, sid: bytes) -> bool:
    """Read the domain head's DACL with Samba's own NDR parser, independent of the code under test."""
    from samba.dcerpc import security
    from samba.ndr import ndr_unpack

    conn = domain.connect()
    conn.search(BASE_DN, "(objectClass=*)", ldap3.BASE, attributes=["nTSecurityDescriptor"])
    sd = ndr_unpack(security.descriptor, conn.response[0]["raw_attributes"]["nTSecurityDescriptor"][0])
    trustee = ndr_unpack(security.dom_sid, sid)
    return any(str(ace.trustee) == str(trustee) and ace.type == security.SEC_ACE_TYPE_ACCESS_ALLOWED_OBJECT
               and str(ace.object.type).lower() == REPLICATING_DIRECTORY_CHANGES
               and ace.access_mask & security.SEC_ADS_CONTROL_ACCESS for ace in sd.dacl.aces)


def account_entry(domain, name: str = NAME):
    conn = domain.connect()
    conn.search(BASE_DN, f"(sAMAccountName={name})",
                attributes=["objectGUID", "objectSid", "userAccountControl", "description"])
    entries = [e["raw_attributes"] for e in conn.response if e["type"] == "searchResEntry"]
    conn.unbind()
    return entries


def test_service_account_is_created_with_the_right_and_reads_with_dirsync(bare_domain):
    events = []
    account = ensure_service_account(settings_for(bare_domain), ADMIN_USER, bare_domain.admin_password,
                                     installation_id=INSTALLATION, events=Events(events.append))
    assert account.created and account.dn == f"CN={NAME},CN=Users,{BASE_DN}"
    [entry] = account_entry(bare_domain)
    assert int(entry["userAccountControl"][0]) & DONT_EXPIRE_PASSWORD
    assert dacl_grants(bare_domain, entry["objectSid"][0])
    assert len(account.password) >= 64

    source = ActiveDirectorySource(settings_for(bare_domain), account.user, account.password)
    full = source.full_import()
    list(full)
    delta = source.delta_import(full.watermark)
    assert delta.mode == "dirsync" and list(delta) == []

    # Neither password in anything the set-up emitted, nor in the account's repr.
    emitted = json.dumps(events) + repr(account)
    assert bare_domain.admin_password not in emitted and account.password not in emitted


def test_a_rerun_keeps_the_account_and_replaces_its_password(bare_domain):
    settings = settings_for(bare_domain)
    first = ensure_service_account(settings, ADMIN_USER, bare_domain.admin_password, installation_id=INSTALLATION)
    [before] = account_entry(bare_domain)
    second = ensure_service_account(settings, ADMIN_USER, bare_domain.admin_password, installation_id=INSTALLATION)
    [after] = account_entry(bare_domain)
    assert not second.created and before["objectGUID"] == after["objectGUID"]
    assert first.password != second.password
    with pytest.raises(errors.AuthenticationError):
        ActiveDirectorySource(settings, first.user, first.password).full_import()
    assert dacl_grants(bare_domain, after["objectSid"][0])


def test_wrong_admin_password_creates_nothing_and_says_which_server(bare_domain):
    with pytest.raises(errors.AuthenticationError) as caught:
        ensure_service_account(settings_for(bare_domain), ADMIN_USER, "not-the-password",
                               installation_id=INSTALLATION)
    assert bare_domain.address in caught.value.message and caught.value.fix
    assert "not-the-password" not in str(caught.value)
    assert account_entry(bare_domain) == []


def test_an_account_that_is_not_an_admin_gets_a_permission_error_naming_the_fix(bare_domain):
    conn = bare_domain.connect()
    conn.add(f"CN=Helpdesk,CN=Users,{BASE_DN}", "user",
             {"sAMAccountName": "helpdesk", "userPrincipalName": "helpdesk@dirsync.test",
              "unicodePwd": '"Hd-Passw0rd-91x"'.encode("utf-16-le"), "userAccountControl": 512})
    with pytest.raises(errors.PermissionDeniedError) as caught:
        ensure_service_account(settings_for(bare_domain), "helpdesk@dirsync.test", "Hd-Passw0rd-91x",
                               installation_id=INSTALLATION)
    assert bare_domain.address in caught.value.message and "Enterprise Admin" in caught.value.fix
    assert account_entry(bare_domain) == []


def test_two_installations_each_get_their_own_account_and_the_first_keeps_working(bare_domain):
    settings = settings_for(bare_domain)
    first = ensure_service_account(settings, ADMIN_USER, bare_domain.admin_password, installation_id=INSTALLATION,
                                   installed_at="server1:/srv/dirsync")
    second = ensure_service_account(settings, ADMIN_USER, bare_domain.admin_password,
                                    installation_id="0a1b2c3d4e5f", installed_at="server2:/srv/dirsync")
    assert second.created and second.user != first.user and len(account_name("0a1b2c3d4e5f")) <= 20
    for account in (first, second):  # the second set-up did not reset the first's password
        list(ActiveDirectorySource(settings, account.user, account.password).full_import())
    [entry] = account_entry(bare_domain)
    assert "server1:/srv/dirsync" in entry["description"][0].decode() and INSTALLATION in entry["description"][0].decode()
