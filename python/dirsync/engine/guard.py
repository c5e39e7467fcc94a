"""What stands between a plan and the cloud: the deletion threshold, preview and staging mode.

- Deletion threshold (prevent accidental deletes): on by default at 500 objects or 10 % of the
  synchronized objects, whichever a plan passes first. A plan that deletes more is not exported at all
  (nothing is written, deletes or otherwise), as Entra Connect stops its export, until the deletes are
  allowed once or the threshold is raised. The percentage protects a small directory, which an OU filter
  typo empties long before 500; it ignores plans of fewer than MIN_SHARE_DELETES deletes, so that one or
  two leavers in a directory of a dozen never stop a run.
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


MIN_SHARE_DELETES = 3


def check(plan: Plan, deletes: PreventAccidentalDeletesSettings, *, allow_deletes: bool, preview: bool,
          staging: bool) -> Verdict:
    stop = None if allow_deletes or not deletes.enabled else _over_threshold(plan, deletes)
    if stop:
        return Verdict(False, RunStatus.threshold_exceeded, (
            f"{stop}, so it wrote nothing. If these deletes are intended, allow them once with "
            "'Start-OnlineCoexistenceSync -AllowDeletes' ('dirsync sync --allow-deletes'), or raise the "
            "threshold with Set-PreventAccidentalDeletes. Otherwise correct the change in Active Directory "
            "or in the OU filter that removed them."))
    if preview:
        return Verdict(False, message="Preview: nothing was written.")
    if staging:
        return Verdict(False, message="Staging mode is on: the plan was recorded, nothing was written to "
                                      "Microsoft 365. Turn staging mode off to export it.")
    return Verdict(True)


def _over_threshold(plan: Plan, deletes: PreventAccidentalDeletesSettings) -> str | None:
    count = plan.deletes
    synchronized = max(plan.synchronized, count)  # every delete acts on a synchronized object
    if count > deletes.object_deletion_threshold:
        return (f"This run would delete {count} objects from Microsoft 365, more than the deletion threshold "
                f"of {deletes.object_deletion_threshold} ('Set-PreventAccidentalDeletes -Enable "
                f"-ObjectDeletionThreshold {count}' would allow it)")
    percent = deletes.object_deletion_percentage
    if count >= MIN_SHARE_DELETES and count * 100 > percent * synchronized:
        share = -(-count * 100 // synchronized)  # rounded up: the least percentage that allows it
        return (f"This run would delete {count} of the {synchronized} synchronized objects from Microsoft 365 "
                f"({share} %), more than the deletion threshold of {percent} % "
                f"('Set-PreventAccidentalDeletes -Enable -ObjectDeletionPercentage {share}' would "
                "allow it)")
    return None
