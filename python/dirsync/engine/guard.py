"""What stands between a plan and the cloud: another active server, the deletion threshold, preview and
staging mode.

- Another active server: the active (non-staging) server keeps a marker in the tenant (its server id, its
  host and its last run: Target.active_server). A run that finds another server's marker stops before any
  write, naming that server and the two ways out: staging mode here, or, when the other server is gone, an
  explicit take-over (-TakeOver, --take-over) that replaces the marker; the other server's next run then
  stops the same way. Two servers never export by turns: the marker passes
  only by an administrator's take-over, never by age.

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
from .ports import ActiveServer


@dataclass(frozen=True)
class Verdict:
    export: bool
    status: RunStatus | None = None  # set when the guard stops the run
    message: str = ""


MIN_SHARE_DELETES = 3


def check(plan: Plan, deletes: PreventAccidentalDeletesSettings, *, allow_deletes: bool, preview: bool,
          staging: bool, other_server: ActiveServer | None = None) -> Verdict:
    """`other_server`: another server's marker found in the tenant (not read in preview or staging mode, nor
    when this run takes over)."""
    if other_server is not None and not (preview or staging):
        return Verdict(False, RunStatus.another_server, another_server(other_server))
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


def another_server(other: ActiveServer) -> str:
    return (f"Another DirSync server exports to this tenant: {other.host} (server id {other.server_id}, last "
            f"marked active at {other.last_run}). Two active servers would undo each other's changes, so this "
            "run wrote nothing to Microsoft 365. If this server is meant to be the standby, turn staging mode "
            "on here: 'Set-CoexistenceConfiguration -StagingMode $true' ('dirsync config set --staging-mode on'). "
            "If the other server is gone for good, take over from it once: 'Start-OnlineCoexistenceSync "
            "-TakeOver' ('dirsync sync --take-over'); its runs then stop, naming this server.")
