"""Commands the Pester tests call through the bridge to observe it (they are not part of DirSync)."""

import time
from pathlib import Path


def progress_then_wait(marker: str, events):
    """Emits a progress event, then returns only once PowerShell has rendered it (the test's
    Write-Progress creates `marker`): proof that events reach PowerShell while the call runs."""
    events.progress("Probe", "waiting for PowerShell", done=1, total=2)
    deadline = time.monotonic() + 30
    while not Path(marker).exists():
        if time.monotonic() > deadline:
            raise TimeoutError("PowerShell did not render the progress event while the call was running")
        time.sleep(0.05)
    return {"seen": True}


def notice(message: str, events):
    """Emits a notice, as the core does for the device code the administrator must type."""
    events.emit("notice", message=message)
    return {}


def work_until_cancelled(started: str, ended: str, events):
    """Waits (interruptibly) until cancelled, then winds down for a second, as a run commits what was
    written and releases its lock, and marks `ended`: Ctrl+C must return only after that."""
    Path(started).touch()
    try:
        while True:
            events.sleep(0.05)
    finally:
        time.sleep(1.0)
        Path(ended).touch()


def fail_unexpectedly():
    raise ValueError("a probe failure")


# --- the demo lab (dirsync-lab up), seen from the tests ----------------------------------------------

def _lab(lab: str) -> dict:
    import json
    return json.loads((Path(lab) / "lab.json").read_text())


def _ldap(lab: str):
    from dirsync_lab.testdomain import SambaDomain
    facts = _lab(lab)["activeDirectory"]
    return SambaDomain(Path(lab) / "dc").connect(facts["adminUser"], facts["adminPassword"])


def _user_dn(conn, sam: str) -> str:
    conn.search("DC=dirsync,DC=test", f"(sAMAccountName={sam})", attributes=["distinguishedName"])
    return conn.entries[0].entry_dn


def ad_set_enabled(lab: str, sam: str, enabled: bool):
    """Disables or enables an AD account, as an administrator does in Active Directory Users and Computers."""
    import ldap3
    conn = _ldap(lab)
    try:
        conn.modify(_user_dn(conn, sam), {"userAccountControl": [(ldap3.MODIFY_REPLACE, [512 if enabled else 514])]})
    finally:
        conn.unbind()


def ad_delete(lab: str, sam: str):
    conn = _ldap(lab)
    try:
        conn.delete(_user_dn(conn, sam))
    finally:
        conn.unbind()


def ad_show_tombstones_to(lab: str, account: str):
    """The lab's Samba gap (seed.show_tombstones_to) for the service account a wizard made."""
    from dirsync_lab.testdomain.seed import show_tombstones_to
    conn = _ldap(lab)
    try:
        show_tombstones_to(conn, _user_dn(conn, account.split("@")[0]))
    finally:
        conn.unbind()


def _graph(lab: str):
    from dirsync_lab.demo import graph_session
    return graph_session(Path(lab))


def cloud_user(lab: str, upn: str):
    """The user in the tenant ({"exists", "accountEnabled", "deleted"}): live, in deletedItems, or nowhere."""
    session, graph = _graph(lab)
    with session:
        live = session.get(f"{graph}/users", params={"$filter": f"userPrincipalName eq '{upn}'",
                                                     "$select": "id,accountEnabled,userPrincipalName"}).json()["value"]
        deleted = session.get(f"{graph}/directory/deletedItems/microsoft.graph.user",
                              params={"$select": "id,userPrincipalName"}).json()["value"]
    return {"exists": bool(live), "accountEnabled": live[0]["accountEnabled"] if live else None,
            "deleted": any(u["userPrincipalName"].endswith(upn) or upn in u["userPrincipalName"] for u in deleted)}


def cloud_user_count(lab: str) -> int:
    session, graph = _graph(lab)
    with session:
        return session.get(f"{graph}/users/$count", headers={"ConsistencyLevel": "eventual"}).json()


# --- the lab tenant's administrators and DirSync's own app (wizard page 1) ---------------------------

SIGN_IN_CLIENT = "14d82eec-204b-4c2f-b7e8-296a70dab67e"  # Microsoft Graph Command Line Tools
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
_approvals: dict[str, dict] = {}


def _tenant_admin(lab: str, method: str, action: str, data: dict | None = None):
    """The lab tenant's admin API, with the admin key from its data folder (as LocalTenant sends it)."""
    import requests
    from dirsync_lab.tenant.http import ADMIN_HEADER
    from dirsync_lab.tenant.server import ADMIN_KEY_FILE

    tenant = _lab(lab)["tenant"]
    key = (Path(lab) / "tenant" / ADMIN_KEY_FILE).read_text().strip()
    with requests.Session() as session:
        session.trust_env = False
        response = session.request(method, f"{tenant['authorityHost']}/_admin/{action}", json=data,
                                   headers={ADMIN_HEADER: key}, verify=tenant["caFile"], timeout=30)
    if response.status_code != 200:
        raise RuntimeError(f"Local tenant admin {action}: {response.status_code} {response.text}")
    return response.json()


def tenant_add_user(lab: str, name: str, password: str, roles: list[str] | None = None):
    """A cloud-only user of the tenant's initial domain who signs in with `password`, holding `roles`."""
    session, graph = _graph(lab)
    with session:
        domains = session.get(f"{graph}/organization").json()["value"][0]["verifiedDomains"]
    domain = next(d["name"] for d in domains if d.get("isInitial"))
    user = {"userPrincipalName": f"{name}@{domain}", "password": password, "roles": roles or []}
    return _tenant_admin(lab, "POST", "users", user)


def start_device_code_approver(lab: str, upn: str, password: str, timeout: float = 180.0):
    """Signs `upn` in on the next device code the sign-in client asks for and accepts, as the administrator
    would on /devicelogin, from a thread of its own while the wizard waits; device_code_approval(approval) says
    how it went."""
    import threading
    import uuid

    approval_id, outcome = str(uuid.uuid4()), {}

    def approve():
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                for code in _tenant_admin(lab, "GET", "devicecodes")["value"]:
                    if code["clientId"] == SIGN_IN_CLIENT:
                        outcome["scope"] = code["scope"]
                        outcome["approved"] = _tenant_admin(lab, "POST", "devicecode/approve", {
                            "userCode": code["userCode"], "userPrincipalName": upn, "password": password})["approved"]
                        return
                time.sleep(0.2)
            outcome["error"] = f"No device code of the sign-in client came within {timeout} s."
        except Exception as exc:  # reported to the test by device_code_approval
            outcome["error"] = f"{type(exc).__name__}: {exc}"

    thread = threading.Thread(target=approve, daemon=True, name="device-code-approver")
    _approvals[approval_id] = {"thread": thread, "outcome": outcome}
    thread.start()
    return {"id": approval_id}


def device_code_approval(approval: str, wait: float = 10.0):
    """What the approver did ({"approved", "scope"} or {"error"}), once it has ended (`wait` s at most)."""
    started = _approvals.pop(approval)
    started["thread"].join(wait)
    return dict(started["outcome"]) or {"error": "The approver is still waiting for a device code."}


def issued_user_tokens(lab: str):
    """Every access, refresh and ID token the tenant issued to a user since it started."""
    return _tenant_admin(lab, "GET", "issued-user-tokens")


def cloud_apps(lab: str):
    """Every app registration in the tenant: [{"id", "appId", "displayName", "uniqueName"}]."""
    session, graph = _graph(lab)
    with session:
        return session.get(f"{graph}/applications",
                           params={"$select": "id,appId,displayName,uniqueName"}).json()["value"]


def cloud_identity(lab: str, app_id: str):
    """DirSync's app as Graph shows it: the apps and service principals with its appId, the app's key
    thumbprints (customKeyIdentifier, Edm.Binary in base64, as SHA-1 hex), its owners, and the Graph
    application permissions granted to its service principal."""
    import base64

    session, graph = _graph(lab)
    with session:
        apps = session.get(f"{graph}/applications", params={"$filter": f"appId eq '{app_id}'"}).json()["value"]
        principals = session.get(f"{graph}/servicePrincipals",
                                 params={"$filter": f"appId eq '{app_id}'"}).json()["value"]
        owners = session.get(f"{graph}/applications/{apps[0]['id']}/owners").json()["value"] if apps else []
        granted = (session.get(f"{graph}/servicePrincipals/{principals[0]['id']}/appRoleAssignments").json()["value"]
                   if principals else [])
        graph_sp = session.get(f"{graph}/servicePrincipals(appId='{GRAPH_APP_ID}')").json()
    roles = {role["id"]: role["value"] for role in graph_sp["appRoles"]}
    return {"apps": len(apps), "servicePrincipals": len(principals),
            "servicePrincipalId": principals[0]["id"] if principals else None,
            "displayName": apps[0]["displayName"] if apps else None,
            "thumbprints": [base64.b64decode(key["customKeyIdentifier"]).hex().upper()
                            for key in apps[0]["keyCredentials"]] if apps else [],
            "owners": [owner["id"] for owner in owners],
            "permissions": sorted(roles.get(a["appRoleId"], a["appRoleId"]) for a in granted
                                  if a["resourceId"] == graph_sp["id"])}
