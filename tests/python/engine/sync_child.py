"""One sync in a process of its own, printing each event as a JSON line: what the crash-safety test kills.

After each export progress event it waits for a line on stdin, so the test's kill lands while the run is
in the middle of its export, never after it has finished."""

import json
import sys

from dirsync import service
from dirsync.events import Events

EXPORT = "Exporting to Microsoft 365"


def emit(event: dict) -> None:
    print(json.dumps(event), flush=True)
    if event["kind"] == "progress" and event["activity"] == EXPORT:
        sys.stdin.readline()


if __name__ == "__main__":
    result = service.start_sync(home=sys.argv[1], events=Events(emit))
    print(json.dumps({"kind": "result", **result.to_dict()}), flush=True)
