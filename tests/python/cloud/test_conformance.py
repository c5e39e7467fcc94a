"""The request and response examples of the Microsoft Graph v1.0 documentation, sent to the local tenant.

Each step is a documented example (its page is the `doc` field): the request as the page writes it, with
the example's ids replaced by real ones; the check is the documented status, a JSON Content-Type where the
page shows a body, and the body's shape: every property of the documented response present, with a value
of the same JSON type (or null). Steps run in order and reuse the ids earlier steps created.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

GRAPH = "https://graph.microsoft.com/v1.0"
USER_SHAPE = {"@odata.context": "", "id": "", "businessPhones": [], "displayName": "", "givenName": None,
              "jobTitle": None, "mail": None, "mobilePhone": None, "officeLocation": None,
              "preferredLanguage": None, "surname": None, "userPrincipalName": ""}
GROUP_SHAPE = {"@odata.context": "", "id": "", "deletedDateTime": None, "classification": None,
               "createdDateTime": "", "description": "", "displayName": "", "groupTypes": [], "mail": None,
               "mailEnabled": False, "mailNickname": "", "onPremisesSyncEnabled": None, "proxyAddresses": [],
               "renewedDateTime": "", "securityEnabled": True, "securityIdentifier": None, "visibility": None}


@dataclass
class Example:
    doc: str
    method: str
    url: str
    status: int
    body: dict | None = None
    response: dict | None = None       # the documented response body (shape)
    headers: dict = field(default_factory=dict)
    save: str | None = None            # remember response["id"] under this name


def new_user(nick: str) -> dict:
    return {"accountEnabled": True, "displayName": nick, "mailNickname": nick,
            "userPrincipalName": f"{nick}@contoso.onmicrosoft.com",
            "passwordProfile": {"forceChangePasswordNextSignIn": True, "password": "xWwvJ]6NMw+bWH-d"}}


EXAMPLES = [
    Example("https://learn.microsoft.com/graph/api/organization-list", "GET", "/organization", 200, response={
        "@odata.context": "", "value": [{"id": "", "deletedDateTime": None, "businessPhones": [], "city": None,
                                         "country": None, "countryLetterCode": None, "createdDateTime": None,
                                         "displayName": "", "marketingNotificationEmails": [],
                                         "onPremisesLastSyncDateTime": None, "onPremisesSyncEnabled": None,
                                         "technicalNotificationMails": [], "verifiedDomains": [
                                             {"capabilities": "", "isDefault": True, "isInitial": True,
                                              "name": "", "type": ""}]}]}),
    Example("https://learn.microsoft.com/graph/api/user-post-users", "POST", "/users", 201, body={
        "accountEnabled": True, "displayName": "Adele Vance", "mailNickname": "AdeleV",
        "userPrincipalName": "AdeleV@contoso.onmicrosoft.com",
        "passwordProfile": {"forceChangePasswordNextSignIn": True, "password": "xWwvJ]6NMw+bWH-d"}},
        response=USER_SHAPE, save="user"),
    Example("https://learn.microsoft.com/graph/api/user-post-users", "POST", "/users", 201,
            body=new_user("MeganB"), response=USER_SHAPE, save="member"),
    Example("https://learn.microsoft.com/graph/api/user-post-users", "POST", "/users", 201,
            body=new_user("AlexW"), response=USER_SHAPE, save="manager"),
    Example("https://learn.microsoft.com/graph/api/user-get", "GET", "/users/{user}", 200, response=USER_SHAPE),
    Example("https://learn.microsoft.com/graph/api/user-get", "GET", "/users/AdeleV@contoso.onmicrosoft.com", 200,
            response=USER_SHAPE),
    Example("https://learn.microsoft.com/graph/api/user-list", "GET", "/users?$select=displayName,id", 200,
            response={"@odata.context": "", "value": [{"displayName": "", "id": ""}]}),
    Example("https://learn.microsoft.com/graph/api/user-list (advanced query, without $orderby)", "GET",
            "/users?$filter=startswith(displayName,'a')&$count=true&$top=1", 200,
            headers={"ConsistencyLevel": "eventual"},
            response={"@odata.context": "", "@odata.count": 1, "@odata.nextLink": "",
                      "value": [{"displayName": "", "id": ""}]}),
    Example("https://learn.microsoft.com/graph/api/user-update", "PATCH", "/users/{user}", 204, body={
        "businessPhones": ["+1 425 555 0109"], "officeLocation": "18/2111"}),
    Example("https://learn.microsoft.com/graph/api/group-post-groups (security group with owner and members)",
            "POST", "/groups", 201, body={
                "description": "Group with designated owner and members", "displayName": "Operations group",
                "groupTypes": [], "mailEnabled": False, "mailNickname": "operations2019", "securityEnabled": True,
                "owners@odata.bind": [f"{GRAPH}/users/{{manager}}"],
                "members@odata.bind": [f"{GRAPH}/users/{{member}}"]},
            response=GROUP_SHAPE, save="group"),
    Example("https://learn.microsoft.com/graph/api/group-post-members", "POST", "/groups/{group}/members/$ref",
            204, body={"@odata.id": f"{GRAPH}/directoryObjects/{{user}}"}),
    Example("https://learn.microsoft.com/graph/api/group-post-members (several in one request)", "PATCH",
            "/groups/{group}", 204, body={"members@odata.bind": [f"{GRAPH}/directoryObjects/{{manager}}"]}),
    Example("https://learn.microsoft.com/graph/api/group-list-members", "GET", "/groups/{group}/members", 200,
            response={"@odata.context": "", "value": [{"@odata.type": "", "id": "", "displayName": ""}]}),
    Example("https://learn.microsoft.com/graph/api/group-delete-members", "DELETE",
            "/groups/{group}/members/{manager}/$ref", 204),
    Example("https://learn.microsoft.com/graph/api/user-post-manager", "PUT", "/users/{user}/manager/$ref", 204,
            body={"@odata.id": f"{GRAPH}/users/{{manager}}"}),
    Example("https://learn.microsoft.com/graph/api/user-list-manager", "GET", "/users/{user}/manager", 200,
            response={"@odata.context": "", "@odata.type": "", "id": "", "displayName": ""}),
    Example("https://learn.microsoft.com/graph/api/user-delete-manager", "DELETE", "/users/{user}/manager/$ref", 204),
    Example("https://learn.microsoft.com/graph/api/user-delta", "GET", "/users/delta?$select=displayName,givenName,surname",
            200, response={"@odata.context": "", "value": [{"displayName": "", "givenName": None, "surname": None,
                                                             "id": ""}]}),
    Example("https://learn.microsoft.com/graph/api/application-post-extensionproperty", "POST",
            "/applications/{app}/extensionProperties", 201,
            body={"name": "jobGroup", "dataType": "String", "isMultiValued": True, "targetObjects": ["User"]},
            response={"@odata.context": "", "id": "", "deletedDateTime": None, "appDisplayName": "",
                      "dataType": "String", "isMultiValued": True, "isSyncedFromOnPremises": False, "name": "",
                      "targetObjects": ["User"]}),
    Example("https://learn.microsoft.com/graph/api/application-list-extensionproperty", "GET",
            "/applications/{app}/extensionProperties", 200,
            response={"@odata.context": "", "value": [{"id": "", "dataType": "", "name": "", "targetObjects": []}]}),
    Example("https://learn.microsoft.com/graph/api/user-delete", "DELETE", "/users/{member}", 204),
    Example("https://learn.microsoft.com/graph/api/directory-deleteditems-list", "GET",
            "/directory/deletedItems/microsoft.graph.user", 200,
            response={"@odata.context": "", "value": [{"id": "", "displayName": "", "deletedDateTime": ""}]}),
    Example("https://learn.microsoft.com/graph/api/directory-deleteditems-get", "GET",
            "/directory/deletedItems/{member}", 200,
            response={"@odata.context": "", "@odata.type": "#microsoft.graph.user", "id": "", "displayName": "",
                      "deletedDateTime": ""}),
    Example("https://learn.microsoft.com/graph/api/directory-deleteditems-restore", "POST",
            "/directory/deletedItems/{member}/restore", 200,
            response={"@odata.context": "", "@odata.type": "#microsoft.graph.user", "id": "", "displayName": ""}),
    Example("https://learn.microsoft.com/graph/api/user-delete", "DELETE", "/users/{member}", 204),
    Example("https://learn.microsoft.com/graph/api/directory-deleteditems-delete", "DELETE",
            "/directory/deletedItems/{member}", 204),
    Example("https://learn.microsoft.com/graph/json-batching", "POST", "/$batch", 200, body={"requests": [
        {"id": "1", "method": "GET", "url": "/users?$select=id,displayName,userPrincipalName&$top=2"},
        {"id": "2", "method": "DELETE", "url": "/groups/0e226165-c685-41ce-8bfc-df8360ab325d"},
        {"id": "3", "dependsOn": ["2"], "method": "GET", "url": "/groups/{group}"},
        {"id": "4", "url": "/users/{user}", "method": "PATCH", "body": {"city": "Redmond"},
         "headers": {"Content-Type": "application/json"}},
        {"id": "5", "method": "GET", "url": "users?$select=id,displayName&$filter=city eq 'Redmond'&$count=true",
         "headers": {"ConsistencyLevel": "eventual"}}]},
        response={"responses": [{"id": "", "status": 200, "headers": {}, "body": {}}]}),
    Example("https://learn.microsoft.com/graph/api/group-delete", "DELETE", "/groups/{group}", 204),
]


def same_shape(actual, documented, where: str = "body") -> list[str]:
    """Where `actual` lacks a documented property or holds another JSON type."""
    if documented is None or actual is None:
        return []
    if isinstance(documented, dict):
        if not isinstance(actual, dict):
            return [f"{where} is not an object"]
        return [p for key, value in documented.items()
                for p in ([f"{where}.{key} missing"] if key not in actual else same_shape(actual[key], value,
                                                                                          f"{where}.{key}"))]
    if isinstance(documented, list):
        if not isinstance(actual, list):
            return [f"{where} is not an array"]
        return [p for item in actual[:3] for p in same_shape(item, documented[0], f"{where}[]")] if documented else []
    kinds = {bool: (bool,), int: (int,), float: (int, float), str: (str,)}
    return [] if isinstance(actual, kinds[type(documented)]) and not (
        type(documented) is int and isinstance(actual, bool)) else [f"{where} has the wrong type"]


@pytest.fixture(scope="module")
def saved():
    """Ids created by earlier steps, by name."""
    return {}


def fill(text: str, saved: dict) -> str:
    for name, value in saved.items():
        text = text.replace("{" + name + "}", str(value))
    return text


def fill_body(body, saved: dict):
    if isinstance(body, dict):
        return {k: fill_body(v, saved) for k, v in body.items()}
    if isinstance(body, list):
        return [fill_body(v, saved) for v in body]
    return fill(body, saved) if isinstance(body, str) else body


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: f"{e.method} {e.url}")
def test_documented_example(example, graph, secret_app, tenant, saved):
    saved.setdefault("app", graph.get(f"{graph.base}/applications(appId='{secret_app.app_id}')").json()["id"])
    response = graph.request(example.method, graph.base + fill(example.url, saved),
                             json=fill_body(example.body, saved), headers=example.headers)
    assert response.status_code == example.status, f"{example.doc}: {response.text}"
    assert response.headers["request-id"]
    if example.response is None:
        assert response.content == b""
        return
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert same_shape(body, example.response) == [], example.doc
    if example.save:
        saved[example.save] = body["id"]
    if example.url == "/$batch":
        statuses = {r["id"]: r["status"] for r in body["responses"]}
        assert statuses == {"1": 200, "2": 404, "3": 424, "4": 204, "5": 200}
        redmond = next(r for r in body["responses"] if r["id"] == "5")["body"]
        assert redmond["@odata.count"] == 1 and redmond["value"][0]["id"] == saved["user"]
