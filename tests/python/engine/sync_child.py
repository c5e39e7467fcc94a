"""One sync in a process of its own, printing each event as a JSON line: what the crash-safety test kills."""

import json
import sys

from dirsync import service
from dirsync.events import Events

if __name__ == "__main__":
    result = service.start_sync(home=sys.argv[1], events=Events(lambda e: print(json.dumps(e), flush=True)))
    print(json.dumps({"kind": "result", **result}), flush=True)
