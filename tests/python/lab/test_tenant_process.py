"""TenantProcess, the one way the demo, the tests and the benchmark start a local tenant of its own process."""

from __future__ import annotations

import os
import socket
import sqlite3

import pytest
import requests

from dirsync_lab.tenant import TenantProcess, stop_detached


def _health(url: str, data) -> int:
    with requests.Session() as session:
        session.trust_env = False
        return session.get(f"{url}/_admin/health", verify=str(data / "ca.pem"), timeout=10).status_code


def test_a_detached_tenant_runs_in_its_own_session_until_stop_detached(tmp_path):
    data = tmp_path / "tenant"
    tenant = TenantProcess.start(data, log=tmp_path / "tenant.log")
    try:
        assert _health(tenant.url, data) == 200  # ready when start returns, no sleep needed
        assert os.getsid(tenant.process.pid) == tenant.process.pid  # outlives the session that started it
        stop_detached(data)
        assert tenant.process.wait(timeout=30) == 0  # SIGTERM ends it cleanly
        assert not (data / "endpoint.json").exists()
        assert "listening on " + tenant.url in (tmp_path / "tenant.log").read_text()
    finally:
        if tenant.process.poll() is None:
            tenant.stop()


def test_a_tenant_that_cannot_start_says_why(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(RuntimeError, match="(?s)exited while starting: .*Address already in use"):
            TenantProcess.start(tmp_path / "tenant", taken.getsockname()[1])


def test_a_tenant_database_of_an_older_layout_says_to_start_afresh(tmp_path):
    data = tmp_path / "tenant"
    data.mkdir()
    with sqlite3.connect(data / "tenant.db") as old:  # the apps table before keys and service principals
        old.execute("CREATE TABLE apps(app_id TEXT PRIMARY KEY, object_id TEXT, cert_pem TEXT)")
    with pytest.raises(RuntimeError, match="(?s)older version.*delete its data folder"):
        TenantProcess.start(data)
