"""python3 -m bench [--sizes 1000,10000,100000] [--shape flat,linked] [--repeats 3] [--skip import,delta,throttled]
                   [--out FILE]

See bench/run.py for what each part measures."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .directory import SHAPES
from .run import PARTS, measure


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "")
    mem = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    samba = subprocess.run(["samba", "--version"], capture_output=True, text=True).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem / 2**20, 1), "kernel": platform.release(),
            "python": platform.python_version(), "samba": samba, "load_before": os.getloadavg()}


def writes(r: dict) -> str:
    return (f"{r['initial']['tenant'].get('writes', 0):,} / {r['writes_bound']:,} = "
            f"{r['initial']['writes_vs_bound']:.3f}")


def row(r: dict) -> str:
    """One table row; "—" for a part a run with --skip did not measure."""
    init, obj = r["initial"], r["object"]
    imp, d1, thr, d0 = r.get("import"), r.get("delta1"), r.get("throttled"), r.get("delta0")
    cells = [f"{r['n']:,}", r["shape"], writes(r),
             f"{statistics.median(imp['dirsync_s']):.2f} / {statistics.median(imp['ldapsearch_s']):.2f} = "
             f"{imp['ratio']:.2f}×" if imp else "—",
             f"{init['seconds']:.1f} s, {init['writes_per_s']:.0f} writes/s", f"{init['requests_per_write']:.3f}",
             f"{statistics.median(d['seconds'] for d in d0):.2f} s" if d0 else "—",
             f"{d1['seconds']:.2f} s ({d1['changes']} changes)" if d1 else "—",
             f"export {thr['export_seconds']:.1f} s / bound {thr['bound_s']:.1f} s = {thr['export_ratio']:.2f}; "
             f"whole run at the documented quota {thr['documented_ratio']:.2f}; {thr['counts']['errors']} failed, "
             f"{thr['tenant'].get('quota_429', 0)} 429s" if thr else "—",
             f"{max(p['peak_rss_mb'] for p in (imp, init, d1, thr, *(d0 or [])) if p):.0f} MB",
             f"{statistics.median(obj['disable_s']):.2f} / {statistics.median(obj['delete_s']):.2f} s"]
    return "| " + " | ".join(cells) + " |"


HEADER = ("| N users | shape | initial sync's writes / issue 15's bound | full import: DirSync / ldapsearch | "
          "initial sync, quota off | HTTP requests per write | "
          "no-change delta (median) | 1 % delta | throttled initial sync vs quota bound | peak RSS | "
          "one object now: disable / delete (median) |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m bench", description=__doc__)
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated numbers of users")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each import and no-change delta")
    parser.add_argument("--out", help="write the full results as JSON here")
    parser.add_argument("--shape", default="flat",
                        help=f"comma-separated directory shapes, each measured at every size: {', '.join(SHAPES)}")
    parser.add_argument("--skip", default="", help=f"comma-separated parts not to measure: {', '.join(PARTS)}")
    parser.add_argument("--work", help="folder for the domains and tenants (default: a temporary one)")
    args = parser.parse_args(argv)
    skip = frozenset(s for s in args.skip.split(",") if s)
    if skip - set(PARTS):
        parser.error(f"--skip: no part named {', '.join(sorted(skip - set(PARTS)))}; the parts are {', '.join(PARTS)}")
    shapes = [s for s in args.shape.split(",") if s]
    if not shapes or set(shapes) - set(SHAPES):
        parser.error(f"--shape: {args.shape!r} names no shape; the shapes are {', '.join(SHAPES)}")
    facts = machine()
    results = []
    with tempfile.TemporaryDirectory(prefix="dirsync-bench-", dir=args.work) as work:
        for n in (int(s) for s in args.sizes.split(",")):
            for shape in shapes:  # side by side at each size
                start = time.monotonic()
                results.append(measure(n, Path(work) / f"{shape}-{n}", args.repeats, skip=skip, shape=shape))
                results[-1]["wall_s"] = time.monotonic() - start
                results[-1]["load_after"] = os.getloadavg()
                # Each row as soon as it is known: a 100k run takes most of an hour.
                print(f"N={n:,} {shape} measured in {results[-1]['wall_s']:.0f} s\n{row(results[-1])}",
                      file=sys.stderr, flush=True)
    facts["load_after"] = os.getloadavg()
    if args.out:
        Path(args.out).write_text(json.dumps({"machine": facts, "results": results}, indent=2))
    print(json.dumps(facts))
    print(HEADER)
    for r in results:
        print(row(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
