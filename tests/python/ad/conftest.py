"""Real Samba AD domains for the ad/ tests (never a mocked ldap3).

`seeded_domain` is shared by the tests that only read; tests that change the directory take
`fresh_domain` (a copy of the seeded template, a couple of seconds) or `bare_domain` (just provisioned).
"""

from __future__ import annotations

import shutil

import pytest

from dirsync_lab.testdomain import SambaDomain

if shutil.which("samba") is None:
    pytest.skip("Samba (samba, samba-ad-dc) is not installed: run scripts/setup.sh", allow_module_level=True)


@pytest.fixture(scope="session")
def seeded_domain(tmp_path_factory):
    with SambaDomain.create(tmp_path_factory.mktemp("seeded") / "dc", seeded=True) as domain:
        yield domain


@pytest.fixture
def fresh_domain(tmp_path):
    with SambaDomain.create(tmp_path / "dc", seeded=True) as domain:
        yield domain


@pytest.fixture
def bare_domain(tmp_path):
    with SambaDomain.create(tmp_path / "dc") as domain:
        yield domain
