"""One sync run in a process of its own, so the parent can read its peak RSS (wait4's ru_maxrss).

    python3 -m bench.sync_child HOME WRITES SECONDS [--full]

The run is the engine's (run_sync) with service.build_source, as service.start_sync wires it; only the
GraphTarget is built here, to give its write governor the (scaled) quota the tenant enforces and to note
when the export starts.
Prints one JSON line: status, counts, errors, the seconds of each phase and the Graph client's stats.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from dirsync import config, secrets, service
from dirsync.cloud.writer import GraphTarget
from dirsync.engine.run import RunOptions, run_sync
from dirsync.events import Events
from dirsync.state.store import StateStore


def main(argv: list[str]) -> None:
    home, quota = Path(argv[0]), (int(argv[1]), float(argv[2]))
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
        result = run_sync(connect, store, configuration, RunOptions(full="--full" in argv, trigger="bench"), events)
        end = time.perf_counter()
    plan = marks.get("plan", end)
    export = marks.get("export", end)
    print(json.dumps({
        "status": result["status"], "mode": result["mode"], "counts": result["counts"],
        "errors": result["errors"][:5], "changes": len(result.get("changes", [])),
        "seconds": end - start, "import_seconds": plan - start, "plan_seconds": export - plan,
        "export_seconds": end - export, "graph": targets[0].stats.to_dict() if targets else {},
    }), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
