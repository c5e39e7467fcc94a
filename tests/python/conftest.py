"""Fixtures shared by the end-to-end tests of the wizard, the CLI and pwsh: the demo lab."""

from __future__ import annotations

import shutil

import pytest

from dirsync_lab import demo


@pytest.fixture(scope="module")
def demo_lab(tmp_path_factory):
    """(folder, facts): a seeded Samba domain and a local tenant with DirSync's app, as `dirsync-lab up`
    starts them for the demo; one per test module."""
    if shutil.which("samba") is None:
        pytest.skip("needs Samba: run scripts/setup.sh")
    folder = tmp_path_factory.mktemp("lab")
    facts = demo.up(folder)
    yield folder, facts
    demo.down(folder)
