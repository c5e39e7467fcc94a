"""A standby server (issue 17, item 3): a second DirSync home against the same domain, tenant and app,
in staging mode, follows the active one; turning staging off while the active one still holds the tenant
is refused before any write, naming it; once the active one is gone, the take-over adopts every cloud
object by its anchor (no creates, no deletes, no duplicates), the next AD change goes through it, and the
old server, were it to come back, is refused in turn.
"""

from __future__ import annotations

import platform
import shutil
from dataclasses import replace

import ldap3

from dirsync import config, service
from dirsync.state.store import STATE_FILE_NAME
from dirsync_lab.testdomain.seed import dn


def staging(home, on: bool) -> None:
    current = config.load(home)
    config.save(replace(current, sync=replace(current.sync, staging_mode=on)), home)


def server_id(home) -> str:
    return service.server_id(home)


def test_standby_takes_over_without_creates_or_deletes(lab, tmp_path):
    standby = tmp_path / "standby"
    shutil.copytree(lab.home, standby, ignore=shutil.ignore_patterns(f"{STATE_FILE_NAME}*"))
    staging(standby, True)
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

    # Both active: the standby's export is refused before any write, naming the active server.
    staging(standby, False)
    conn = lab.ldap()
    conn.modify(dn("alice"), {"title": [(ldap3.MODIFY_REPLACE, ["Fought over"])]})
    conn.unbind()
    refused = lab.sync()
    assert refused["failed"] and refused["status"] == "stopped-another-active-server", refused
    assert f"{platform.node()} (server id {server_id(active)}, last marked active at " in refused["message"]
    assert "-TakeOver" in refused["message"] and "-StagingMode $true" in refused["message"]
    assert lab.writes() == writes, "the second active server wrote to the tenant"
    assert lab.users()[lab.anchor(dn("alice"))]["jobTitle"] != "Fought over"
    actions = {c["action"] for c in refused["plan"]}  # what it would have done, shown, not done
    assert "adopt" in actions and not actions & {"add", "delete"}, actions

    # The active server is gone: the standby takes over, explicitly.
    takeover = lab.sync(take_over=True)
    assert not takeover["failed"], takeover["message"]
    assert takeover["message"].startswith(f"This server took over from {platform.node()} (server id "
                                          f"{server_id(active)},"), takeover["message"]
    assert takeover["counts"]["added"] == 0 and takeover["counts"]["deleted"] == 0, takeover["counts"]
    assert takeover["counts"]["adopted"] + takeover["counts"]["adoptedUnchanged"] >= len(users_before)
    assert set(lab.users()) == set(users_before)      # lab.users() refuses two objects with one anchor
    assert set(lab.groups()) == set(groups_before)
    assert lab.deleted_users() == {}
    assert lab.users()[lab.anchor(dn("alice"))]["jobTitle"] == "Fought over"

    # From now on it is the active server: no -TakeOver, and the next AD change goes through it.
    conn = lab.ldap()
    conn.modify(dn("alice"), {"title": [(ldap3.MODIFY_REPLACE, ["Chief standby officer"])]})
    conn.unbind()
    after = lab.sync()
    assert not after["failed"], after["message"]
    assert lab.users()[lab.anchor(dn("alice"))]["jobTitle"] == "Chief standby officer"

    # The old active server, were it to come back, is refused in turn, naming the new one.
    lab.home = active
    writes = lab.writes()
    back = lab.sync()
    assert back["status"] == "stopped-another-active-server", back
    assert f"(server id {server_id(standby)}," in back["message"]
    assert lab.writes() == writes
