"""End to end (Samba test domain → engine → local tenant): objects Microsoft 365 protects from DirSync's app
(issue 12, item 6) and a value Active Directory takes but Graph refuses (item 7). Each is reported on its
own with the reason and the fix; the rest of the run succeeds.

The tests run in file order on one lab.
"""

from __future__ import annotations

import ldap3
import pytest

from dirsync_lab.testdomain.seed import MAIL_DOMAIN, dn

from .conftest import CORP, LEAVERS

pytestmark = pytest.mark.samba

SALES = f"OU=Sales,OU=People,{CORP}"


def _set(lab, target: str, **attrs) -> None:
    conn = lab.ldap()
    conn.modify(target, {k: [(ldap3.MODIFY_REPLACE, [v])] for k, v in attrs.items()})
    assert conn.result["result"] == 0, conn.result
    conn.unbind()


def test_a_cloud_administrator_is_not_disabled_or_deleted_and_the_rest_of_the_run_succeeds(lab):
    assert lab.sync()["status"] == "success"
    alice, olga = lab.anchor(dn("alice")), lab.anchor(dn("olga"))
    lab.tenant.assign_role(lab.users()[alice]["id"], "Global Administrator")

    _set(lab, dn("alice"), userAccountControl=514)      # disable: a sensitive action on an administrator
    _set(lab, dn("olga"), title="Head of Sales")
    result = lab.sync()
    assert result["status"] == "completed-export-errors", result["message"]
    [error] = result["errors"]
    assert error["dn"] == dn("alice") and error["action"] == "update"
    # Which role is not said: reading a user's memberOf app-only needs Directory.Read.All (user-list-memberof).
    assert error["reason"].startswith("This user holds a Microsoft Entra administrator role (such as Global "
                                      "Administrator or User Administrator); an app with User.ReadWrite.All cannot")
    assert error["fix"].startswith("Remove the role from this user in the Microsoft Entra admin center")
    users = lab.users()
    assert users[alice]["accountEnabled"] is True
    assert users[olga]["jobTitle"] == "Head of Sales"

    conn = lab.ldap()
    conn.modify_dn(dn("alice"), "CN=Alice Anderson", new_superior=LEAVERS)   # out of scope: a delete
    conn.unbind()
    _set(lab, dn("olga"), title="VP Sales")
    result = lab.sync()
    assert result["status"] == "completed-export-errors", result["message"]
    [error] = [e for e in result["errors"] if e["anchor"] == alice]
    assert error["action"] == "delete" and "Global Administrator" in error["reason"]
    users = lab.users()
    assert alice in users and users[olga]["jobTitle"] == "VP Sales"


def test_users_synced_by_entra_connect_are_reported_once_for_the_run(lab):
    conn = lab.ldap()
    dns = []
    for n in range(3):
        user_dn = f"CN=ecsync{n},{SALES}"
        conn.add(user_dn, "user", {"sAMAccountName": f"ecsync{n}", "userPrincipalName": f"ecsync{n}@{MAIL_DOMAIN}",
                                   "displayName": f"Entra Connect {n}", "userAccountControl": 514})
        assert conn.result["result"] == 0, conn.result
        dns.append(user_dn)
    conn.unbind()
    for user_dn in dns:   # the same users, already written by Entra Connect with the same anchor
        name = user_dn.split(",")[0][3:]
        created = lab.graph.post(f"{lab.graph.base}/users", timeout=30, json={
            "accountEnabled": False, "displayName": f"{name} (synced)", "mailNickname": name,
            "userPrincipalName": f"{name}@{MAIL_DOMAIN}", "onPremisesImmutableId": lab.anchor(user_dn),
            "passwordProfile": {"password": "Synced-Passw0rd!"}})
        assert created.status_code == 201, created.text
        lab.tenant.mark_synced(created.json()["id"])
    result = lab.sync()
    assert result["status"] == "completed-export-errors", result["message"]
    assert result["message"].startswith("3 object(s) are managed by Entra Connect or Cloud Sync")
    synced = [e for e in result["errors"] if e["dn"] in dns]
    assert len(synced) == 1 and "Turn off directory synchronization" in synced[0]["fix"]
    assert all(lab.users()[lab.anchor(d)]["displayName"].endswith("(synced)") for d in dns)


def test_a_value_active_directory_takes_but_graph_refuses_is_reported_with_its_fix(lab):
    user_dn = f"CN=accented,{SALES}"
    conn = lab.ldap()
    conn.add(user_dn, "user", {"sAMAccountName": "accented", "userPrincipalName": f"accented@{MAIL_DOMAIN}",
                               "mail": f"renée@{MAIL_DOMAIN}", "userAccountControl": 514})
    assert conn.result["result"] == 0, conn.result
    conn.unbind()
    result = lab.sync()
    [error] = [e for e in result["errors"] if e["dn"] == user_dn]
    assert f"renée@{MAIL_DOMAIN}" in error["reason"] and "mail" in error["fix"]
    assert lab.anchor(user_dn) not in lab.users()
    _set(lab, user_dn, mail=f"renee@{MAIL_DOMAIN}")
    result = lab.sync()
    assert user_dn not in {e["dn"] for e in result["errors"]}
    assert lab.users()[lab.anchor(user_dn)]["mail"] == f"renee@{MAIL_DOMAIN}"
