"""Sign-in: after a 401 the connector gets a really new token, and a stalled network never hangs sign-in."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import replace

import pytest

from dirsync.cloud.graph import GraphClient, RetryPolicy
from dirsync.errors import ServerUnreachableError

from .conftest import FAST


def test_a_token_revoked_mid_run_is_replaced_by_a_new_one(tenant, secret_app):
    client = GraphClient(tenant.tenant_settings(secret_app), secret_app.secret, policy=FAST)
    assert client.get_json("organization")["value"]
    first = client._token
    issued = tenant.stats()["tokens_issued"]
    assert tenant.revoke_tokens() >= 1
    assert client.get_json("organization")["value"]  # 401, a new token, the call again
    assert tenant.stats()["tokens_issued"] == issued + 1
    assert client._token != first
    # the revoked token is gone from MSAL's cache too: the next sign-in cannot hand it back
    cache = client.auth.app.token_cache
    cached = [t["secret"] for t in cache.find(cache.CredentialType.ACCESS_TOKEN)]
    assert first not in cached and client._token in cached
    client.close()


@pytest.fixture
def silent_server():
    """Accepts TCP connections and never answers (a stalled network or a hung proxy)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    held, stop = [], threading.Event()

    def accept():
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    listener.close()


def test_sign_in_to_a_tenant_that_never_answers_fails_within_the_timeout(tenant, secret_app, silent_server):
    settings = replace(tenant.tenant_settings(secret_app), authority_host=silent_server)
    outcome: list[BaseException] = []

    def sign_in():
        try:
            GraphClient(settings, secret_app.secret, policy=RetryPolicy(timeout=(1.0, 1.0)))
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome.append(exc)
    start = time.monotonic()
    thread = threading.Thread(target=sign_in, daemon=True)
    thread.start()
    thread.join(15)  # bounded: a hang fails the test instead of stalling the suite
    elapsed = time.monotonic() - start
    assert not thread.is_alive() and elapsed < 10, f"sign-in still waiting after {elapsed:.1f} s (1 s timeout)"
    assert len(outcome) == 1 and isinstance(outcome[0], ServerUnreachableError), outcome
    assert "did not answer sign-in within 1 s" in outcome[0].message
    assert secret_app.secret not in str(outcome[0])
