"""The measurements at one size N, as ratios within one run wherever a peer exists (docs/benchmarks.md).

For each N and directory shape (bench.directory.SHAPES): a DC from that template, then
  import     ActiveDirectorySource.full_import vs ldapsearch (same server, filter, attributes and
             extended-DN control; LDAPS verified with the test CA), alternated `repeats` times; then
             `repeats` no-change delta imports by DirSync and by uSNChanged polling, alternated;
  initial    a first sync into a fresh local tenant with the write quotas off; its writes (the tenant's
             own counter) against issue 15's bound, users + groups + managers + Σ⌈members / 20⌉;
  delta0     `repeats` delta syncs with nothing changed;
  delta1     a delta sync after 1 % of the users changed;
  object     one user disabled, then deleted, in AD, each followed by Start-OnlineCoexistenceSync -Identity
             (the whole call: connections, sign-in, read, plan, write), `repeats` users each;
  throttled  a first sync into another fresh tenant whose quota is the documented one (3,000 writes per
             150 s per app and tenant, 18,000 per 300 s per tenant) with time scaled so that its rate is
             half the unthrottled write rate, the client's governor told the same quota.
DirSync's imports and syncs run in child processes (bench.child), each reporting its own peak RSS.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import ldap3

from dirsync import config, secrets
from dirsync.ad.reader import KINDS_FILTER, READ_ATTRIBUTES
from dirsync.config import ActiveDirectorySettings, Configuration, SyncSettings
from dirsync_lab.tenant import DIRSYNC_PERMISSIONS, LocalTenant
from dirsync_lab.testdomain import ADMIN_USER, BASE_DN, FACTS_FILE, SambaDomain

from .directory import BENCH_OU, MAIL_DOMAIN, change_users, expected_writes, start_domain, user_dn, writes_bound

DOCUMENTED_QUOTA = (3000, 150.0)         # per app and tenant
DOCUMENTED_TENANT_QUOTA = (18000, 300.0)  # per tenant
UNLIMITED = (10**9, 150.0)
ROOT = Path(__file__).resolve().parents[1]


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


# --- import vs ldapsearch ----------------------------------------------------------------------------------

def ldapsearch(domain: SambaDomain, out: Path) -> None:
    env = {**os.environ, "LDAPTLS_CACERT": domain.ca_file, "LDAPTLS_REQCERT": "demand"}
    with open(out, "wb") as sink:
        subprocess.run(["ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-H", f"ldaps://{domain.address}", "-x",
                        "-D", ADMIN_USER, "-w", domain.admin_password, "-b", BASE_DN,
                        "-E", "pr=1000/noprompt",
                        # The reader's extended-DN control (string GUIDs), so the server does the same work.
                        "-E", "!1.2.840.113556.1.4.529=::MAMCAQE=",
                        KINDS_FILTER, *READ_ATTRIBUTES], stdout=sink, env=env, check=True)


def count_entries(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(1 for line in f if line.startswith(b"dn:"))  # "dn::" when base64


def measure_import(domain: SambaDomain, home: Path, work: Path, repeats: int) -> dict:
    ours, theirs = [], []
    for _ in range(repeats):  # alternated, so a busy neighbour slows both alike
        seconds, _ = timed(lambda: ldapsearch(domain, work / "ldapsearch.ldif"))
        theirs.append(seconds)
        ours.append(child(home, "import"))
    modes = child(home, "deltas", repeats)
    return {"dirsync_s": [r["seconds"] for r in ours], "ldapsearch_s": theirs, "objects": ours[-1]["objects"],
            "ldapsearch_entries": count_entries(work / "ldapsearch.ldif"),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in ours),
            "ratio": statistics.median(r["seconds"] for r in ours) / statistics.median(theirs),
            "no_change_delta": {"dirsync_s": modes["dirsync_s"], "usn_s": modes["usn_s"],
                                "ratio": statistics.median(modes["usn_s"]) / statistics.median(modes["dirsync_s"])}}


# --- syncs in child processes ------------------------------------------------------------------------------

def child(home: Path, *args) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "python"), str(ROOT / "lab"), str(ROOT)])}
    proc = subprocess.run([sys.executable, "-m", "bench.child", args[0], str(home), *map(str, args[1:])],
                          capture_output=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"bench.child {args[0]} failed ({proc.returncode}): {proc.stderr.decode()[-3000:]}")
    return json.loads(proc.stdout.decode().strip().splitlines()[-1])


def sync(home: Path, quota: tuple[int, float]) -> dict:
    return child(home, "sync", *quota)


def make_home(domain: SambaDomain, tenant: LocalTenant, home: Path) -> None:
    app = tenant.register_app("DirSync", secret=True, permissions=DIRSYNC_PERMISSIONS)
    configuration = Configuration(
        active_directory=ActiveDirectorySettings(server=domain.address, port=636, ca_file=domain.ca_file,
                                                 base_dn=BASE_DN, service_account=ADMIN_USER),
        tenant=tenant.tenant_settings(app), sync=SyncSettings(include_ous=[BENCH_OU]))
    config.save(configuration, home)
    secrets.store_secret(home, secrets.AD_SERVICE_ACCOUNT_PASSWORD, domain.admin_password)
    if app.secret is None:
        raise RuntimeError("The local tenant returned no client secret for an app registered with secret=True.")
    secrets.store_secret(home, secrets.TENANT_CLIENT_SECRET, app.secret)


def fresh_tenant(folder: Path, quota: tuple[int, float], tenant_quota: tuple[int, float]) -> LocalTenant:
    tenant = LocalTenant(folder, subprocess=True).start()
    tenant.add_domain(MAIL_DOMAIN)
    tenant.configure(write_quota_app_tenant=list(quota), write_quota_tenant=list(tenant_quota))
    return tenant


def with_stats(run: dict, tenant: LocalTenant) -> dict:
    stats = tenant.stats()
    tenant.reset()
    writes = stats.get("writes", 0)
    run["tenant"] = stats
    if writes:
        run["requests_per_write"] = stats.get("graph_requests", 0) / writes
        run["writes_per_s"] = writes / run["seconds"]
    return run


PARTS = ("import", "delta", "throttled")  # the ones a run may skip; the initial sync and `object` always run


def measure(n: int, work: Path, repeats: int = 3, quota_limit: int = DOCUMENTED_QUOTA[0],
            skip: frozenset[str] = frozenset(), shape: str = "flat") -> dict:
    """Everything at size n of that shape but the parts in `skip`. `quota_limit` other than 3,000 only
    for the smoke test (a small N must still meet the quota)."""
    work.mkdir(parents=True, exist_ok=True)
    report: dict = {"n": n, "shape": shape, "expected_writes": expected_writes(n, shape),
                    "writes_bound": writes_bound(n, shape)}
    seconds, domain = timed(lambda: start_domain(n, work / "dc", shape))
    report["domain_start_s"] = seconds
    report["seed_s"] = json.loads((work / "dc" / FACTS_FILE).read_text()).get("seed_seconds")
    try:
        tenant = fresh_tenant(work / "tenant", UNLIMITED, UNLIMITED)
        try:
            make_home(domain, tenant, work / "home")
            if "import" not in skip:
                report["import"] = measure_import(domain, work / "home", work, repeats)
            tenant.reset()
            report["initial"] = with_stats(sync(work / "home", UNLIMITED), tenant)
            if report["initial"]["status"] != "success":  # a row of a failed sync would measure nothing
                raise RuntimeError(f"The initial sync at N={n} ended {report['initial']['status']}: "
                                   f"{report['initial']['message']}")
            # Every write the tenant counted, the first sync's three fixed ones too (guard.py).
            report["initial"]["writes_vs_bound"] = report["initial"]["tenant"].get("writes", 0) / report["writes_bound"]
            if "delta" not in skip:
                report["delta0"] = [with_stats(sync(work / "home", UNLIMITED), tenant) for _ in range(repeats)]
                changed = change_users(domain, n, max(1, n // 100), "changed")
                report["delta1"] = with_stats(sync(work / "home", UNLIMITED), tenant)
                report["delta1"]["changed_in_ad"] = changed
            if "throttled" not in skip:
                report["throttled"] = throttled(domain, work, report["initial"], quota_limit)
            # Last: it deletes users, which the throttled initial sync must still find.
            report["object"] = measure_object(domain, work / "home", n, repeats)
        finally:
            tenant.stop()
    finally:
        domain.remove()
    return report


def measure_object(domain: SambaDomain, home: Path, n: int, repeats: int) -> dict:
    conn = domain.connect()
    disabled, deleted = [], []
    for k in range(repeats):
        victim = user_dn((k * 7919 + 13) % n)  # spread over the directory
        conn.modify(victim, {"userAccountControl": [(ldap3.MODIFY_REPLACE, [514])]})
        disabled.append(child(home, "object", victim))
        conn.delete(victim)
        deleted.append(child(home, "object", victim))  # by its old DN, which the state remembers
    conn.unbind()
    for run in disabled + deleted:
        if run["status"] != "success":
            raise RuntimeError(f"a one-object sync ended {run['status']}: {run}")
    return {"disable_s": [r["seconds"] for r in disabled], "delete_s": [r["seconds"] for r in deleted],
            "updated": sum(r["counts"]["updated"] for r in disabled),
            "deleted": sum(r["counts"]["deleted"] for r in deleted),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in disabled + deleted)}


def throttled(domain: SambaDomain, work: Path, unthrottled: dict, limit: int) -> dict:
    # Time is scaled, not the limit: the burst of a window and the number of windows per write keep
    # the proportions of the real quota. Half the unthrottled write rate keeps the run quota-bound.
    rate = max(1.0, unthrottled["writes_per_s"] / 2)
    scale = DOCUMENTED_QUOTA[1] / (limit / rate)
    quota = (limit, DOCUMENTED_QUOTA[1] / scale)
    tenant_quota = (DOCUMENTED_TENANT_QUOTA[0] * limit // DOCUMENTED_QUOTA[0], DOCUMENTED_TENANT_QUOTA[1] / scale)
    tenant = fresh_tenant(work / "tenant-throttled", quota, tenant_quota)
    try:
        tenant.reset()
        make_home(domain, tenant, work / "home-throttled")
        run = with_stats(sync(work / "home-throttled", quota), tenant)
    finally:
        tenant.stop()
    writes = run["tenant"].get("writes", 0)
    run["quota"] = {"writes": quota[0], "seconds": quota[1], "time_scale": scale}
    run["bound_s"] = writes * quota[1] / quota[0]  # every write at the allowed rate
    run["export_ratio"] = run["export_seconds"] / run["bound_s"]
    # Scaling time down shrinks the writes' share but not the import's: at the documented quota the
    # same run would take the import and plan plus `scale` times the export.
    run["documented_ratio"] = (run["seconds"] - run["export_seconds"] + run["export_seconds"] * scale) / \
        (run["bound_s"] * scale)
    return run
