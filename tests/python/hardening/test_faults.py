"""Faults during a run: the domain controller's connection drops mid-import, the tenant fails, throttles,
resets connections or stops mid-export, the disk holding the state fills up, the process is killed.
After each, the next run converges: every change made in AD is in the tenant, once, and the state file
passes its integrity check.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import ldap3
import pytest

from dirsync import config, service
from dirsync.errors import StateError
from dirsync.events import Events
from dirsync.state.store import StateStore
from dirsync_lab.testdomain.seed import MAIL_DOMAIN, bulk_dn

from engine.conftest import CORP

FAULTS = f"OU=Faults,{CORP}"
GROUP = f"CN=Fault Group,{FAULTS}"
SYNC_CHILD = Path(__file__).parents[1] / "engine" / "sync_child.py"
EXPORT = "Exporting to Microsoft 365"
IMPORT = "Importing from Active Directory"


@pytest.fixture(scope="module")
def faults(lab):
    conn = lab.ldap()
    conn.add(FAULTS, "organizationalUnit")
    conn.add(GROUP, "group", {"sAMAccountName": "faultgroup", "groupType": -2147483646})
    conn.unbind()
    assert lab.sync()["status"] == "success"
    return lab


_round = iter(range(1, 1000))


def change_directory(lab, adds: int = 6) -> None:
    """A batch of changes of every kind: new users in the group, a title changed, a user deleted and one
    taken out of the group."""
    n = next(_round)
    conn = lab.ldap()
    conn.search(GROUP, "(objectClass=*)", ldap3.BASE, attributes=["member"])
    members = sorted(conn.entries[0].entry_attributes_as_dict.get("member", []))
    for i in range(adds):
        sam = f"flt{n}x{i}"
        dn = f"CN={sam},{FAULTS}"
        conn.add(dn, "user", {"sAMAccountName": sam, "userPrincipalName": f"{sam}@{MAIL_DOMAIN}",
                              "displayName": f"Fault {n}.{i}", "userAccountControl": 514})
        conn.modify(GROUP, {"member": [(ldap3.MODIFY_ADD, [dn])]})
    if len(members) >= 3:
        conn.modify(members[0], {"title": [(ldap3.MODIFY_REPLACE, [f"Title {n}"])]})
        conn.modify(GROUP, {"member": [(ldap3.MODIFY_DELETE, [members[1]])]})
        conn.delete(members[2])
    conn.unbind()


def assert_converged(lab) -> None:
    conn = lab.ldap()
    conn.search(FAULTS, "(objectClass=user)", attributes=["displayName", "title"])
    want = {lab.anchor(e.entry_dn): tuple((e.entry_attributes_as_dict.get(a) or [None])[0]
                                          for a in ("displayName", "title")) for e in conn.entries}
    conn.search(GROUP, "(objectClass=*)", ldap3.BASE, attributes=["member"])
    members = {lab.anchor(m) for m in conn.entries[0].entry_attributes_as_dict.get("member", [])}
    conn.unbind()
    users = lab.users()  # one cloud user per anchor: no duplicate
    assert len(lab.get_all("users", **{"$select": "id"})) == len(users)  # and none without an anchor
    assert {a: (users[a]["displayName"], users[a]["jobTitle"]) for a in want if a in users} == want
    assert set(want) <= set(users)
    gone = [a for a in users if a not in want and users[a]["userPrincipalName"].startswith("flt")]
    assert gone == []  # deleted in AD, deleted in the cloud
    group = lab.groups()[lab.anchor(GROUP)]
    assert lab.members(group["id"]) == {users[a]["id"] for a in members}
    with StateStore(lab.home) as store:
        assert store.integrity_check() == []


def converge(lab, **options) -> None:
    result = lab.sync(**options)
    assert result["status"] == "success", result["message"] or result["errors"]
    assert_converged(lab)


# --- the domain controller's connection drops mid-import ----------------------------------------------

class CuttingProxy:
    """A TCP relay on the DC's own address (its certificate names that address, so TLS is verified as
    usual) that resets both connections once `cut_after` bytes came from the DC."""

    def __init__(self, address: str, port: int):
        self.target = (address, port)
        self.listener = socket.create_server((address, 0))
        self.port = self.listener.getsockname()[1]
        self.cut_after: int | None = None
        self.cuts = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            budget = [self.cut_after]
            for src, dst, counted in ((client, server, False), (server, client, True)):
                threading.Thread(target=self._pump, args=(src, dst, budget if counted else None), daemon=True).start()

    def _pump(self, src, dst, budget):
        try:
            while data := src.recv(65536):
                if budget is not None and budget[0] is not None:
                    budget[0] -= len(data)
                    if budget[0] < 0:
                        self.cuts += 1
                        for sock in (src, dst):  # RST, as a failing network or firewall does
                            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                            sock.shutdown(socket.SHUT_RDWR)  # wakes the other direction's thread
                        break
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.close()
            except OSError:
                pass

    def close(self):
        self.listener.close()


def set_ad_port(lab, port: int) -> None:
    current = config.load(lab.home)
    config.save(replace(current, active_directory=replace(current.active_directory, port=port)), lab.home)


def test_the_dc_connection_dropping_mid_import_stops_the_run_and_loses_nothing(faults):
    lab = faults
    proxy = CuttingProxy(lab.domain.address, 636)
    set_ad_port(lab, proxy.port)
    try:
        change_directory(lab)
        proxy.cut_after = 300_000  # well into the full import's pages (the domain holds 1,600+ users)
        writes = lab.writes()
        cut = lab.sync(full=True)
        assert proxy.cuts == 1
        assert cut["status"] == "stopped-server-down", cut
        assert lab.domain.address in cut["message"] and "during the import" in cut["message"]
        assert lab.writes() == writes  # nothing was exported from half an import
        proxy.cut_after = None
        converge(lab)
    finally:
        proxy.close()
        set_ad_port(lab, 636)


# --- the tenant fails mid-export ----------------------------------------------------------------------

@pytest.mark.parametrize("fault", [
    {"error_rate": 0.5, "after_commit": 0.5},     # 500/502/503/504, half of them after the write was done
    {"reset_rate": 0.5, "after_commit": 0.5},     # connections reset, half of them after the write
    {"throttle_rate": 0.7, "retry_after": 0.01},  # 429 with Retry-After, often until the retries run out
], ids=["5xx", "reset", "throttle"])
def test_tenant_faults_during_export_then_the_next_run_converges(faults, fast_retries, fault):
    lab = faults
    change_directory(lab, adds=10)
    lab.tenant.set_faults(**fault, seed=11)
    try:
        during = lab.sync()
        stats = lab.tenant.stats()
    finally:
        lab.tenant.set_faults()
    # Failures in a row, max_attempts of them, are Microsoft 365 not answering: the run stops as server down.
    assert during["status"] in ("success", "completed-export-errors", "stopped-error", "stopped-server-down"), during
    assert sum(v for k, v in stats.items() if k.startswith(("faults_", "forced_"))) > 0  # the faults happened
    for error in during["errors"]:
        assert error["reason"] and error["fix"]
    converge(lab)


def test_the_tenant_stopping_mid_export_then_the_next_run_converges(faults, fast_retries):
    lab = faults
    change_directory(lab, adds=10)
    port = int(lab.tenant.url.rsplit(":", 1)[1])
    stopped = []

    def stop_at_first_export_result(event):
        if event["kind"] == "progress" and event.get("activity") == EXPORT and not stopped:
            stopped.append(True)
            lab.tenant.stop()

    try:
        during = service.start_sync(home=lab.home, events=Events(stop_at_first_export_result)).to_dict()
    finally:
        lab.tenant.port = port  # the same address: the configuration names it
        lab.tenant.start()
    assert stopped and during["status"] == "stopped-server-down", during
    assert during["errors"] == [] and "stopped answering" in during["message"]
    converge(lab)


# --- the disk fills up ---------------------------------------------------------------------------------

@pytest.fixture
def small_disk(faults, tmp_path):
    """A copy of the lab's DirSync home on its own 16 MB tmpfs."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)]).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        home = mount / "home"
        with StateStore(faults.home):  # opening and closing checkpoints the WAL into the file
            pass
        shutil.copytree(faults.home, home)
        yield home
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def fill(folder: Path, headroom: int) -> Path:
    """Takes all the free space of `folder`'s file system but `headroom` bytes."""
    filler = folder / "filler"
    stat = os.statvfs(folder)
    with open(filler, "wb") as out:
        out.write(b"\0" * (stat.f_bavail * stat.f_frsize - headroom))
    return filler


def test_a_full_disk_while_the_state_is_written_is_a_clear_error_and_the_next_run_converges(faults, small_disk):
    lab = faults
    change_directory(lab)
    filler = fill(small_disk, headroom=256 * 1024)  # room to open the state and begin; not to import
    try:
        stopped = service.start_sync(home=small_disk, full=True).to_dict()
        assert stopped["status"] == "stopped-error"
        message = stopped["message"]
    except StateError as err:  # when not even the run's end could be recorded
        message = str(err)
    assert str(small_disk) in message and "disk is full" in message and "Free disk space" in message
    filler.unlink()
    with StateStore(small_disk) as store:
        assert store.integrity_check() == []
    lab.home, home = small_disk, lab.home
    try:
        # A home in another folder is another server to the active-server marker: it takes over, once.
        converge(lab, take_over=True)
        with StateStore(small_disk) as store:
            assert store.runs()[1].status == "stopped-error"  # the run the full disk stopped is in the history
    finally:
        lab.home = home
    converge(lab, take_over=True)  # the lab's own home takes back over and catches up with what the copy exported


# --- the process is killed -----------------------------------------------------------------------------

def test_killing_the_sync_during_the_import_loses_nothing(faults):
    """(Kills during the export: tests/python/engine/test_crash_safety.py.)"""
    lab = faults
    change_directory(lab)
    # Enough changed objects for the delta import to report progress (every 200): out-of-scope ones.
    conn = lab.ldap()
    for n in range(1, 251):
        conn.modify(bulk_dn(n), {"description": [(ldap3.MODIFY_REPLACE, [f"touched {next(_round)}"])]})
    conn.unbind()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.Popen([sys.executable, str(SYNC_CHILD), str(lab.home)], stdout=subprocess.PIPE, text=True,
                            env=env)
    killed = False
    with proc:
        for line in proc.stdout:
            event = json.loads(line)
            if event["kind"] == "progress" and event.get("activity") == IMPORT:
                proc.kill()
                killed = True
                break
        proc.wait()
    assert killed, "the run ended before the import reported progress"
    converge(lab)
    with StateStore(lab.home) as store:
        assert "ended unexpectedly" in store.runs()[1].message
