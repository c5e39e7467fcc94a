"""Commands the Pester tests call through the bridge to observe it (they are not part of DirSync)."""

import time
from pathlib import Path


def progress_then_wait(marker: str, events):
    """Emits a progress event, then returns only once PowerShell has rendered it (the test's
    Write-Progress creates `marker`): proof that events reach PowerShell while the call runs."""
    events.progress("Probe", "waiting for PowerShell", done=1, total=2)
    deadline = time.monotonic() + 30
    while not Path(marker).exists():
        if time.monotonic() > deadline:
            raise TimeoutError("PowerShell did not render the progress event while the call was running")
        time.sleep(0.05)
    return {"seen": True}


def fail_unexpectedly():
    raise ValueError("a probe failure")
