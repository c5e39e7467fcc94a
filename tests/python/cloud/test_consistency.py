"""No duplicate after a lost answer, and references through Graph's replication delay, against the local
tenant with `after_commit` faults and `replication_delay_ms` (docs/local-tenant.md)."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from dirsync.cloud.writer import GraphTarget
from dirsync.engine.ports import CloudOp
from dirsync.vocabulary import CloudAction

from .conftest import FAST, unique

DELAY_MS = 800
POLICY = replace(FAST, replication_window=2.0)  # above the tenant's delay, as 30 s is above Graph's


@pytest.fixture
def consistent_target(tenant, cert_app, client_cert):
    app, cert_file = cert_app
    connector = GraphTarget(tenant.tenant_settings(app, "certificate", cert_file), client_cert.key_pem,
                            policy=POLICY, write_quota=(1_000_000, 150.0))
    yield connector
    connector.close()


def group_ops(count: int) -> list[CloudOp]:
    prefix = unique("g")
    return [CloudOp("create", "group", anchor=f"{prefix}-{i:04d}+/=",
                    properties={"displayName": f"Group {i}", "mailNickname": f"{prefix}{i}"}) for i in range(count)]


def test_group_creates_whose_answer_is_lost_are_found_not_sent_twice(tenant, consistent_target, graph):
    ops = group_ops(300)
    tenant.set_faults(error_rate=0.15, reset_rate=0.03, after_commit=0.6, retry_after=0.05,
                      replication_delay_ms=DELAY_MS, seed=12)
    results = list(consistent_target.apply(ops))
    server = tenant.stats()
    tenant.set_faults()

    assert [(r.outcome, r.error_code, r.message) for r in results if r.outcome != "created"] == []
    prop = consistent_target.group_anchor_property
    anchors = [op.anchor for op in ops]
    cloud = []
    for i in range(0, len(anchors), 15):
        clause = " or ".join(f"{prop} eq '{a}'" for a in anchors[i:i + 15])  # `in` is not documented on extensions
        cloud += graph.get(f"{graph.base}/groups", params={"$filter": clause, "$top": "999",
                                                           "$select": f"id,{prop}"}).json()["value"]
    assert sorted(g[prop] for g in cloud) == sorted(anchors)  # exactly one cloud group per anchor
    assert {r.op.anchor: r.cloud_id for r in results} == {g[prop]: g["id"] for g in cloud}
    recovered = sum(r.recovered for r in results)
    assert recovered > 0 and recovered == server["lost_create_answers"]


def test_references_to_objects_just_created_wait_out_the_replication_delay(tenant, consistent_target, domain):
    prefix = unique("r")
    tenant.set_faults(replication_delay_ms=DELAY_MS, seed=3)
    users = list(consistent_target.apply([CloudOp("create", "user", anchor=f"{prefix}-{i}", properties={
        "accountEnabled": True, "displayName": f"R {i}", "mailNickname": f"{prefix}{i}",
        "userPrincipalName": f"{prefix}{i}@{domain}"}) for i in range(5)]))
    group = list(consistent_target.apply([CloudOp("create", "group", anchor=f"{prefix}-g", properties={
        "displayName": "R", "mailNickname": f"{prefix}g"})]))[0]
    links = [CloudOp(CloudAction.add_member, "group", f"{prefix}-g", cloud_id=group.cloud_id, ref_id=u.cloud_id)
             for u in users]
    links += [CloudOp(CloudAction.set_manager, "user", users[i].op.anchor, cloud_id=users[i].cloud_id,
                      ref_id=users[0].cloud_id) for i in range(1, 5)]
    waited = consistent_target.stats.wait_seconds
    results = list(consistent_target.apply(links))
    tenant.set_faults()
    assert [(r.op.action, r.outcome, r.message) for r in results if r.outcome != "updated"] == []
    assert consistent_target.stats.wait_seconds > waited  # the delay struck and was waited out


def test_a_reference_to_an_object_not_created_in_this_run_is_reported_at_once(tenant, consistent_target):
    tenant.set_faults(replication_delay_ms=DELAY_MS)
    missing = "00000000-0000-0000-0000-000000000001"
    started = time.monotonic()
    result = list(consistent_target.apply([CloudOp(CloudAction.add_member, "group", "x", cloud_id=missing,
                                                   ref_id=missing)]))[0]
    assert result.outcome == "notFound" and time.monotonic() - started < POLICY.replication_window


def test_the_tenant_answers_as_graph_while_a_new_object_replicates(tenant, graph, domain):
    tenant.set_faults(replication_delay_ms=60_000, seed=5)  # long enough to be unseen throughout the test
    group = graph.post(f"{graph.base}/groups", json={"displayName": "Unseen", "mailEnabled": False,
                                                     "mailNickname": unique("n"), "securityEnabled": True})
    assert group.status_code == 201  # the create's own answer holds the object
    gid = group.json()["id"]
    user = graph.post(f"{graph.base}/users", json={
        "accountEnabled": True, "displayName": "Unseen", "mailNickname": unique("n"),
        "userPrincipalName": f"{unique('n')}@{domain}", "passwordProfile": {"password": "Xy9!" + unique()}})
    uid = user.json()["id"]

    read = graph.get(f"{graph.base}/groups/{gid}")
    assert (read.status_code, read.json()["error"]["code"]) == (404, "Request_ResourceNotFound")
    listed = graph.get(f"{graph.base}/groups", params={"$filter": f"id eq '{gid}'"}).json()["value"]
    assert listed == []
    ref = {"@odata.id": f"{graph.base}/directoryObjects/{uid}"}
    for response in (graph.post(f"{graph.base}/groups/{gid}/members/$ref", json=ref),
                     graph.put(f"{graph.base}/users/{uid}/manager/$ref", json=ref)):
        assert response.status_code == 400
        assert response.json()["error"] == {**response.json()["error"], "code": "Request_BadRequest",
                                            "message": "The source resource object or one of the objects being "
                                                       "referenced do not exist."}
    tenant.set_faults()  # new settings end the delay
    assert graph.get(f"{graph.base}/groups/{gid}").status_code == 200
    assert graph.post(f"{graph.base}/groups/{gid}/members/$ref", json=ref).status_code == 204
