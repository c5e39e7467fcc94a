"""Hardening fixtures. Every test runs against the real parts: a seeded Samba AD DC, the local tenant over
HTTPS with real MSAL, and service.start_sync as the cmdlets and the CLI call it (the `lab` of the engine's
end-to-end tests, one per test module)."""

from __future__ import annotations

import pytest

from dirsync.cloud import graph

from engine.conftest import lab  # noqa: F401 - the fixture, shared with the engine's end-to-end tests

pytestmark = pytest.mark.samba

# Faults are answered with the production policy's logic, only with short waits, so a test that makes
# the tenant fail every request does not wait minutes for the retries to run out.
FAST = graph.RetryPolicy(max_attempts=6, base_delay=0.01, max_delay=0.05)


@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setattr(graph, "RetryPolicy", lambda: FAST)
