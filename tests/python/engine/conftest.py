"""End-to-end fixtures: a real Samba AD domain (dirsync_lab.testdomain, seeded) → the engine, through
service.start_sync as the cmdlets and the CLI call it → a local tenant over HTTPS (dirsync_lab.tenant).
The tenant is read back through Graph with its own token, never through the engine's state.

The unit tests beside them use fakes.py and need none of this.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import ldap3
import msal
import pytest
import requests

from dirsync import config, secrets, service
from dirsync.ad.reader import guid_anchor
from dirsync.config import (ActiveDirectorySettings, Configuration, PreventAccidentalDeletesSettings,
                            SyncSettings)
from dirsync_lab.testdomain import ADMIN_USER, BASE_DN, SambaDomain
from dirsync_lab.testdomain.seed import MAIL_DOMAIN

CORP = f"OU=Corp,{BASE_DN}"
BULK = f"OU=Bulk,{CORP}"
LEAVERS = f"OU=Leavers,{CORP}"
DEFAULT_EXCLUDED = [BULK, LEAVERS]


@dataclass
class Lab:
    domain: SambaDomain
    tenant: object  # dirsync_lab.tenant.LocalTenant
    home: Path
    graph: requests.Session
    anchor_property: str = ""

    # --- DirSync --------------------------------------------------------------------------------------
    def sync(self, **options) -> dict:
        return service.start_sync(home=self.home, **options).to_dict()

    def configure(self, *, threshold: int | None = None, percentage: int = 10, **sync) -> None:
        current = config.load(self.home)
        changed = replace(current, sync=replace(current.sync, **sync))
        if threshold is not None:
            changed = replace(changed, prevent_accidental_deletes=PreventAccidentalDeletesSettings(
                object_deletion_threshold=threshold, object_deletion_percentage=percentage))
        config.save(changed, self.home)

    # --- Active Directory -----------------------------------------------------------------------------
    def ldap(self) -> ldap3.Connection:
        return self.domain.connect()

    def anchor(self, dn: str) -> str:
        conn = self.ldap()
        conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["objectGUID"])
        anchor = guid_anchor(conn.response[0]["raw_attributes"]["objectGUID"][0])
        conn.unbind()
        return anchor

    # --- the tenant, read through Graph ---------------------------------------------------------------
    def get_all(self, path: str, **params) -> list[dict]:
        url, items = f"{self.graph.base}/{path}", []
        params = {"$top": "999", **params}
        while url:
            response = self.graph.get(url, params=params, timeout=60)
            response.raise_for_status()
            body = response.json()
            items += body.get("value", [])
            url, params = body.get("@odata.nextLink"), None
        return items

    def users(self) -> dict[str, dict]:
        """Cloud users that carry an anchor, by anchor (asserting there is one per anchor)."""
        select = ("id,displayName,givenName,surname,mail,mailNickname,userPrincipalName,accountEnabled,jobTitle,"
                  "department,companyName,officeLocation,streetAddress,city,state,postalCode,country,"
                  "usageLocation,businessPhones,mobilePhone,faxNumber,employeeId,onPremisesImmutableId,"
                  "onPremisesExtensionAttributes")
        return _by_anchor(self.get_all("users", **{"$select": select}), "onPremisesImmutableId")

    def groups(self) -> dict[str, dict]:
        prop = self.anchor_property or self._find_anchor_property()
        return _by_anchor(self.get_all("groups", **{"$select": f"id,displayName,description,mailNickname,"
                                                                 f"securityEnabled,{prop}"}), prop)

    def _find_anchor_property(self) -> str:
        names = []
        for app in self.get_all("applications"):
            names += [e["name"] for e in self.get_all(f"applications/{app['id']}/extensionProperties")]
        self.anchor_property = next(n for n in names if n.endswith("_dirSyncAnchor"))
        return self.anchor_property

    def members(self, group_id: str) -> set[str]:
        return {m["id"] for m in self.get_all(f"groups/{group_id}/members", **{"$select": "id"})}

    def manager(self, user_id: str) -> str | None:
        response = self.graph.get(f"{self.graph.base}/users/{user_id}/manager", timeout=60)
        return response.json()["id"] if response.status_code == 200 else None

    def add_cloud_only_user(self, upn: str, nickname: str) -> str:
        """A user made in the tenant by hand, as an administrator would: no anchor, not DirSync's. Its id."""
        response = self.graph.post(f"{self.graph.base}/users", json={
            "accountEnabled": True, "displayName": "Cloud-only Clash", "mailNickname": nickname,
            "userPrincipalName": upn, "passwordProfile": {"password": "Cl0ud-only-Passw0rd!"}}, timeout=60)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def deleted_users(self) -> dict[str, dict]:
        items = self.get_all("directory/deletedItems/microsoft.graph.user",
                             **{"$select": "id,userPrincipalName,onPremisesImmutableId"})
        return {u["onPremisesImmutableId"]: u for u in items if u.get("onPremisesImmutableId")}

    def writes(self) -> int:
        return self.tenant.stats().get("writes", 0)


def _by_anchor(items: list[dict], prop: str) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for item in items:
        anchor = item.get(prop)
        if anchor:
            assert anchor not in out, f"two cloud objects with the anchor {anchor}"
            out[anchor] = item
    return out


def _graph_session(tenant, app) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(tenant.ca_file)
    client = msal.ConfidentialClientApplication(app.app_id, client_credential=app.secret,
                                                authority=tenant.authority, instance_discovery=False,
                                                http_client=session)
    token = client.acquire_token_for_client([f"{tenant.graph_endpoint}/.default"])["access_token"]
    session.headers["Authorization"] = f"Bearer {token}"
    session.base = f"{tenant.url}/v1.0"
    return session


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A fresh seeded domain, a fresh tenant (dirsync.test verified) and a configured DirSync home."""
    if shutil.which("samba") is None:
        pytest.skip("Samba is not installed: run scripts/setup.sh")
    from dirsync_lab.tenant import DIRSYNC_PERMISSIONS, READER_PERMISSIONS, LocalTenant

    root = tmp_path_factory.mktemp("lab")
    with SambaDomain.create(root / "dc", seeded=True) as domain, \
            LocalTenant(root / "tenant", subprocess=True) as tenant:
        tenant.add_domain(MAIL_DOMAIN)
        tenant.configure(write_quota_app_tenant=[1_000_000, 150.0], write_quota_tenant=[1_000_000, 300.0],
                         resource_units_app_tenant=[1_000_000, 10.0])
        app = tenant.register_app("DirSync", secret=True, permissions=DIRSYNC_PERMISSIONS)
        reader = tenant.register_app("Test reader", secret=True, permissions=READER_PERMISSIONS)
        home = root / "home"
        configuration = Configuration(
            active_directory=ActiveDirectorySettings(server=domain.address, port=636, ca_file=domain.ca_file,
                                                     base_dn=BASE_DN, service_account=ADMIN_USER),
            tenant=tenant.tenant_settings(app),
            sync=SyncSettings(exclude_ous=DEFAULT_EXCLUDED))
        config.save(configuration, home)
        secrets.store_secret(home, secrets.AD_SERVICE_ACCOUNT_PASSWORD, domain.admin_password)
        secrets.store_secret(home, secrets.TENANT_CLIENT_SECRET, app.secret)
        session = _graph_session(tenant, reader)
        yield Lab(domain, tenant, home, session)
        session.close()
