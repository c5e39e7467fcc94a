"""Requests Graph refuses with 400, answered with the documented error body."""

from __future__ import annotations

import pytest

from .conftest import unique


def user_body(domain: str, **extra) -> dict:
    name = unique()
    return {"accountEnabled": True, "displayName": name, "mailNickname": name,
            "userPrincipalName": f"{name}@{domain}", "passwordProfile": {"password": "xWwvJ]6NMw+bWH-d"}, **extra}


def assert_error(response, status: int, code: str, message_part: str = "") -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert message_part in error["message"]
    assert set(error["innerError"]) >= {"date", "request-id", "client-request-id"}
    return error


def test_a_malformed_body(graph):
    response = graph.post(f"{graph.base}/users", data=b'{"displayName": ', headers={"Content-Type": "application/json"})
    assert_error(response, 400, "BadRequest", "Unable to read JSON request payload")


def test_an_unknown_property(graph, domain):
    response = graph.post(f"{graph.base}/users", json=user_body(domain, favouriteColour="blue"))
    assert_error(response, 400, "BadRequest", "The property 'favouriteColour' does not exist on type "
                                              "'microsoft.graph.user'")


def test_a_read_only_property(graph, domain):
    response = graph.post(f"{graph.base}/users", json=user_body(domain, onPremisesSyncEnabled=True))
    assert_error(response, 400, "Request_BadRequest", "read-only")


@pytest.mark.parametrize("top", ["1000", "0", "ten"])
def test_top_outside_1_to_999(graph, top):
    response = graph.get(f"{graph.base}/users", params={"$top": top})
    assert_error(response, 400, "Request_UnsupportedQuery", "Must be between 1 and 999")


def test_999_is_a_valid_page_size(graph):
    assert graph.get(f"{graph.base}/users", params={"$top": "999"}).status_code == 200


def batch_of(n: int, ids=None) -> dict:
    ids = ids or [str(i) for i in range(n)]
    return {"requests": [{"id": i, "method": "GET", "url": "/organization"} for i in ids]}


def test_a_batch_of_21(graph):
    assert_error(graph.post(f"{graph.base}/$batch", json=batch_of(21)), 400, "BadRequest", "Limit of 20")
    assert graph.post(f"{graph.base}/$batch", json=batch_of(20)).status_code == 200


def test_a_batch_with_duplicate_ids(graph):
    # Ids are not case-sensitive (https://learn.microsoft.com/graph/json-batching).
    response = graph.post(f"{graph.base}/$batch", json=batch_of(2, ids=["a", "A"]))
    assert_error(response, 400, "BadRequest", "has to be unique in a batch")


def test_a_batch_part_with_a_body_but_no_content_type(graph, domain):
    body = {"requests": [{"id": "1", "method": "POST", "url": "/users", "body": user_body(domain)}]}
    assert_error(graph.post(f"{graph.base}/$batch", json=body), 400, "BadRequest", "Content-Type")


def test_a_duplicate_user_principal_name_is_an_object_conflict(graph, domain):
    first = user_body(domain)
    assert graph.post(f"{graph.base}/users", json=first).status_code == 201
    again = {**user_body(domain), "userPrincipalName": first["userPrincipalName"].upper()}
    error = assert_error(graph.post(f"{graph.base}/users", json=again), 400, "Request_BadRequest",
                         "Another object with the same value for property userPrincipalName already exists.")
    assert error["details"] == [{"target": "userPrincipalName", "code": "ObjectConflict"}]


def test_a_duplicate_user_mail_nickname_is_accepted(graph, domain):
    # https://learn.microsoft.com/graph/api/resources/user : a user's mailNickname is not unique (issue 12)
    first = user_body(domain)
    assert graph.post(f"{graph.base}/users", json=first).status_code == 201
    again = graph.post(f"{graph.base}/users", json={**user_body(domain), "mailNickname": first["mailNickname"]})
    assert again.status_code == 201, again.text


def test_a_user_principal_name_outside_the_verified_domains(graph):
    response = graph.post(f"{graph.base}/users", json=user_body("example.org"))
    assert_error(response, 400, "Request_BadRequest", "verified domain names in your organization")


def test_a_weak_password(graph, domain):
    response = graph.post(f"{graph.base}/users", json=user_body(domain, passwordProfile={"password": "password"}))
    assert_error(response, 400, "Request_BadRequest", "password complexity")


def test_an_advanced_query_without_consistency_level(graph):
    response = graph.get(f"{graph.base}/users", params={"$filter": "endsWith(mail,'@contoso.com')"})
    assert_error(response, 400, "Request_UnsupportedQuery", "ConsistencyLevel")
    ok = graph.get(f"{graph.base}/users", params={"$filter": "endsWith(mail,'@contoso.com')", "$count": "true"},
                   headers={"ConsistencyLevel": "eventual"})
    assert ok.status_code == 200 and "@odata.count" in ok.json()


def test_an_unknown_segment(graph):
    assert_error(graph.get(f"{graph.base}/widgets"), 400, "BadRequest", "Resource not found for the segment")
