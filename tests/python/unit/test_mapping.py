"""Unit tests of dirsync.engine.mapping: the attribute flow from Active Directory to Microsoft Graph."""

import pytest

from dirsync.engine import mapping
from dirsync.engine.mapping import Mapper
from dirsync.engine.ports import SourceObject

DOMAINS = ["contoso.com", "contoso.mail.onmicrosoft.com", "contoso.onmicrosoft.com"]


def user(**attrs) -> SourceObject:
    values = {"samaccountname": ["jane"], "useraccountcontrol": ["512"], **attrs}
    return SourceObject(anchor="amFuZQ==", kind="user", dn="CN=Jane,OU=Staff,DC=contoso,DC=com",
                        attrs={k.lower(): v if isinstance(v, list) else [v] for k, v in values.items()})


def group(members=(), **attrs) -> SourceObject:
    values = {"samaccountname": ["Sales"], "grouptype": [str(-2147483646)], **attrs}
    return SourceObject(anchor="c2FsZXM=", kind="group", dn="CN=Sales,OU=Groups,DC=contoso,DC=com",
                        attrs={k.lower(): v if isinstance(v, list) else [v] for k, v in values.items()},
                        members=frozenset(members))


mapper = Mapper(DOMAINS)


def test_the_initial_domain_is_the_onmicrosoft_one_not_the_mail_one():
    assert mapping.initial_domain(DOMAINS) == "contoso.onmicrosoft.com"
    assert mapping.initial_domain(["fabrikam.com"]) == "fabrikam.com"
    assert mapping.initial_domain([]) == ""


def test_a_user_flows_attribute_by_attribute():
    projection = mapper.project(user(displayName="Jane Doe", givenName="Jane", sn="Doe", mail="jane@contoso.com",
                                     userPrincipalName="jane.doe@contoso.com", title="Engineer", l="Lyon",
                                     telephoneNumber="+33 1 23", c="fr", extensionAttribute3="x",
                                     manager="Ym9zcw=="))
    p = projection.properties
    assert projection.kind == "user" and projection.error is None and projection.skip_reason is None
    assert p["displayName"] == "Jane Doe" and p["givenName"] == "Jane" and p["surname"] == "Doe"
    assert p["userPrincipalName"] == "jane.doe@contoso.com"
    assert p["mailNickname"] == "jane"
    assert p["accountEnabled"] is True
    assert p["jobTitle"] == "Engineer" and p["city"] == "Lyon"
    assert p["businessPhones"] == ["+33 1 23"]
    assert p["usageLocation"] == "FR"
    assert p["onPremisesImmutableId"] == "amFuZQ=="
    assert p["onPremisesExtensionAttributes"]["extensionAttribute3"] == "x"
    assert p["onPremisesExtensionAttributes"]["extensionAttribute15"] is None
    assert p["department"] is None
    assert projection.manager == "Ym9zcw=="


def test_a_disabled_account_is_disabled_in_the_cloud():
    assert mapper.project(user(userAccountControl="514")).properties["accountEnabled"] is False
    assert mapper.project(user(userAccountControl="not a number")).properties["accountEnabled"] is True


def test_display_name_and_usage_location_fall_back():
    p = mapper.project(user(cn="Jane C", msExchUsageLocation="de", c="fr")).properties
    assert p["displayName"] == "Jane C"
    assert p["usageLocation"] == "DE"
    assert mapper.project(user()).properties["displayName"] == "jane"
    assert mapper.project(user()).properties["usageLocation"] is None


@pytest.mark.parametrize("upn, expected", [
    ("jane@contoso.com", "jane@contoso.com"),                     # verified: kept
    ("jane@CONTOSO.COM", "jane@CONTOSO.COM"),                     # verified whatever the case
    ("jane@contoso.local", "jane@contoso.onmicrosoft.com"),       # not verified: the initial domain
    (None, "jane@contoso.onmicrosoft.com"),                       # none: sAMAccountName@initial domain
])
def test_the_upn_rule(upn, expected):
    obj = user(userPrincipalName=upn) if upn else user()
    assert mapper.user_principal_name(obj) == expected
    assert mapper.project(obj).properties["userPrincipalName"] == expected


def test_a_upn_with_characters_microsoft_365_refuses_is_an_error_with_its_fix():
    projection = mapper.project(user(userPrincipalName="jane doe@contoso.com"))
    reason, fix = projection.error
    assert "'jane doe@contoso.com'" in reason
    assert "Change the user's UPN" in fix


def test_the_mail_alias_is_cleaned_and_a_user_without_one_is_an_error():
    assert mapper.project(user(mailNickname="Jérôme.Dupont (IT)")).properties["mailNickname"] == "Jerome.DupontIT"
    projection = mapper.project(user(samaccountname="日本語", userPrincipalName="x@contoso.com"))
    assert projection.properties["mailNickname"] is None
    assert "no usable mail alias" in projection.error[0]


def test_a_value_that_is_not_utf8_is_reported_on_the_object_not_replaced():
    projection = mapper.project(user(displayName=b"Jane \xed\xa0\x80"))
    assert projection.properties == {}
    assert "displayname is not valid UTF-8" in projection.error[0]
    assert mapper.project(user(displayName="Jane".encode())).properties["displayName"] == "Jane"


def test_a_security_group_flows_with_its_members():
    projection = mapper.project(group(members={"amFuZQ==", "Ym9zcw=="}, description="Sales team"))
    assert projection.kind == "group" and projection.skip_reason is None
    assert projection.properties == {"displayName": "Sales", "description": "Sales team", "mailNickname": "Sales",
                                     "securityEnabled": True, "mailEnabled": False}
    assert projection.members == frozenset({"amFuZQ==", "Ym9zcw=="})


def test_a_group_alias_left_empty_by_cleaning_comes_from_the_anchor():
    alias = mapper.project(group(samaccountname="営業", mailNickname="(営業)")).properties["mailNickname"]
    assert alias == "group-" + mapping.value_hash("c2FsZXM=")[:12]


@pytest.mark.parametrize("obj, reason", [
    (group(grouptype="2"), mapping.SKIP_DISTRIBUTION),
    (group(mail="sales@contoso.com"), mapping.SKIP_MAIL_SECURITY),
    (group(proxyaddresses=["SMTP:sales@contoso.com"]), mapping.SKIP_MAIL_SECURITY),
    (SourceObject(anchor="Yw==", kind="contact", dn="CN=C,DC=contoso,DC=com"), mapping.SKIP_CONTACT),
])
def test_what_graph_cannot_write_is_skipped_with_the_reason(obj, reason):
    projection = mapper.project(obj)
    assert projection.skip_reason == reason
    assert projection.properties == {}


def test_the_fingerprint_changes_with_the_verified_domains_only():
    assert Mapper(DOMAINS).fingerprint() == Mapper(list(reversed(DOMAINS))).fingerprint()
    assert Mapper(DOMAINS).fingerprint() != Mapper(DOMAINS + ["fabrikam.com"]).fingerprint()


def test_value_hash_is_stable_and_ignores_key_order():
    assert mapping.value_hash({"a": 1, "b": [2]}) == mapping.value_hash({"b": [2], "a": 1})
    assert mapping.value_hash("x") != mapping.value_hash("y")
    assert len(mapping.value_hash("x")) == 16


@pytest.mark.parametrize("attr,prop,limit", [("employeeID", "employeeId", 16), ("givenName", "givenName", 64),
                                             ("title", "jobTitle", 128), ("postalCode", "postalCode", 40),
                                             ("displayName", "displayName", 256),
                                             ("extensionAttribute7", "extensionAttribute7", 1024)])
def test_a_value_longer_than_graph_accepts_is_reported_with_its_fix(attr, prop, limit):
    # https://learn.microsoft.com/graph/api/resources/user : a DC that does not enforce AD's ranges
    assert mapper.project(user(**{attr: "x" * limit})).error is None
    reason, fix = mapper.project(user(**{attr: "x" * (limit + 1)})).error
    assert f"Its {prop} is {limit + 1} characters long; Microsoft 365 accepts at most {limit}." == reason
    assert attr.lower() in fix and str(limit) in fix


@pytest.mark.parametrize("mail", ["josé@contoso.com", "no-at-sign", "jane@"])
def test_a_mail_graph_refuses_is_reported_with_its_fix(mail):
    reason, fix = mapper.project(user(mail=mail)).error
    assert mail in reason and "non-ASCII" in reason and "mail" in fix


def test_clearing_a_not_nullable_property_is_not_sent():
    assert mapper.project(user()).properties["usageLocation"] is None  # absent in AD
    assert {"usageLocation", "displayName"} == mapping.NOT_CLEARABLE
