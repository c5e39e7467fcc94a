"""A standby server (issue 17, item 3): a second DirSync home against the same domain, tenant and app,
in staging mode, follows the active one; once the active one is gone, turning staging off adopts every
cloud object by its anchor (no creates, no deletes, no duplicates) and the next AD change goes through it.
"""

from __future__ import annotations

import shutil
from dataclasses import replace

import ldap3

from dirsync import config, service
from dirsync.state.store import STATE_FILE_NAME
from dirsync_lab.testdomain.seed import dn


def test_standby_takes_over_without_creates_or_deletes(lab, tmp_path):
    standby = tmp_path / "standby"
    shutil.copytree(lab.home, standby, ignore=shutil.ignore_patterns(f"{STATE_FILE_NAME}*"))
    current = config.load(standby)
    config.save(replace(current, sync=replace(current.sync, staging_mode=True)), standby)
    active = lab.home

    first = lab.sync()
    assert not first["failed"], first["message"]
    users_before = lab.users()
    groups_before = lab.groups()

    lab.home = standby
    writes = lab.writes()
    staged = lab.sync()
    assert staged["staging"] and not staged["failed"], staged["message"]
    assert lab.writes() == writes, "a staging server wrote to the tenant"
    summary = service.test_sync(home=standby)["stagingSummary"]
    assert summary.startswith("staging: 0 objects would be created,") and summary.endswith(
        "0 deleted at the next export"), summary

    # the active server is gone: only the standby is used from here on
    current = config.load(standby)
    config.save(replace(current, sync=replace(current.sync, staging_mode=False)), standby)
    takeover = lab.sync()
    assert not takeover["failed"], takeover["message"]
    assert takeover["counts"]["added"] == 0 and takeover["counts"]["deleted"] == 0, takeover["counts"]
    assert takeover["counts"]["adopted"] + takeover["counts"]["adoptedUnchanged"] >= len(users_before)
    assert set(lab.users()) == set(users_before)      # lab.users() refuses two objects with one anchor
    assert set(lab.groups()) == set(groups_before)
    assert lab.deleted_users() == {}

    conn = lab.ldap()
    conn.modify(dn("alice"), {"title": [(ldap3.MODIFY_REPLACE, ["Chief standby officer"])]})
    conn.unbind()
    after = lab.sync()
    assert not after["failed"], after["message"]
    assert lab.users()[lab.anchor(dn("alice"))]["jobTitle"] == "Chief standby officer"
    lab.home = active
