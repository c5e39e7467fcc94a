"""The test domain itself: it must not outlive its test (a leaked DC keeps memory and an address)."""

import json
import os
import shutil

import pytest

from dirsync_lab.testdomain import FACTS_FILE, SambaDomain

pytestmark = pytest.mark.skipif(shutil.which("samba") is None, reason="needs Samba: run scripts/setup.sh")


def test_removing_a_domain_stops_its_samba_process(tmp_path):
    domain = SambaDomain.create(tmp_path / "dc")
    pid = json.loads((tmp_path / "dc" / FACTS_FILE).read_text())["pid"]
    assert os.path.exists(f"/proc/{pid}")
    domain.remove()
    assert not os.path.exists(f"/proc/{pid}")
    assert not (tmp_path / "dc").exists()
