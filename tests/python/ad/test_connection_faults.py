"""Faults give a specific error naming the server and the fix, and never the password."""

from __future__ import annotations

import pytest

from ad_helpers import READER_PASSWORD, add_plain_reader, settings_for
from dirsync import errors
from dirsync.ad.connection import LdapSettings, connect
from dirsync.ad.reader import dirsync_page
from dirsync.events import Events
from dirsync_lab.testdomain import ADMIN_USER, BASE_DN, _make_certificates, free_loopback_address

pytestmark = pytest.mark.samba


def assert_names_server_and_fix(error, server: str, password: str) -> None:
    assert server in error.message and error.fix and error.target == server.split(":")[0]
    assert password not in str(error) and password not in str(error.to_dict())


def test_unreachable_server(seeded_domain):
    address = free_loopback_address()  # nothing listens there
    with pytest.raises(errors.ServerUnreachableError) as caught:
        connect(LdapSettings(address, ca_file=seeded_domain.ca_file, timeout=3), ADMIN_USER,
                seeded_domain.admin_password)
    assert_names_server_and_fix(caught.value, f"{address}:636", seeded_domain.admin_password)
    assert "port 636" in caught.value.fix


def test_wrong_password(seeded_domain):
    with pytest.raises(errors.AuthenticationError) as caught:
        connect(settings_for(seeded_domain), ADMIN_USER, "Wrong-Passw0rd!")
    assert_names_server_and_fix(caught.value, seeded_domain.address, "Wrong-Passw0rd!")


def test_untrusted_certificate(seeded_domain, tmp_path):
    _make_certificates(tmp_path, "127.0.0.1", "other.example")  # a CA that did not sign the DC's certificate
    for settings in (LdapSettings(seeded_domain.address, ca_file=str(tmp_path / "ca.pem")),
                     LdapSettings(seeded_domain.address, ca_file=str(tmp_path / "ca.pem"), transport="starttls")):
        with pytest.raises(errors.CertificateError) as caught:
            connect(settings, ADMIN_USER, seeded_domain.admin_password)
        assert_names_server_and_fix(caught.value, seeded_domain.address, seeded_domain.admin_password)
        assert "CA file" in caught.value.fix


def test_the_system_trust_store_does_not_trust_the_test_ca(seeded_domain):
    with pytest.raises(errors.CertificateError):
        connect(LdapSettings(seeded_domain.address), ADMIN_USER, seeded_domain.admin_password)


def test_starttls_with_verification_works(seeded_domain):
    conn = connect(settings_for(seeded_domain, transport="starttls"), ADMIN_USER, seeded_domain.admin_password)
    assert conn.bound and conn.tls_started and conn.server.port == 389
    conn.unbind()


def test_plain_text_bind_is_refused():
    with pytest.raises(errors.InvalidArgumentError) as caught:
        connect(LdapSettings("dc.example", transport="none"), ADMIN_USER, "secret-pw")
    assert "in clear" in caught.value.message and "secret-pw" not in str(caught.value)


def test_verification_off_works_but_warns_at_every_connection(seeded_domain):
    events = []
    for _ in range(2):
        connect(LdapSettings(seeded_domain.address, verify=False), ADMIN_USER, seeded_domain.admin_password,
                Events(events.append)).unbind()
    warnings = [e for e in events if e["kind"] == "warning"]
    assert len(warnings) == 2 and seeded_domain.address in warnings[0]["message"]


def test_account_without_the_replication_right(fresh_domain):
    upn = add_plain_reader(fresh_domain)
    conn = connect(settings_for(fresh_domain), upn, READER_PASSWORD)
    with pytest.raises(errors.PermissionDeniedError) as caught:
        dirsync_page(conn, BASE_DN, None)
    assert_names_server_and_fix(caught.value, fresh_domain.address, READER_PASSWORD)
    assert "Replicating Directory Changes" in caught.value.fix
