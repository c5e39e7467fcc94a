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
