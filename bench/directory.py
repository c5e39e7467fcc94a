"""The benchmark's directory: N users, security groups of USERS_PER_GROUP and (shape "linked") managers,
in a real Samba DC.

Seeding goes straight into the stopped DC's sam.ldb through Samba's own module stack (samba.samdb.SamDB,
in large transactions): objects get real objectGUIDs, SIDs and USNs exactly as over LDAP, but without a
network round trip and a disk commit per object. Measured on the 2-core machine: about 300 objects/s,
linear in N, against 57/s for ldap3 adds over one LDAPS connection (docs/benchmarks.md, "Seeding").
Each N is seeded once and kept as a template (like dirsync_lab.testdomain's), keyed by the seeding code, the
test domain's code and the Samba version.

Shapes (SHAPES), users u000000… in OU=Bench,OU=Corp (all in scope):
  flat    N/USERS_PER_GROUP groups g00000… of USERS_PER_GROUP users each, every user in exactly one group.
  linked  issue 15's directory, where link writes weigh as in real ones: the flat directory plus two more
          layers of N/USERS_PER_GROUP groups, so every user is in GROUPS_PER_USER groups (each layer groups
          the users differently), and every user but the first MANAGED_BY has a manager (user i reports
          to user i // MANAGED_BY: a tree of ten reports per manager). Seeded on a copy of the flat
          template, so its cache key is the flat one's plus the linked pass's own.
Writes of an initial sync (expected_writes): N users, for each group ⌈members / 20⌉ (its create carries
the first 20 members, each further write 20 more), and one per manager.
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import json
import math
import os
import shutil
import subprocess
import time
from pathlib import Path

import ldap3

from dirsync_lab import testdomain
from dirsync_lab.testdomain import BASE_DN, FACTS_FILE, SambaDomain, free_loopback_address
from dirsync_lab.testdomain.seed import GLOBAL_SECURITY

CACHE_ROOT = Path(os.environ.get("DIRSYNC_BENCH_CACHE", "/var/tmp/dirsync-bench"))
BENCH_OU = f"OU=Bench,OU=Corp,{BASE_DN}"
USERS_PER_GROUP = 50
SHAPES = ("flat", "linked")
GROUPS_PER_USER = 3  # linked: layers of groups
MANAGED_BY = 10      # linked: reports per manager; users 0 … MANAGED_BY - 1 are the top, without one
MAIL_DOMAIN = "dirsync.test"
TRANSACTION = 2000  # objects per sam.ldb transaction: bounds the transaction's memory


def user_dn(i: int) -> str:
    return f"CN=u{i:06d},{BENCH_OU}"


def group_dn(g: int) -> str:
    return f"CN=g{g:05d},{BENCH_OU}"


def group_count(n: int, shape: str = "flat") -> int:
    return max(1, n // USERS_PER_GROUP) * (GROUPS_PER_USER if shape == "linked" else 1)


def members(n: int, g: int, shape: str = "flat") -> range | list[int]:
    """The indexes of group g's members. Layer 0 (the flat shape's groups) takes every group_count(n)-th
    user; in the linked shape layer 1 takes USERS_PER_GROUP consecutive users, and layer 2 the r-th user
    of each run of group_count(n) users turned by the run's number, so that no two layers group alike."""
    layers = group_count(n)
    layer, r = divmod(g, layers)
    if layer == 0:
        return range(r, n, layers)
    if layer == 1:
        return range(r * USERS_PER_GROUP, n if r == layers - 1 else (r + 1) * USERS_PER_GROUP)
    return [i for i in (b * layers + (r - b) % layers for b in range(-(-n // layers))) if i < n]


def manager(i: int) -> int | None:
    """Linked shape: the index of user i's manager."""
    return i // MANAGED_BY if i >= MANAGED_BY else None


def manager_count(n: int, shape: str = "flat") -> int:
    return max(0, n - MANAGED_BY) if shape == "linked" else 0


def expected_writes(n: int, shape: str = "flat") -> int:
    """Writes of an initial sync: each user, each group created with up to 20 of its members and the
    rest 20 to a write (MEMBERS_PER_WRITE), and each manager."""
    from dirsync.engine.ports import MEMBERS_PER_WRITE

    return n + manager_count(n, shape) + sum(max(1, math.ceil(len(members(n, g, shape)) / MEMBERS_PER_WRITE))
                                             for g in range(group_count(n, shape)))


def writes_bound(n: int, shape: str = "flat") -> int:
    """Issue 15's bound on an initial sync's writes: users + groups + managers + Σ⌈members of a group / 20⌉."""
    from dirsync.engine.ports import MEMBERS_PER_WRITE

    groups = group_count(n, shape)
    return n + groups + manager_count(n, shape) + sum(math.ceil(len(members(n, g, shape)) / MEMBERS_PER_WRITE)
                                                      for g in range(groups))


def _user(i: int) -> dict:
    sam = f"u{i:06d}"
    return {"dn": user_dn(i), "objectClass": "user", "sAMAccountName": sam, "givenName": "Bench",
            "sn": f"User {i}", "displayName": f"Bench User {i}", "userPrincipalName": f"{sam}@{MAIL_DOMAIN}",
            "mail": f"{sam}@{MAIL_DOMAIN}", "mailNickname": sam, "department": f"Dept {i % 97}",
            "title": "Engineer", "l": "Springfield", "c": "US", "co": "United States", "countryCode": "840",
            # PASSWD_NOTREQD keeps them enabled without the cost of N password hashes.
            "userAccountControl": "544"}


def _key() -> str:
    # What decides a template's content, not this whole file: editing a comment must not cost a
    # 20-minute reseed of 100k users.
    digest = hashlib.sha256((inspect.getsource(_user) + inspect.getsource(_seed_offline)).encode())
    digest.update(repr((USERS_PER_GROUP, BENCH_OU, MAIL_DOMAIN)).encode())
    for name in ("__init__.py", "schema.py"):  # what the base template depends on (not seed.py)
        digest.update((Path(testdomain.__file__).parent / name).read_bytes())
    digest.update(subprocess.run(["samba", "--version"], capture_output=True, check=True).stdout)
    return digest.hexdigest()[:16]


def template(n: int, shape: str = "flat") -> Path:
    """The folder of a stopped DC holding the bench directory of size n, built once under a lock."""
    if shape == "linked":
        def linked(folder: Path) -> None:
            testdomain._copy(template(n), folder)
            _link_offline(folder, n)
        # The flat key first: cached_build prunes only what other keys built.
        return testdomain.cached_build(CACHE_ROOT, _key(), f"linked{_linked_key()}-{n}", linked)

    def build(folder: Path) -> None:
        testdomain._copy(testdomain._template(False), folder)
        _seed_offline(folder, n)
    return testdomain.cached_build(CACHE_ROOT, _key(), str(n), build)


def _linked_key() -> str:
    # What the linked pass adds; the flat template under it has its own key (_key).
    digest = hashlib.sha256("".join(inspect.getsource(f) for f in (_link_offline, members, manager)).encode())
    digest.update(repr((GROUPS_PER_USER, MANAGED_BY)).encode())
    return digest.hexdigest()[:8]


def _seed_offline(folder: Path, n: int) -> None:
    from samba.auth import system_session
    from samba.param import LoadParm
    from samba.samdb import SamDB

    domain = SambaDomain(folder)
    domain._configure(free_loopback_address())  # an smb.conf naming this folder's paths
    lp = LoadParm()
    lp.load(str(domain.conf))
    # Samba's loadparm also setenv()s SMB_CONF_PATH for "child tasks": every samba-tool this process runs
    # later (a test domain provisioned after the seeding) would then read this folder's smb.conf.
    os.unsetenv("SMB_CONF_PATH")
    # batch_mode: no ldb sub-transaction per add. Without it each add copies every index list it
    # touches (objectClass=top holds every object), so seeding is quadratic: 10k took minutes, 100k hours.
    db = SamDB(url=str(folder / "dc" / "private" / "sam.ldb"), session_info=system_session(), lp=lp,
               options=["batch_mode:1"])
    started = time.monotonic()
    groups = group_count(n)
    objects = itertools.chain(
        [{"dn": f"OU=Corp,{BASE_DN}", "objectClass": "organizationalUnit"},
         {"dn": BENCH_OU, "objectClass": "organizationalUnit"}],
        (_user(i) for i in range(n)),
        # Members are written with the group: one add per group instead of one modify per user.
        ({"dn": group_dn(g), "objectClass": "group", "sAMAccountName": f"g{g:05d}",
          "groupType": str(GLOBAL_SECURITY), "description": f"Bench group {g}",
          "member": [user_dn(i) for i in range(g, n, groups)]} for g in range(groups)))
    while chunk := list(itertools.islice(objects, TRANSACTION)):
        db.transaction_start()
        try:
            for obj in chunk:
                db.add(obj)
        except BaseException:
            db.transaction_cancel()
            raise
        db.transaction_commit()
    shutil.rmtree(folder / "tls")
    facts = json.loads((folder / FACTS_FILE).read_text())
    facts.pop("address")  # each copy gets its own
    (folder / FACTS_FILE).write_text(json.dumps({**facts, "bench_users": n, "bench_groups": groups,
                                                 "seed_seconds": round(time.monotonic() - started, 1)}))


def _link_offline(folder: Path, n: int) -> None:
    """The linked shape's managers and further layers of groups, on a copy of the flat template. Its own
    code rather than a change to _seed_offline, whose source is the key of the flat templates (20 minutes
    to seed again at 100k)."""
    import ldb
    from samba.auth import system_session
    from samba.param import LoadParm
    from samba.samdb import SamDB

    domain = SambaDomain(folder)
    domain._configure(free_loopback_address())
    lp = LoadParm()
    lp.load(str(domain.conf))
    os.unsetenv("SMB_CONF_PATH")  # as in _seed_offline
    db = SamDB(url=str(folder / "dc" / "private" / "sam.ldb"), session_info=system_session(), lp=lp,
               options=["batch_mode:1"])
    started = time.monotonic()
    layer = group_count(n)

    def set_manager(i: int, boss: int) -> None:
        change = ldb.Message(ldb.Dn(db, user_dn(i)))
        change["manager"] = ldb.MessageElement(user_dn(boss), ldb.FLAG_MOD_REPLACE, "manager")
        db.modify(change)

    def add_group(g: int) -> None:
        db.add({"dn": group_dn(g), "objectClass": "group", "sAMAccountName": f"g{g:05d}",
                "groupType": str(GLOBAL_SECURITY), "description": f"Bench group {g}",
                "member": [user_dn(i) for i in members(n, g, "linked")]})

    writes = itertools.chain(((set_manager, i, boss) for i in range(n) if (boss := manager(i)) is not None),
                             ((add_group, g) for g in range(layer, group_count(n, "linked"))))
    while chunk := list(itertools.islice(writes, TRANSACTION)):
        db.transaction_start()
        try:
            for write, *args in chunk:
                write(*args)
        except BaseException:
            db.transaction_cancel()
            raise
        db.transaction_commit()
    shutil.rmtree(folder / "tls")
    facts = json.loads((folder / FACTS_FILE).read_text())
    facts.pop("address")
    (folder / FACTS_FILE).write_text(json.dumps({
        **facts, "bench_shape": "linked", "bench_groups": group_count(n, "linked"),
        "bench_managers": manager_count(n, "linked"), "flat_seed_seconds": facts["seed_seconds"],
        "seed_seconds": round(facts["seed_seconds"] + time.monotonic() - started, 1)}))


def start_domain(n: int, directory: Path, shape: str = "flat") -> SambaDomain:
    """A running DC in `directory`, copied from the size-n template of that shape."""
    source = template(n, shape)
    directory.mkdir(parents=True)
    testdomain._copy(source / "dc", directory / "dc")
    shutil.copy(source / FACTS_FILE, directory / FACTS_FILE)
    domain = SambaDomain(directory)
    domain._configure(free_loopback_address())
    domain.start(timeout=120)
    return domain


def change_users(domain: SambaDomain, n: int, count: int, stamp: str) -> int:
    """Changes the title of `count` users spread over the directory (one LDAPS connection)."""
    conn: ldap3.Connection = domain.connect()
    step = max(1, n // count)
    changed = 0
    for i in range(0, n, step)[:count]:
        conn.modify(user_dn(i), {"title": [(ldap3.MODIFY_REPLACE, [f"Engineer {stamp}"])]})
        changed += 1
    conn.unbind()
    return changed
