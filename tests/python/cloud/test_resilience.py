"""The retry policy and the write governor against a misbehaving tenant (faults injected at runtime)."""

from __future__ import annotations

import time

import pytest

from dirsync.cloud.graph import GraphClient, GraphUnavailableError, RetryPolicy
from dirsync.cloud.writer import GraphTarget
from dirsync.engine.ports import CloudOp

from .conftest import FAST, unique


def user_ops(count: int, domain: str) -> list[CloudOp]:
    prefix = unique("bulk")
    return [CloudOp("create", "user", anchor=f"{prefix}-{i:05d}+/=", properties={
        "accountEnabled": True, "displayName": f"Bulk {i}", "mailNickname": f"{prefix}{i}",
        "userPrincipalName": f"{prefix}{i}@{domain}"}) for i in range(count)]


def test_2000_users_through_a_429_storm_and_20_percent_5xx(tenant, target, domain, capsys):
    ops = user_ops(2000, domain)
    # Every fault the issue names: a 2-second storm of 429s first, then 429s, 5xx (half of them after the write
    # was done, so the answer is lost) and reset connections at random; Retry-After kept short.
    tenant.set_faults(throttle_for=2.0, throttle_rate=0.05, error_rate=0.2, reset_rate=0.02,
                      after_commit=0.5, retry_after=0.05, seed=7)
    started = time.monotonic()
    results = list(target.apply(ops))
    elapsed = time.monotonic() - started
    stats = target.stats.to_dict()  # what the 2,000 creates took, before the checks below add requests
    server = tenant.stats()
    tenant.set_faults()

    assert [(r.outcome, r.error_code, r.message) for r in results if r.outcome != "created"] == []
    assert len(results) == 2000
    assert len({r.cloud_id for r in results}) == 2000
    found = target.find_by_anchors("user", [op.anchor for op in ops])
    assert {a: o.cloud_id for a, o in found.items()} == {r.op.anchor: r.cloud_id for r in results}
    upns = [op.properties["userPrincipalName"] for op in ops]
    assert all(target.find_user_by_upn(upn) for upn in upns[:20])  # spot check: one object per UPN
    # The faults did happen, and what they cost is reported.
    assert server.get("forced_429", 0) > 0 and server.get("faults_5xx", 0) > 0
    assert server.get("faults_5xx_after_commit", 0) + server.get("faults_reset_after_commit", 0) > 0
    # Each create whose answer was lost met its first attempt (ObjectConflict) and was recovered, not repeated.
    assert sum(r.recovered for r in results) == server["lost_create_answers"] > 0
    assert stats["throttled"] > 0 and stats["server_errors"] > 0 and stats["wait_seconds"] > 0
    with capsys.disabled():
        print(f"\n2,000 users in {elapsed:.1f} s: {stats['requests']} HTTP requests, "
              f"{stats['wait_seconds']:.2f} s waited; connector {stats}; tenant {server}")


def test_the_governor_stays_under_the_write_quota(tenant, cert_app, client_cert, domain):
    tenant.configure(write_quota_app_tenant=[40, 1.0])
    app, cert_file = cert_app
    governed = GraphTarget(tenant.tenant_settings(app, "certificate", cert_file), client_cert.key_pem,
                           policy=FAST, write_quota=(40, 1.0))
    results = list(governed.apply(user_ops(100, domain)))
    governed.close()
    assert [r.outcome for r in results] == ["created"] * 100
    assert tenant.stats().get("quota_429", 0) == 0  # never bounced off the quota
    assert governed.stats.throttled == 0 and governed.stats.governor_seconds > 0


def test_without_the_governor_the_quota_answers_429_and_retry_after_is_honoured(tenant, cert_app, client_cert,
                                                                               domain):
    tenant.configure(write_quota_app_tenant=[40, 1.0])
    app, cert_file = cert_app
    eager = GraphTarget(tenant.tenant_settings(app, "certificate", cert_file), client_cert.key_pem,
                        policy=FAST, write_quota=(1_000_000, 1.0))
    results = list(eager.apply(user_ops(100, domain)))
    eager.close()
    assert [r.outcome for r in results] == ["created"] * 100
    assert tenant.stats()["quota_429"] > 0 and eager.stats.throttled > 0
    assert eager.stats.wait_seconds > 0.5  # waited for the window to free up, as Retry-After said


def test_a_per_part_retry_after_is_waited_for(tenant, target, domain):
    tenant.set_faults(throttle_next=3, retry_after=0.4)
    results = list(target.apply(user_ops(5, domain)))
    assert [r.outcome for r in results] == ["created"] * 5
    assert target.stats.throttled == 3 and target.stats.wait_seconds >= 0.4


def test_a_4xx_is_never_retried(tenant, target):
    before = target.stats.requests
    response = target.graph.request("GET", "users", params={"$top": "1000"})
    assert response.status_code == 400
    assert target.stats.requests - before == 1 and target.stats.retries == 0


def test_attempts_are_bounded_then_a_typed_error(tenant, secret_app):
    client = GraphClient(tenant.tenant_settings(secret_app, "secret"), secret_app.secret,
                         policy=RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05))
    tenant.set_faults(error_rate=1.0, after_commit=0.0)
    with pytest.raises(GraphUnavailableError) as caught:
        client.get_json("organization")
    client.close()
    assert client.stats.requests == 4 and client.stats.server_errors == 4
    assert caught.value.error_id == "DirSync.CloudUnavailable"
