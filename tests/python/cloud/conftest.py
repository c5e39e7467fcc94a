"""Fixtures for the Graph connector and the local tenant. Everything goes over HTTPS to a real local
tenant process, with real MSAL and requests; nothing in the HTTP layer is patched."""

from __future__ import annotations

import uuid

import msal
import pytest
import requests

from dirsync.cloud.graph import RetryPolicy
from dirsync.cloud.writer import GraphTarget
from dirsync_lab.tenant import DIRSYNC_PERMISSIONS, LocalTenant, make_client_certificate

# The domains the Microsoft Graph documentation's examples use, so its requests run as written.
DOC_DOMAINS = ("contoso.com", "contoso.onmicrosoft.com")
# Small waits keep the suite fast; the client still honours whatever the tenant sends.
FAST = RetryPolicy(max_attempts=12, base_delay=0.02, max_delay=0.2)


@pytest.fixture(scope="session")
def tenant(tmp_path_factory):
    with LocalTenant(tmp_path_factory.mktemp("tenant"), subprocess=True) as local:
        for domain in DOC_DOMAINS:
            local.add_domain(domain)
        # The documented quota would make a 2,000-user test take minutes; quota tests set their own.
        local.configure(write_quota_app_tenant=[1_000_000, 150.0], write_quota_tenant=[1_000_000, 300.0],
                        resource_units_app_tenant=[1_000_000, 10.0])
        yield local


@pytest.fixture(autouse=True)
def _clean_faults(request):
    yield
    if "tenant" in request.fixturenames:
        tenant = request.getfixturevalue("tenant")
        tenant.reset()
        tenant.configure(write_quota_app_tenant=[1_000_000, 150.0], write_quota_tenant=[1_000_000, 300.0],
                         resource_units_app_tenant=[1_000_000, 10.0], other_apps_write_rate=0.0,
                         token_lifetime=3600)


@pytest.fixture(scope="session")
def secret_app(tenant):
    return tenant.register_app("DirSync (secret)", secret=True, permissions=DIRSYNC_PERMISSIONS)


# The raw HTTP checks of the tenant call more than DirSync does (purge, other apps' extensions): their app
# holds every permission those calls' pages accept.
GRAPH_ADMIN_PERMISSIONS = ("Directory.ReadWrite.All", "User.ReadWrite.All", "Group.ReadWrite.All",
                           "User.DeleteRestore.All", "Application.ReadWrite.All", "Organization.Read.All",
                           "User.Read.All", "Group.Read.All", "GroupMember.ReadWrite.All")


@pytest.fixture(scope="session")
def graph_admin_app(tenant):
    return tenant.register_app("Graph checks", secret=True, permissions=GRAPH_ADMIN_PERMISSIONS)


@pytest.fixture(scope="session")
def client_cert():
    return make_client_certificate("DirSync test")


@pytest.fixture(scope="session")
def cert_app(tenant, client_cert, tmp_path_factory):
    app = tenant.register_app("DirSync (certificate)", certificate_pem=client_cert.cert_pem,
                              permissions=DIRSYNC_PERMISSIONS)
    cert_file = tmp_path_factory.mktemp("cert") / "client.pem"
    cert_file.write_text(client_cert.cert_pem)
    return app, str(cert_file)


def http_session(tenant) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(tenant.ca_file)
    return session


def msal_app(tenant, app_id: str, credential):
    return msal.ConfidentialClientApplication(app_id, client_credential=credential, authority=tenant.authority,
                                              instance_discovery=False, http_client=http_session(tenant))


@pytest.fixture
def graph(tenant, graph_admin_app):
    """A requests session holding a Graph token of an app with broad permissions, for raw HTTP checks."""
    result = msal_app(tenant, graph_admin_app.app_id, graph_admin_app.secret).acquire_token_for_client(
        [f"{tenant.graph_endpoint}/.default"])
    session = http_session(tenant)
    session.headers["Authorization"] = f"Bearer {result['access_token']}"
    session.base = f"{tenant.url}/v1.0"
    yield session
    session.close()


@pytest.fixture
def target(tenant, cert_app, client_cert):
    app, cert_file = cert_app
    settings = tenant.tenant_settings(app, "certificate", cert_file)
    connector = GraphTarget(settings, client_cert.key_pem, policy=FAST, write_quota=(1_000_000, 150.0))
    yield connector
    connector.close()


@pytest.fixture(scope="session")
def domain(tenant):
    return "contoso.com"


def unique(prefix: str = "u") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"
