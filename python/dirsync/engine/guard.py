"""What stands between a plan and the cloud: the deletion threshold, preview and staging mode.

- Deletion threshold (prevent accidental deletes): on by default at 500. A plan that deletes more
  objects than the threshold is not exported at all (nothing is written, deletes or otherwise), as Entra
  Connect stops its export, until the deletes are allowed once or the threshold is raised.
- Preview (-WhatIf / --dry-run): import and plan, report, write nothing, not even the state.
- Staging mode: import and plan are kept in the state, the export is suppressed; the plan is reported.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import PreventAccidentalDeletesSettings
from ..vocabulary import RunStatus
from .planner import Plan


@dataclass(frozen=True)
class Verdict:
    export: bool
    status: RunStatus | None = None  # set when the guard stops the run
    message: str = ""


def check(plan: Plan, deletes: PreventAccidentalDeletesSettings, *, allow_deletes: bool, preview: bool,
          staging: bool) -> Verdict:
    count = plan.deletes
    if deletes.enabled and not allow_deletes and count > deletes.object_deletion_threshold:
        return Verdict(False, RunStatus.threshold_exceeded, (
            f"This run would delete {count} objects from Microsoft 365, more than the deletion threshold "
            f"of {deletes.object_deletion_threshold}, so it wrote nothing. If these deletes are intended, "
            "allow them once with 'Start-OnlineCoexistenceSync -AllowDeletes' ('dirsync sync "
            "--allow-deletes'), or raise the threshold with 'Set-PreventAccidentalDeletes -Enable "
            f"-ObjectDeletionThreshold {count}'. Otherwise correct the change in Active Directory or in "
            "the OU filter that removed them."))
    if preview:
        return Verdict(False, message="Preview: nothing was written.")
    if staging:
        return Verdict(False, message="Staging mode is on: the plan was recorded, nothing was written to "
                                      "Microsoft 365. Turn staging mode off to export it.")
    return Verdict(True)
