"""One measured DirSync operation in a process of its own, so that its peak RSS is its own.

    python3 -m bench.child sync HOME WRITES SECONDS   one sync run (the engine's run_sync)
    python3 -m bench.child import HOME                one full import, objects counted and dropped
    python3 -m bench.child object HOME IDENTITY       Start-OnlineCoexistenceSync -Identity, as service.start_sync
    python3 -m bench.child deltas HOME REPEATS        a full import for a watermark, then REPEATS no-change delta
                                                      imports from it by DirSync and by uSNChanged, alternated

Both build the source with service.build_source from HOME, as service.start_sync does; the sync builds
its GraphTarget here, to give the write governor the (scaled) quota the tenant enforces and to note when
the export starts. Prints one JSON line, with peak_rss_mb (VmHWM: this process since its exec).
With DIRSYNC_BENCH_PROFILE=FOLDER each sync and object call leaves its cProfile statistics there
(sync-…/object-… .pstats, named by the quota and the process id).
"""

from __future__ import annotations

import cProfile
import json
import os
import sys
import time
from pathlib import Path

from dirsync import config, secrets, service
from dirsync.ad.reader import ActiveDirectorySource
from dirsync.cloud.writer import GraphTarget
from dirsync.engine.run import RunOptions, run_sync
from dirsync.events import Events
from dirsync.state.store import StateStore


def peak_rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def full_import(home: Path) -> dict:
    source = service.build_source(config.load(home), home, Events())
    start = time.perf_counter()
    objects = sum(1 for _ in source.full_import())
    return {"seconds": time.perf_counter() - start, "objects": objects}


def delta_modes(home: Path, repeats: int) -> dict:
    """Issue 15: Samba's DirSync search against uSNChanged polling (from highestCommittedUSN, plus the
    Deleted Objects container with the show-deleted control), each the whole delta import: connect, DC
    facts, searches."""
    source = service.build_source(config.load(home), home, Events())
    if not isinstance(source, ActiveDirectorySource):
        raise RuntimeError(f"service.build_source gave a {type(source).__name__}, not the AD reader.")
    run = source.full_import()
    sum(1 for _ in run)
    if run.watermark is None:
        raise RuntimeError("The full import left no watermark.")
    seconds: dict[str, list[float]] = {"dirsync": [], "usn": []}
    for _ in range(repeats):
        for mode in seconds:
            source.delta_mode = "auto" if mode == "dirsync" else "usn"
            start = time.perf_counter()
            delta = source.delta_import(run.watermark)
            items = sum(1 for _ in delta)
            seconds[mode].append(time.perf_counter() - start)
            if delta.mode != mode or items:
                raise RuntimeError(f"A no-change delta by {mode} ran as {delta.mode} and read {items} objects.")
    return {"dirsync_s": seconds["dirsync"], "usn_s": seconds["usn"]}


def sync(home: Path, quota: tuple[int, float]) -> dict:
    marks: dict[str, float] = {}

    def sink(event: dict) -> None:
        if event.get("activity", "").startswith("Synchronizing"):  # the engine's "Planning the changes"
            marks.setdefault("plan", time.perf_counter())

    class Target(GraphTarget):
        def apply(self, ops):
            marks.setdefault("export", time.perf_counter())
            return super().apply(ops)

    events = Events(sink)
    configuration = config.load(home)
    targets = []

    def connect():
        target = Target(configuration.tenant, secrets.load_secret(home, secrets.TENANT_CLIENT_SECRET),
                        write_quota=quota, events=events)
        targets.append(target)
        return service.build_source(configuration, home, events), target

    with StateStore(home) as store:
        start = time.perf_counter()
        result = profiled(f"sync-{quota[0]}-{quota[1]:.0f}s", lambda: run_sync(
            connect, store, configuration, RunOptions(trigger="bench", server_id=service.server_id(home)),
            events).to_dict())
        end = time.perf_counter()
    plan = marks.get("plan", end)
    export = marks.get("export", end)
    return {
        "status": result["status"], "message": result["message"], "mode": result["mode"], "counts": result["counts"],
        "errors": result["errors"][:5], "changes": len(result.get("changes", [])) + result.get("changesOmitted", 0),
        "seconds": end - start, "import_seconds": plan - start, "plan_seconds": export - plan,
        "export_seconds": end - export, "graph": targets[0].stats.to_dict() if targets else {},
    }


def profiled(name: str, fn):
    """fn(), under cProfile when DIRSYNC_BENCH_PROFILE names a folder (its statistics go there as NAME-PID)."""
    folder = os.environ.get("DIRSYNC_BENCH_PROFILE")
    if not folder:
        return fn()
    profiler = cProfile.Profile()
    try:
        return profiler.runcall(fn)
    finally:
        profiler.dump_stats(Path(folder) / f"{name}-{os.getpid()}.pstats")


def one_object(home: Path, identity: str) -> dict:
    start = time.perf_counter()
    result = profiled("object", lambda: service.start_sync(objects=[identity], home=home).to_dict())
    seconds = time.perf_counter() - start
    return {"status": result["status"], "counts": result["counts"], "seconds": seconds}


if __name__ == "__main__":
    command, home = sys.argv[1], Path(sys.argv[2])
    out = (full_import(home) if command == "import" else one_object(home, sys.argv[3]) if command == "object"
           else delta_modes(home, int(sys.argv[3])) if command == "deltas"
           else sync(home, (int(sys.argv[3]), float(sys.argv[4]))))
    print(json.dumps({**out, "peak_rss_mb": peak_rss_mb()}), flush=True)
