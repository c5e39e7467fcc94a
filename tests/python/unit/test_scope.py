"""Unit tests of dirsync.engine.scope: which objects DirSync synchronizes (no directory, no state)."""

import pytest

from dirsync.config import SyncSettings
from dirsync.engine.ports import SourceObject
from dirsync.engine.scope import Scope

DOMAIN = "DC=contoso,DC=com"


def person(dn: str, **attrs) -> SourceObject:
    values = {"samaccountname": ["ann"], **{k.lower(): [v] for k, v in attrs.items()}}
    return SourceObject(anchor="YW5u", kind="user", dn=dn, attrs=values)


def scope(**sync) -> Scope:
    return Scope.from_settings(SyncSettings(**sync))


def test_everything_of_the_domain_is_in_scope_by_default():
    assert scope().why_out(person(f"CN=Ann,OU=Staff,{DOMAIN}")) is None
    assert scope().why_out(person(f"CN=Ann,CN=Users,{DOMAIN}")) is None


def test_only_the_included_ous_when_some_are_listed():
    included = scope(include_ous=[f"OU=Staff,{DOMAIN}", f"OU=Contractors,{DOMAIN}"])
    assert included.why_out(person(f"CN=Ann,OU=Staff,{DOMAIN}")) is None
    assert included.why_out(person(f"CN=Bo,OU=IT,OU=Contractors,{DOMAIN}")) is None
    assert included.why_out(person(f"CN=Cy,OU=Sales,{DOMAIN}")) == "not under an included OU"


def test_an_excluded_ou_wins_inside_an_included_one_and_is_named():
    rules = scope(include_ous=[f"OU=Staff,{DOMAIN}"], exclude_ous=[f"OU=Leavers,OU=Staff,{DOMAIN}"])
    assert rules.why_out(person(f"CN=Ann,OU=Leavers,OU=Staff,{DOMAIN}")) == \
        "under the excluded OU ou=leavers,ou=staff,dc=contoso,dc=com"
    assert rules.why_out(person(f"CN=Bo,OU=Staff,{DOMAIN}")) is None


def test_ous_compare_as_the_directory_compares_them():
    rules = scope(exclude_ous=["ou=r\\;d, dc=CONTOSO, dc=com"])
    assert rules.why_out(person(f"CN=Ann,OU=R\\3BD,{DOMAIN}")) is not None
    # A name with an escaped comma is not under the OU it spells.
    assert scope(exclude_ous=[f"OU=Leavers,{DOMAIN}"]).why_out(person(f"CN=x\\,OU=Leavers,{DOMAIN}")) is None


@pytest.mark.parametrize("value, out", [("NoSync", True), (" nosync ", True), ("Sync", False)])
def test_the_exclusion_attribute_value_keeps_an_object_out_whatever_its_case(value, out):
    reason = scope().why_out(person(f"CN=Ann,{DOMAIN}", extensionAttribute15=value))
    assert reason == ("extensionattribute15=NoSync" if out else None)


def test_an_empty_exclusion_attribute_turns_the_exclusion_off():
    assert scope(exclusion_attribute="").why_out(person(f"CN=Ann,{DOMAIN}", extensionAttribute15="NoSync")) is None


@pytest.mark.parametrize("dn, attrs, reason", [
    (f"CN=Administrator,CN=Users,{DOMAIN}", {"isCriticalSystemObject": "TRUE"}, "a critical system object"),
    (f"CN=x,CN=System,{DOMAIN}", {}, "in a system container"),
    (f"CN=S-1-5-11,CN=ForeignSecurityPrincipals,{DOMAIN}", {}, "in a system container"),
    (f"CN=krbtgt,CN=Users,{DOMAIN}", {"sAMAccountName": "krbtgt"}, "a system account"),
    (f"CN=MSOL_AD_SYNC,CN=Users,{DOMAIN}", {"sAMAccountName": "MSOL_AD_SYNC"}, "a system account"),
    (f"CN=PC1,OU=Staff,{DOMAIN}", {"sAMAccountName": "PC1$"}, "a system account"),
])
def test_system_objects_never_sync_even_when_included(dn, attrs, reason):
    everything = scope(include_ous=[DOMAIN])
    assert everything.why_out(person(dn, **attrs)) == reason


def test_the_fingerprint_changes_with_the_scope_and_not_with_its_spelling():
    base = scope(include_ous=[f"OU=Staff,{DOMAIN}"])
    assert base.fingerprint() == scope(include_ous=["ou=staff, dc=contoso, dc=com"]).fingerprint()
    assert base.fingerprint() != scope(include_ous=[f"OU=Staff,{DOMAIN}"], exclude_ous=[f"OU=L,{DOMAIN}"]).fingerprint()
    assert base.fingerprint() != scope(include_ous=[f"OU=Staff,{DOMAIN}"], exclusion_attribute="").fingerprint()
    assert scope(include_ous=["OU=A,DC=x", "OU=B,DC=x"]).fingerprint() == \
        scope(include_ous=["OU=B,DC=x", "OU=A,DC=x"]).fingerprint()
