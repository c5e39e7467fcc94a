"""Microsoft's own Graph client against the local tenant: tests/dotnet/GraphSdkProbe runs Microsoft.Graph
6.10.0 with Azure.Identity 1.21.0, unchanged, through sign-in, paging, filters, create, update, delete,
restore, delta, $batch and directory extension properties; every step is then checked in the tenant."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from .conftest import unique

PROBE = Path(__file__).resolve().parents[2] / "dotnet" / "GraphSdkProbe"
# The Graph application permissions the probe's calls need, for when the tenant checks them.
# signin reads the organization; the rest writes users, groups, deleted items and its own app's extension.
SDK_PERMISSIONS = ("Organization.Read.All", "User.ReadWrite.All", "Group.ReadWrite.All",
                   "Application.ReadWrite.OwnedBy", "User.Read.All")  # User.Read.All: GET deletedItems/{id}

pytestmark = pytest.mark.skipif(shutil.which("dotnet") is None,
                                reason="needs the .NET SDK (`dotnet`) to build the Graph SDK probe")


def probe_build() -> Path:
    """Builds the probe once per change of its sources; the output is kept outside the repository, under
    DIRSYNC_BUILD_CACHE (default ~/.cache/dirsync), keyed by the hash of the project and its code."""
    digest = hashlib.sha256()
    for source in sorted(p for p in PROBE.iterdir() if p.suffix in (".cs", ".csproj")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
    root = Path(os.environ.get("DIRSYNC_BUILD_CACHE", Path.home() / ".cache" / "dirsync")) / "graph-sdk-probe"
    built = root / digest.hexdigest()[:16]
    dll = built / "GraphSdkProbe.dll"
    if dll.exists():
        return dll
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=root, prefix="build-"))
    # Packages come from the NuGet source configured on the machine, as scripts/setup.sh fetches its own.
    result = subprocess.run(["dotnet", "build", str(PROBE / "GraphSdkProbe.csproj"), "-c", "Release", "--nologo",
                             "--artifacts-path", str(work / "artifacts"), "-o", str(work / "out")],
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        shutil.rmtree(work, ignore_errors=True)
        pytest.fail(f"dotnet build of {PROBE.name} failed:\n{result.stdout[-4000:]}{result.stderr[-2000:]}")
    try:
        os.replace(work / "out", built)  # a finished build only, even with two runs at once
    except OSError:
        if not dll.exists():
            raise
    shutil.rmtree(work, ignore_errors=True)
    return dll


def register_sdk_app(tenant, certificate_pem: str | None = None):
    """The probe's app: a client secret or the given certificate, and the permissions in SDK_PERMISSIONS."""
    if certificate_pem:
        return tenant.register_app("Graph SDK probe (certificate)", certificate_pem=certificate_pem,
                                   permissions=SDK_PERMISSIONS)
    return tenant.register_app("Graph SDK probe (secret)", secret=True, permissions=SDK_PERMISSIONS)


def run_probe(tenant, app, prefix: str, domain: str, certificate_file: Path | None) -> dict[str, dict]:
    command = ["dotnet", str(probe_build()), "--authority-host", tenant.url, "--tenant-id", tenant.tenant_id,
               "--client-id", app.app_id, "--graph-endpoint", tenant.graph_endpoint,
               "--ca-file", str(tenant.ca_file), "--prefix", prefix, "--domain", domain]
    env = {**os.environ, "DOTNET_CLI_TELEMETRY_OPTOUT": "1"}
    if certificate_file:
        command += ["--certificate-file", str(certificate_file)]
    else:
        env["GRAPH_PROBE_CLIENT_SECRET"] = app.secret
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    steps = {line["step"]: line for line in map(json.loads, result.stdout.splitlines())}
    failed = [s for s in steps.values() if not s["ok"]]
    assert result.returncode == 0 and not failed, f"{failed or result.stdout}\n{result.stderr[-2000:]}"
    return steps


@pytest.mark.parametrize("credential", ["secret", "certificate"])
def test_graph_sdk_drives_the_tenant(tenant, domain, graph, client_cert, tmp_path, credential):
    """ClientSecretCredential or ClientCertificateCredential (a PEM with the certificate and its key)."""
    certificate_file = None
    if credential == "certificate":
        certificate_file = tmp_path / "probe.pem"
        certificate_file.write_text(client_cert.cert_pem + client_cert.key_pem)
        certificate_file.chmod(0o600)
    app = register_sdk_app(tenant, client_cert.cert_pem if certificate_file else None)
    prefix = unique("sdk")
    steps = run_probe(tenant, app, prefix, domain, certificate_file)

    assert steps["signin"]["tenantId"] == tenant.tenant_id
    ids = steps["create"]["ids"]
    assert len(set(ids)) == 5
    listed = graph.get(f"{graph.base}/users", params={"$filter": f"startswith(displayName,'{prefix} ')",
                                                      "$select": "id,userPrincipalName"}).json()["value"]
    assert sorted(u["id"] for u in listed) == sorted(ids)

    # Paging: $top=2 over five users is three pages, followed by the SDK's PageIterator.
    assert steps["list_paging"]["pages"] == 3
    assert sorted(steps["list_paging"]["ids"]) == sorted(ids)
    assert steps["filter"]["ids"] == [ids[3]] and steps["filter"]["count"] == 5

    # Update, seen by the tenant and by the next delta round.
    assert steps["update"]["jobTitle"] == "Probe engineer"
    user0 = graph.get(f"{graph.base}/users/{ids[0]}", params={"$select": "jobTitle,department"}).json()
    assert (user0["jobTitle"], user0["department"]) == ("Probe engineer", "SDK")
    assert steps["delta_initial"]["deltaLink"] and steps["delta_changes"]["deltaLink"]
    assert ids[0] in steps["delta_changes"]["ids"] and steps["delta_changes"]["jobTitle"] == "Probe engineer"

    # Delete then restore: the same object is back.
    assert steps["delete"]["getStatus"] == 404 and steps["delete"]["inDeletedItems"]
    assert steps["restore"]["id"] == ids[1]
    restored = graph.get(f"{graph.base}/users/{ids[1]}")
    assert restored.status_code == 200 and restored.json()["userPrincipalName"] == f"{prefix}1@{domain}"
    assert graph.get(f"{graph.base}/directory/deletedItems/{ids[1]}").status_code == 404

    # $batch: a read, an update and a create, each part succeeded and really happened.
    assert steps["batch"]["statuses"] == {"get": 200, "patch": 204, "createGroup": 201}
    assert steps["batch"]["fetchedId"] == ids[2] and steps["batch"]["officeLocation"] == "Batch 1"
    group = graph.get(f"{graph.base}/groups/{steps['batch']['groupId']}").json()
    assert group["displayName"] == f"{prefix} group" and group["securityEnabled"] is True

    # A directory extension property: created on the app, set on a user, filterable.
    name = steps["extension_property"]["name"]
    assert name == f"extension_{app.app_id.replace('-', '')}_p{prefix}"
    assert steps["extension_property"]["listed"]
    assert steps["extension_property"]["ids"] == [ids[4]]
    assert steps["extension_property"]["value"] == "probe-value"
    user4 = graph.get(f"{graph.base}/users/{ids[4]}", params={"$select": f"id,{name}"}).json()
    assert user4[name] == "probe-value"

    # Graph's error shape, as the SDK parses it into an ODataError.
    assert steps["error_shape"]["raised"] and steps["error_shape"]["status"] == 404
    assert steps["error_shape"]["code"] == "Request_ResourceNotFound" and steps["error_shape"]["requestId"]


def test_count_of_users_counts_only_what_the_filter_keeps(graph, domain):
    """Found by the SDK's Users.Count with a filter: /users/$count ignored $filter."""
    prefix, other = unique("cnt"), unique("oth")
    for name in (f"{prefix} 0", f"{prefix} 1", f"{other} 0"):
        nickname = name.replace(" ", "")
        created = graph.post(f"{graph.base}/users", json={
            "accountEnabled": True, "displayName": name, "mailNickname": nickname,
            "userPrincipalName": f"{nickname}@{domain}",
            "passwordProfile": {"password": f"P@ss-{unique()}", "forceChangePasswordNextSignIn": True}})
        assert created.status_code == 201, created.text
    eventual = {"ConsistencyLevel": "eventual"}
    counted = graph.get(f"{graph.base}/users/$count", headers=eventual,
                        params={"$filter": f"startswith(displayName,'{prefix} ')"})
    assert counted.status_code == 200 and counted.text == "2"
    assert int(graph.get(f"{graph.base}/users/$count", headers=eventual).text) >= 3
