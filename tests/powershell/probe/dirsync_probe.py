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

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
_approvals: dict[str, dict] = {}


def _tenant_admin(lab: str):
    from dirsync_lab.tenant import LocalTenant

    return LocalTenant.attach(Path(lab) / "tenant", _lab(lab)["tenant"]["authorityHost"])


def start_device_code_approver(lab: str, who: str, timeout: float = 180.0):
    """The lab's `who` (lab.json) signs in at the device code that waits and accepts, as at /devicelogin
    (dirsync_lab.demo.approve), from a thread of its own while the wizard waits in this process;
    device_code_approval(approval) says how it went."""
    import threading
    import uuid

    from dirsync_lab.demo import approve

    approval_id, outcome = str(uuid.uuid4()), {}

    def run():
        try:
            outcome["code"] = approve(Path(lab), who=who, timeout=timeout)
        except Exception as exc:  # reported to the test by device_code_approval
            outcome["error"] = f"{type(exc).__name__}: {exc}"

    thread = threading.Thread(target=run, daemon=True, name="device-code-approver")
    _approvals[approval_id] = {"thread": thread, "outcome": outcome}
    thread.start()
    return {"id": approval_id}


def device_code_approval(approval: str, wait: float = 10.0):
    """What the approver did ({"code"} or {"error"}), once it has ended (`wait` s at most)."""
    started = _approvals.pop(approval)
    started["thread"].join(wait)
    return dict(started["outcome"]) or {"error": "The approver is still waiting for a device code."}


def issued_user_tokens(lab: str):
    """Every access, refresh and ID token the lab tenant issued to a user since it started, and the
    scopes (`scp`) of the access tokens."""
    import base64
    import json

    tenant = _tenant_admin(lab)
    try:
        issued = tenant.issued_user_tokens()
    finally:
        tenant.stop()
    payloads = [json.loads(base64.urlsafe_b64decode(t.split(".")[1] + "==")) for t in issued["accessTokens"]]
    return {**issued, "scopes": [p.get("scp", "") for p in payloads]}


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


def cloud_writes(lab: str) -> int:
    """The writes the lab tenant has counted so far (its own counter, the requests Graph's quota counts)."""
    return _tenant_admin(lab).stats().get("writes", 0)
