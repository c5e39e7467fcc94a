"""Helpers of the ad/ tests (imported by the test modules; the fixtures are in conftest.py)."""

from __future__ import annotations

import ldap3

from dirsync.ad.connection import LdapSettings
from dirsync.ad.reader import ActiveDirectorySource, guid_anchor
from dirsync_lab.testdomain import ADMIN_USER, SambaDomain

READER_PASSWORD = "Rdr-Passw0rd-7f3a9c"  # a test-only account of the test domain


def settings_for(domain: SambaDomain, **overrides) -> LdapSettings:
    return LdapSettings(domain.address, ca_file=domain.ca_file, **overrides)


def admin_source(domain: SambaDomain, events=None) -> ActiveDirectorySource:
    return ActiveDirectorySource(settings_for(domain), ADMIN_USER, domain.admin_password, events=events)


def add_plain_reader(domain: SambaDomain) -> str:
    """An ordinary enabled user without Replicating Directory Changes; returns its UPN."""
    conn = domain.connect()
    dn = f"CN=Plain Reader,CN=Users,{domain.facts()['base_dn']}"
    conn.add(dn, "user", {"sAMAccountName": "plainreader", "userPrincipalName": "plainreader@dirsync.test",
                          "unicodePwd": f'"{READER_PASSWORD}"'.encode("utf-16-le"), "userAccountControl": 512})
    conn.unbind()
    return "plainreader@dirsync.test"


def anchor_of(domain: SambaDomain, dn: str) -> str:
    conn = domain.connect()
    conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["objectGUID"])
    anchor = guid_anchor(conn.response[0]["raw_attributes"]["objectGUID"][0])
    conn.unbind()
    return anchor
