"""Fixtures shared by the end-to-end tests of the wizard, the CLI and pwsh: the demo lab."""

from __future__ import annotations

import shutil

import pytest

from dirsync_lab import demo


def _lab(tmp_path_factory, with_app: bool):
    if shutil.which("samba") is None:
        pytest.skip("needs Samba: run scripts/setup.sh")
    folder = tmp_path_factory.mktemp("lab")
    facts = demo.up(folder, with_app=with_app)
    return folder, facts


@pytest.fixture(scope="module")
def demo_lab(tmp_path_factory):
    """(folder, facts): a seeded Samba domain and a local tenant with an app registered for DirSync (the
    wizard's "bring your own app" path), as `dirsync-lab up --with-app` starts them; one per test module."""
    folder, facts = _lab(tmp_path_factory, with_app=True)
    yield folder, facts
    demo.down(folder)


@pytest.fixture(scope="module")
def bare_lab(tmp_path_factory):
    """(folder, facts): the demo's lab as `dirsync-lab up` starts it: the tenant holds no app for DirSync,
    only its administrators (and the tests' reader); one per test module."""
    folder, facts = _lab(tmp_path_factory, with_app=False)
    yield folder, facts
    demo.down(folder)
