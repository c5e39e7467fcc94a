"""Graph permissions: the tenant refuses every call the token's permissions do not allow (as Graph does,
from each call's documented permission table), and DirSync names the permission it lacks and how to grant
it, in the wizard, in a run and for a 403 mid-run."""

from __future__ import annotations

import re
import uuid

import pytest

from dirsync import config, secrets, service, wizard
from dirsync.cloud.graph import GraphClient
from dirsync.cloud.permissions import REQUIRED_APP_PERMISSIONS, denied_error, missing_permissions, permission_for
from dirsync.cloud.writer import GraphTarget
from dirsync.config import ActiveDirectorySettings, Configuration
from dirsync.engine.ports import CloudOp
from dirsync.errors import PermissionDeniedError
from dirsync.vocabulary import CloudAction, RunStatus
from dirsync_lab.tenant import DIRSYNC_PERMISSIONS
from dirsync_lab.tenant.permissions import GRAPH_APP_ROLES, OWNED_BY, TABLE, names_in

from .conftest import FAST, http_session, msal_app, unique


def token_of(tenant, app) -> str:
    return msal_app(tenant, app.app_id, app.secret).acquire_token_for_client(
        [f"{tenant.graph_endpoint}/.default"])["access_token"]


@pytest.fixture
def objects(tenant, graph, domain):
    """One user, one group and a deleted user and group, for the table's {id} placeholders."""
    def post(path, body):
        response = graph.post(f"{graph.base}/{path}", json=body)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def user():
        name = unique("perm")
        return post("users", {"accountEnabled": True, "displayName": name, "mailNickname": name,
                              "userPrincipalName": f"{name}@{domain}",
                              "passwordProfile": {"password": "Pa55-" + uuid.uuid4().hex}})

    def group():
        name = unique("permg")
        return post("groups", {"displayName": name, "mailNickname": name, "mailEnabled": False,
                               "securityEnabled": True})
    ids = {"user": user(), "group": group(), "deleted_user": user(), "deleted_group": group()}
    for kind in ("user", "group"):
        assert graph.delete(f"{graph.base}/{kind}s/{ids['deleted_' + kind]}").status_code == 204
    return ids


def example_path(rule, ids: dict, app_id: str, kind: str = "user") -> str:
    """A concrete path for a table row: its patterns filled with existing objects."""
    path = rule.pattern.replace("(?:\\(\\))?", "").replace("\\$", "$").replace("\\.", ".")
    app = f"applications(appId='{app_id}')"
    path = re.sub(r"applications\(\?:.*?\)\)", app, path)
    path = re.sub(r"servicePrincipals\(\?:.*?\)\)", f"servicePrincipals(appId='{app_id}')", path)
    path = path.replace("owners/[^/]+", f"owners/{uuid.uuid4()}")
    path = path.replace("appRoleAssignedTo/[^/]+", "appRoleAssignedTo/x")
    path = path.replace("(?P<oid>[^/()]+)", ids["deleted_" + kind])
    path = path.replace("users/[^/()]+", f"users/{ids['user']}").replace("groups/[^/()]+", f"groups/{ids['group']}")
    path = path.replace("members/[^/]+", f"members/{ids['user']}")
    path = path.replace("extensionProperties/[^/]+", f"extensionProperties/{uuid.uuid4()}")
    return path.replace("(?:microsoft.graph.)?", "")


ROWS = [(rule, kind) for rule in TABLE for kind in (rule.by_kind or {None: None})]


@pytest.mark.parametrize("rule,kind", ROWS, ids=[f"{r.method} {r.pattern} {k or ''}".strip() for r, k in ROWS])
def test_a_call_without_any_permission_its_page_accepts_gets_403(tenant, objects, secret_app, rule, kind):
    accepted = rule.by_kind[kind] if kind else rule.accepted
    others = [p for p in GRAPH_APP_ROLES if p not in names_in(accepted)]
    app = tenant.register_app("Lacks one call's permissions", secret=True, permissions=others)
    # addKey/removeKey need no permission on the caller's own registration: address another app's.
    path = example_path(rule, objects, secret_app.app_id if rule.self_service else app.app_id, kind or "user")
    session = http_session(tenant)
    session.headers["Authorization"] = f"Bearer {token_of(tenant, app)}"
    body = {} if rule.method in ("POST", "PATCH", "PUT") else None
    response = session.request(rule.method, f"{tenant.url}/v1.0/{path}", json=body)
    if rule.delegated_only:  # /me: Graph's 400 for an app-only token
        assert response.status_code == 400 and "delegated authentication flow" in response.text
        return
    assert response.status_code == 403, f"{rule.page}: {path}: {response.text}"
    assert response.json()["error"]["code"] == "Authorization_RequestDenied"
    assert response.json()["error"]["message"] == "Insufficient privileges to complete the operation."
    # In $batch each part is checked on its own: the refused call fails, the allowed one does not.
    allowed = "/users" if rule.page == "organization-list" else "/organization"
    parts = [{"id": "1", "method": rule.method, "url": f"/{path}"}, {"id": "2", "method": "GET", "url": allowed}]
    if body is not None:
        parts[0].update(body=body, headers={"Content-Type": "application/json"})
    answers = {a["id"]: a for a in session.post(f"{tenant.url}/v1.0/$batch", json={"requests": parts}).json()[
        "responses"]}
    session.close()
    assert answers["1"]["status"] == 403 and answers["1"]["body"]["error"]["code"] == "Authorization_RequestDenied"
    assert answers["2"]["status"] == 200


def test_the_token_carries_exactly_the_granted_permissions(tenant):
    app = tenant.register_app("Two permissions", secret=True, permissions=["User.Read.All", "Group.Read.All"])
    assert missing_permissions(token_of(tenant, app)) == [
        p.name for p in REQUIRED_APP_PERMISSIONS if p.name not in ("User.Read.All", "Group.Read.All")]
    nothing = tenant.register_app("No permissions", secret=True)
    session = http_session(tenant)
    session.headers["Authorization"] = f"Bearer {token_of(tenant, nothing)}"
    assert session.get(f"{tenant.url}/v1.0/organization").status_code == 403
    session.close()


def test_owned_by_covers_only_the_apps_the_caller_owns(tenant, secret_app):
    app = tenant.register_app("Owner of itself", secret=True, permissions=[OWNED_BY])
    session = http_session(tenant)
    session.headers["Authorization"] = f"Bearer {token_of(tenant, app)}"
    definition = {"name": "perm" + uuid.uuid4().hex[:8], "dataType": "String", "targetObjects": ["Group"]}
    own = session.post(f"{tenant.url}/v1.0/applications(appId='{app.app_id}')/extensionProperties", json=definition)
    assert own.status_code == 201, own.text
    other = session.post(f"{tenant.url}/v1.0/applications(appId='{secret_app.app_id}')/extensionProperties",
                         json=definition)
    assert other.status_code == 403 and other.json()["error"]["code"] == "Authorization_RequestDenied"
    session.close()


# --- DirSync: the one list, checked before anything is written ------------------------------------------
LACKING = [p.name for p in REQUIRED_APP_PERMISSIONS]


def lacking_app(tenant, missing: str):
    return tenant.register_app(f"Lacks {missing}", secret=True,
                               permissions=[p for p in DIRSYNC_PERMISSIONS if p != missing])


def assert_names(err: PermissionDeniedError, missing: str) -> None:
    assert missing in err.message
    assert [p for p in LACKING if p in err.message] == [missing]
    assert "Application permissions" in err.fix and "Grant admin consent" in err.fix
    assert ("owner of the app registration" in err.fix) == (missing == OWNED_BY)


@pytest.mark.parametrize("missing", LACKING)
def test_the_wizard_names_a_missing_permission_before_writing_anything(tenant, tmp_path, missing):
    app = lacking_app(tenant, missing)
    with pytest.raises(PermissionDeniedError) as raised:
        wizard.configure(tenant={"tenantId": tenant.tenant_id, "clientId": app.app_id, "authorityHost": tenant.url,
                                 "graphEndpoint": tenant.graph_endpoint, "credentialType": "secret",
                                 "caFile": str(tenant.ca_file)},
                         active_directory={"server": "dc.invalid"}, admin_user="admin", admin_password="unused",
                         client_secret=app.secret, sync_now=False, schedule_enabled=False, home=str(tmp_path))
    assert_names(raised.value, missing)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("missing", LACKING)
def test_a_sync_stops_naming_a_missing_permission(tenant, tmp_path, missing):
    app = lacking_app(tenant, missing)
    config.save(Configuration(active_directory=ActiveDirectorySettings(server="dc.invalid", service_account="x"),
                              tenant=tenant.tenant_settings(app)), tmp_path)
    secrets.store_secret(tmp_path, secrets.AD_SERVICE_ACCOUNT_PASSWORD, "unused")
    secrets.store_secret(tmp_path, secrets.TENANT_CLIENT_SECRET, app.secret)
    result = service.start_sync(home=tmp_path)
    assert result.status == RunStatus.stopped
    assert missing in result.message and "Grant admin consent" in result.message
    assert [p for p in LACKING if p in result.message] == [missing]
    assert service._missing_permissions(tmp_path, None) == [missing]


@pytest.mark.parametrize("missing", LACKING)
def test_a_403_mid_run_names_the_permission_the_call_needs(tenant, missing, domain):
    """The token check passed (say, consent was revoked since): Graph's 403 on the call that needs the
    permission ends the run with its name."""
    app = lacking_app(tenant, missing)
    target = GraphTarget(tenant.tenant_settings(app), app.secret, policy=FAST)
    name = unique("mid")
    calls = {
        "Organization.Read.All": target.verified_domains,
        "User.ReadWrite.All": lambda: list(target.apply([CloudOp(
            CloudAction.create, "user", anchor=name, properties={
                "accountEnabled": True, "displayName": name, "mailNickname": name,
                "userPrincipalName": f"{name}@{domain}"})])),
        "Group.ReadWrite.All": lambda: target.graph.batch([{"id": "1", "method": "POST", "url": "/groups",
                                                            "body": {"displayName": name, "mailNickname": name,
                                                                     "mailEnabled": False, "securityEnabled": True},
                                                            "headers": {"Content-Type": "application/json"}}]),
        OWNED_BY: lambda: target.group_anchor_property,
    }
    with pytest.raises(PermissionDeniedError) as raised:
        calls[missing]()
    target.close()
    assert_names(raised.value, missing)


def test_every_call_dirsync_makes_maps_to_one_required_permission():
    assert {permission_for(m, p).name for m, p in [
        ("GET", "organization?$select=verifiedDomains"), ("POST", "/users"), ("PATCH", "/users/1"),
        ("DELETE", "groups/2/members/3/$ref"), ("PUT", "/users/1/manager/$ref"),
        ("GET", "applications(appId='x')/extensionProperties"), ("POST", "/groups")]} == set(LACKING)
    assert "Organization.Read.All" in denied_error("GET", "organization", "app").message


def test_graph_client_refuses_a_token_without_the_permissions(tenant):
    app = tenant.register_app("No permissions either", secret=True)
    client = GraphClient(tenant.tenant_settings(app), app.secret, policy=FAST)
    with pytest.raises(PermissionDeniedError) as raised:
        client.check_permissions()
    client.close()
    assert all(name in raised.value.message for name in LACKING)


def test_a_call_the_tenant_serves_without_a_permission_row_is_a_loud_tenant_error(monkeypatch):
    # Otherwise a new route would be open to every token, whatever it was granted: kinder than Graph.
    from dirsync_lab.tenant import permissions
    from dirsync_lab.tenant.odata import GraphError

    monkeypatch.setattr(permissions, "_COMPILED",
                        [c for c in permissions._COMPILED if c[1].page != "user-list-memberof"])
    with pytest.raises(GraphError) as refused:
        permissions.check(None, "GET", "users/u1/memberOf", {"roles": ["Directory.ReadWrite.All"]}, served=True)
    assert refused.value.status == 500 and "no permission row" in refused.value.message
    permissions.check(None, "GET", "nothing/here", {"roles": []}, served=False)  # the directory answers 400
