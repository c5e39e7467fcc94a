"""The benchmark's directory: N users and N/USERS_PER_GROUP security groups in a real Samba DC.

Seeding goes straight into the stopped DC's sam.ldb through Samba's own module stack (samba.samdb.SamDB,
in large transactions): objects get real objectGUIDs, SIDs and USNs exactly as over LDAP, but without a
network round trip and a disk commit per object. Measured on the 2-core machine: about 300 objects/s,
linear in N, against 57/s for ldap3 adds over one LDAPS connection (docs/benchmarks.md, "Seeding").
Each N is seeded once and kept as a template (like dirsync_lab.testdomain's), keyed by the seeding code, the
test domain's code and the Samba version.

Shape: users u000000… in OU=Bench,OU=Corp (all in scope); group g of USERS_PER_GROUP users each, every
user in exactly one group. Writes of an initial sync: N users, and for each group ⌈members / 20⌉ (its create
carries the first 20 members, each further write 20 more).
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
MAIL_DOMAIN = "dirsync.test"
TRANSACTION = 2000  # objects per sam.ldb transaction: bounds the transaction's memory


def user_dn(i: int) -> str:
    return f"CN=u{i:06d},{BENCH_OU}"


def group_dn(g: int) -> str:
    return f"CN=g{g:05d},{BENCH_OU}"


def group_count(n: int) -> int:
    return max(1, n // USERS_PER_GROUP)


def group_members(n: int, g: int) -> list[str]:
    """Group g's members, as the seeding gives them (every group_count-th user from the g-th)."""
    return [user_dn(i) for i in range(g, n, group_count(n))]


def expected_writes(n: int) -> int:
    """Writes of an initial sync: each user, then each group created with up to 20 of its members and the
    rest 20 to a write (MEMBERS_PER_WRITE)."""
    from dirsync.engine.ports import MEMBERS_PER_WRITE

    return n + sum(max(1, math.ceil(len(group_members(n, g)) / MEMBERS_PER_WRITE)) for g in range(group_count(n)))


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


def template(n: int) -> Path:
    """The folder of a stopped DC holding the bench directory of size n, built once under a lock."""
    def build(folder: Path) -> None:
        testdomain._copy(testdomain._template(False), folder)
        _seed_offline(folder, n)
    return testdomain.cached_build(CACHE_ROOT, _key(), str(n), build)


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


def start_domain(n: int, directory: Path) -> SambaDomain:
    """A running DC in `directory`, copied from the size-n template."""
    source = template(n)
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
