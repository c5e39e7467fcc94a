"""The tenant's rules as Microsoft documents them (issue 12, items 6 and 7): each refused request meets
the status and code Graph answers; what Graph allows (a shared user alias, $count without ConsistencyLevel,
a default $orderby) is allowed. Links: docs/local-tenant.md."""

from __future__ import annotations

import pytest

from .conftest import unique
from .test_bad_input import assert_error, user_body

LONG = {"employeeId": 16, "givenName": 64, "surname": 64, "department": 64, "companyName": 64,
        "jobTitle": 128, "city": 128, "state": 128, "country": 128, "postalCode": 40, "displayName": 256,
        "mailNickname": 64}


def create_user(graph, domain, **extra) -> dict:
    response = graph.post(f"{graph.base}/users", json=user_body(domain, **extra))
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.parametrize("prop,limit", LONG.items())
def test_a_user_property_longer_than_documented_is_refused(graph, domain, prop, limit):
    user = create_user(graph, domain)
    at_limit = graph.patch(f"{graph.base}/users/{user['id']}", json={prop: "x" * limit})
    assert at_limit.status_code == 204, at_limit.text
    error = assert_error(graph.patch(f"{graph.base}/users/{user['id']}", json={prop: "x" * (limit + 1)}),
                         400, "Request_BadRequest", f"Invalid value specified for property '{prop}'")
    assert error["details"] == [{"code": "InvalidValue", "target": prop}]


def test_an_extension_attribute_longer_than_1024_is_refused(graph, domain):
    user = create_user(graph, domain)
    url = f"{graph.base}/users/{user['id']}"
    ok = graph.patch(url, json={"onPremisesExtensionAttributes": {"extensionAttribute1": "x" * 1024}})
    assert ok.status_code == 204, ok.text
    assert_error(graph.patch(url, json={"onPremisesExtensionAttributes": {"extensionAttribute1": "x" * 1025}}),
                 400, "Request_BadRequest", "onPremisesExtensionAttributes")


@pytest.mark.parametrize("kind", ["users", "groups"])
def test_a_display_name_longer_than_256_is_refused_on_create(graph, domain, kind):
    body = (user_body(domain, displayName="d" * 257) if kind == "users" else
            {"displayName": "d" * 257, "mailNickname": unique("g"), "mailEnabled": False, "securityEnabled": True})
    assert_error(graph.post(f"{graph.base}/{kind}", json=body), 400, "Request_BadRequest", "displayName")


@pytest.mark.parametrize("value", ["abc$def", "abc_def", "abcé"])
def test_an_immutable_id_with_dollar_underscore_or_non_ascii_is_refused(graph, domain, value):
    assert_error(graph.post(f"{graph.base}/users", json=user_body(domain, onPremisesImmutableId=value)),
                 400, "Request_BadRequest", "onPremisesImmutableId")


def test_a_mail_with_accents_is_refused(graph, domain):
    assert_error(graph.post(f"{graph.base}/users", json=user_body(domain, mail="josé@contoso.com")),
                 400, "Request_BadRequest", "'mail'")


@pytest.mark.parametrize("prop", ["usageLocation", "displayName"])
def test_a_not_nullable_user_property_cannot_be_cleared(graph, domain, prop):
    user = create_user(graph, domain, usageLocation="GB")
    assert_error(graph.patch(f"{graph.base}/users/{user['id']}", json={prop: None}),
                 400, "Request_BadRequest", f"'{prop}'")


def test_a_group_display_name_cannot_be_cleared(graph):
    group = graph.post(f"{graph.base}/groups", json={"displayName": "g", "mailNickname": unique("g"),
                                                     "mailEnabled": False, "securityEnabled": True}).json()
    assert_error(graph.patch(f"{graph.base}/groups/{group['id']}", json={"displayName": None}),
                 400, "Request_BadRequest", "displayName")


def test_a_group_create_binds_at_most_20_relationships_owners_and_members_together(graph, domain):
    users = [create_user(graph, domain)["id"] for _ in range(21)]
    refs = [f"{graph.base}/directoryObjects/{u}" for u in users]
    body = {"displayName": "g", "mailNickname": unique("g"), "mailEnabled": False, "securityEnabled": True}
    assert_error(graph.post(f"{graph.base}/groups", json=body | {"members@odata.bind": refs[:15],
                                                                 "owners@odata.bind": refs[15:]}),
                 400, "Request_BadRequest", "at most 20")
    created = graph.post(f"{graph.base}/groups", json=body | {"members@odata.bind": refs[:15],
                                                              "owners@odata.bind": refs[15:20]})
    assert created.status_code == 201


@pytest.mark.parametrize("ref", ["{id}", "https://example.org/v1.0/directoryObjects/{id}",
                                 "{base}/directoryObjects/{id}/extra", "{base}/applications/{id}"])
def test_a_reference_that_is_not_a_directory_object_url_is_refused(graph, domain, ref):
    group = graph.post(f"{graph.base}/groups", json={"displayName": "g", "mailNickname": unique("g"),
                                                     "mailEnabled": False, "securityEnabled": True}).json()
    user = create_user(graph, domain)
    body = {"@odata.id": ref.format(id=user["id"], base=graph.base)}
    assert_error(graph.post(f"{graph.base}/groups/{group['id']}/members/$ref", json=body),
                 400, "BadRequest", "Invalid URL format specified in payload.")
    good = {"@odata.id": f"{graph.base}/directoryObjects/{user['id']}"}
    assert graph.post(f"{graph.base}/groups/{group['id']}/members/$ref", json=good).status_code == 204


def test_mail_sets_proxy_addresses_and_a_taken_address_is_an_object_conflict(graph, domain):
    mail = f"{unique('m')}@contoso.com"
    first = create_user(graph, domain, mail=mail)
    got = graph.get(f"{graph.base}/users/{first['id']}?$select=proxyAddresses").json()
    assert got["proxyAddresses"] == [f"SMTP:{mail}"]
    error = assert_error(graph.post(f"{graph.base}/users", json=user_body(domain, mail=mail.upper())),
                         400, "Request_BadRequest", "property proxyAddresses already exists")
    assert error["details"] == [{"target": "proxyAddresses", "code": "ObjectConflict"}]
    second = create_user(graph, domain)
    assert_error(graph.patch(f"{graph.base}/users/{second['id']}", json={"mail": mail}),
                 400, "Request_BadRequest", "proxyAddresses")


def test_a_password_reset_needs_a_directory_role_app_only(graph, domain):
    # https://learn.microsoft.com/graph/api/resources/user (passwordProfile): app-only needs the User
    # Administrator role as well as the permission; creating with a password needs no role.
    user = create_user(graph, domain)
    assert_error(graph.patch(f"{graph.base}/users/{user['id']}",
                             json={"passwordProfile": {"password": "Other-Pa55word!"}}),
                 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")


def test_a_user_mail_nickname_may_be_shared(graph, domain):
    first = create_user(graph, domain)
    create_user(graph, domain, mailNickname=first["userPrincipalName"].split("@")[0])


def test_count_without_consistency_level_is_ignored(graph, domain):
    create_user(graph, domain)
    response = graph.get(f"{graph.base}/users?$count=true&$top=1")
    assert response.status_code == 200, response.text
    assert "@odata.count" not in response.json()
    counted = graph.get(f"{graph.base}/users?$count=true&$top=1", headers={"ConsistencyLevel": "eventual"})
    assert counted.json()["@odata.count"] >= 1


@pytest.mark.parametrize("kind,prop", [("users", "displayName"), ("users", "userPrincipalName"),
                                       ("groups", "displayName")])
def test_orderby_is_a_default_query_on_documented_properties(graph, domain, kind, prop):
    for _ in range(3):
        if kind == "users":
            create_user(graph, domain)
        else:
            graph.post(f"{graph.base}/groups", json={"displayName": unique("g"), "mailNickname": unique("g"),
                                                     "mailEnabled": False, "securityEnabled": True})
    seen, url = [], f"{graph.base}/{kind}?$orderby={prop} desc&$top=2&$select={prop}"
    while url:
        page = graph.get(url)
        assert page.status_code == 200, page.text
        seen += [v[prop].lower() for v in page.json()["value"]]
        url = page.json().get("@odata.nextLink")
    assert seen == sorted(seen, reverse=True) and len(seen) >= 3


def test_orderby_on_other_properties_or_with_a_filter_needs_an_advanced_query(graph):
    assert_error(graph.get(f"{graph.base}/users?$orderby=jobTitle"), 400, "Request_UnsupportedQuery")
    assert_error(graph.get(f"{graph.base}/users?$orderby=displayName&$filter=accountEnabled eq true"),
                 400, "Request_UnsupportedQuery")
    advanced = graph.get(f"{graph.base}/users?$orderby=jobTitle&$count=true", headers={"ConsistencyLevel": "eventual"})
    assert advanced.status_code == 200, advanced.text


# --- protected objects (item 6) ------------------------------------------------------------------------

@pytest.mark.parametrize("change", [{"accountEnabled": False}, {"mobilePhone": "+1 555 0100"},
                                    {"userPrincipalName": "renamed-{n}@contoso.com"}, None])
def test_an_administrator_is_protected_from_user_readwrite_all(graph, tenant, domain, change):
    admin = create_user(graph, domain)
    tenant.assign_role(admin["id"], "Global Administrator")
    url = f"{graph.base}/users/{admin['id']}"
    if change is None:
        response = graph.delete(url)
    else:
        body = {k: v.format(n=unique()) if isinstance(v, str) else v for k, v in change.items()}
        response = graph.patch(url, json=body)
    assert_error(response, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
    # Not sensitive: still allowed (the sensitive-actions list)
    assert graph.patch(url, json={"jobTitle": "CEO"}).status_code == 204


def test_a_user_synced_by_entra_connect_refuses_on_premises_mastered_properties(graph, tenant, domain):
    user = create_user(graph, domain)
    tenant.mark_synced(user["id"])
    url = f"{graph.base}/users/{user['id']}"
    assert_error(graph.patch(url, json={"department": "Sales"}), 400, "Request_BadRequest",
                 "on-premises mastered Directory Sync objects")
    assert graph.patch(url, json={"usageLocation": "GB"}).status_code == 204  # cloud-mastered
    assert graph.get(f"{url}?$select=onPremisesSyncEnabled").json()["onPremisesSyncEnabled"] is True


def test_member_of_lists_a_users_directory_roles(graph, tenant, domain):
    user = create_user(graph, domain)
    tenant.assign_role(user["userPrincipalName"], "User Administrator")
    listed = graph.get(f"{graph.base}/users/{user['id']}/memberOf?$select=displayName")
    assert listed.status_code == 200, listed.text
    assert listed.json()["value"] == [{"@odata.type": "#microsoft.graph.directoryRole",
                                       "displayName": "User Administrator"}]
