"""The wording of a run's errors: why an object could not be written and what to do about it.

Pure: what it needs to know of the cloud (who holds a UPN in conflict) is looked up by run.py
beforehand; `conflicting_upn` says when.
"""

from __future__ import annotations

import re

from ..vocabulary import Outcome, PlanAction
from .ports import Change, CloudObject, CloudResult

RETRY = "DirSync retries at every run."


def cancelled(written: int, planned: int) -> str:
    if not planned:  # stopped before the export
        return "Stopped by the administrator before anything was written to Microsoft 365."
    return (f"Stopped by the administrator: {written} of the {planned} planned changes were written to "
            "Microsoft 365 and are kept; the next run carries on with the rest.")


def duration(seconds: float) -> str:
    """A time as an administrator reads it: "45 s", "12 min 30 s", "2 h 5 min"."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def unexpected(err: Exception) -> str:
    return f"The run stopped on an unexpected error: {type(err).__name__}: {err}"


def export_errors(count: int) -> str:
    return (f"{count} object(s) could not be exported; each error says why and how to fix it. DirSync retries "
            "them at every run.")


def groups_waiting(err: Exception) -> str:
    """The run-level word when the group anchor property is refused: users synced, groups did not."""
    return f"Users were synchronized; groups that Microsoft 365 may already have wait: {err}"


def not_yet(change: Change) -> str:
    """A link not written because one end is not in the cloud (its own export failed and is reported)."""
    return f"Not yet: {change.action} {change.dn} → {change.ref_dn}."


# Graph's answer to a write of an on-premises-mastered property of an object another engine synchronizes
# (microsoftgraph/microsoft-graph-docs issues 7301 and 18038).
_SYNCED_ELSEWHERE = "on-premises mastered Directory Sync objects"
MANAGED_ELSEWHERE_FIX = ("Turn off directory synchronization in the tenant first "
                         "(https://learn.microsoft.com/microsoft-365/enterprise/turn-off-directory-synchronization), "
                         "wait until the objects are cloud-managed, then run DirSync again.")


def managed_elsewhere(result: CloudResult) -> bool:
    """The object is synchronized by Entra Connect or Cloud Sync: Graph refuses what they master."""
    return _SYNCED_ELSEWHERE in (result.message or "")


def managed_elsewhere_message(count: int) -> str:
    """The run's one message for every object refused because another engine synchronizes it."""
    return (f"{count} object(s) are managed by Entra Connect or Cloud Sync (onPremisesSyncEnabled), so Microsoft "
            f"365 refuses DirSync's changes to them: turn off directory synchronization in the tenant first. "
            f"{MANAGED_ELSEWHERE_FIX}")


def _conflicting_property(result: CloudResult) -> str:
    match = re.search(r"property (\w+)", result.message or "")
    return match[1] if match else ""


def conflicting_upn(change: Change, result: CloudResult) -> str | None:
    """The UPN whose holder the explanation of this result names, or None."""
    if (result.outcome == Outcome.conflict and change.kind == "user"
            and _conflicting_property(result) == "userPrincipalName"):
        return (change.properties or {}).get("userPrincipalName", "")
    return None


def _upn_conflict(upn: str, holder: CloudObject | None, holder_dn: str | None,
                  source_upn: str | None) -> tuple[str, str]:
    ours = f"'{upn}'"
    if source_upn and source_upn.lower() != upn.lower():
        ours = (f"'{source_upn}' (in Microsoft 365 '{upn}': its suffix is not a verified domain of the tenant, "
                "so it takes the initial domain)")
    theirs = f"'{holder.user_principal_name}' (id {holder.cloud_id})" if holder else ""
    if holder and holder_dn:
        return (f"UPN conflict: the userPrincipalName {ours} is already used by {theirs}, which DirSync "
                f"synchronizes from {holder_dn}.",
                "Change the userPrincipalName of one of the two in Active Directory so that they differ in "
                f"Microsoft 365; the next sync writes it. {RETRY}")
    if holder and not holder.anchor:
        return (f"UPN conflict: the userPrincipalName {ours} is already used by the cloud user {theirs}, which is "
                "not synchronized from Active Directory.",
                "Rename or delete the cloud user in Microsoft 365, or give this user another UPN in Active "
                "Directory; to let DirSync take over that cloud user instead, turn on soft matching "
                f"(Set-CoexistenceConfiguration -SoftMatch $true). {RETRY}")
    if holder:
        return (f"UPN conflict: the userPrincipalName {ours} is already used by {theirs}, which another directory "
                "synchronization anchors (it has an onPremisesImmutableId that DirSync does not know).",
                "Give this user another UPN in Active Directory, or rename the other user where it is managed. "
                f"{RETRY}")
    return (f"UPN conflict: the userPrincipalName {ours} is already used by another object in Microsoft 365 "
            "(not found by a lookup now: a deleted user, or one not replicated yet).",
            f"Give this user another UPN in Active Directory if the conflict persists. {RETRY}")


def protected_user(change: Change, result: CloudResult) -> bool:
    """Graph refused to delete or change a user as app-only User.ReadWrite.All may not (an administrator).
    https://learn.microsoft.com/graph/api/user-delete . Which role it holds is not looked up: reading another
    user's memberOf app-only needs Directory.Read.All (user-list-memberof), beyond DirSync's permissions."""
    return (result.error_code == "Authorization_RequestDenied" and change.kind == "user"
            and change.action in (PlanAction.delete, PlanAction.update, PlanAction.adopt, PlanAction.restore))


def explain(change: Change, result: CloudResult, upn_holder: CloudObject | None = None, *,
            holder_dn: str | None = None, source_upn: str | None = None) -> tuple[str, str]:
    """(reason, fix) of a failed write. `upn_holder`: the cloud user holding conflicting_upn(); `holder_dn`:
    its DN when DirSync synchronizes it from Active Directory; `source_upn`: this user's UPN in AD."""
    if result.outcome == Outcome.conflict:
        prop = _conflicting_property(result)
        props = change.properties or {}
        upn = conflicting_upn(change, result)
        if upn is not None:
            return _upn_conflict(upn, upn_holder, holder_dn, source_upn)
        if prop == "proxyAddresses":  # computed from mail (https://learn.microsoft.com/graph/api/resources/user)
            return (f"Conflict: another object in Microsoft 365 already has the address '{props.get('mail', '')}' "
                    "(its mail or one of its proxyAddresses).",
                    f"Change mail of this object in Active Directory, or remove the address from the other object. "
                    f"{RETRY}")
        if prop:
            value = props.get(prop, "")
            return (f"Conflict: another object in Microsoft 365 already has {prop} '{value}'.",
                    f"Change {prop} of this object in Active Directory, or rename the other object. {RETRY}")
        return (f"Conflict: {result.message}", f"Resolve the duplicate value. {RETRY}")
    if result.outcome == Outcome.not_found:
        return ("Its cloud object was deleted outside DirSync.",
                "The next run restores it from deleted items while Microsoft 365 keeps it there (30 days), "
                "or creates it again.")
    if protected_user(change, result):
        return ("This user holds a Microsoft Entra administrator role (such as Global Administrator or User "
                "Administrator); an app with User.ReadWrite.All cannot delete it, disable it or "
                "change its sign-in name, phones or anchor.",
                "Remove the role from this user in the Microsoft Entra admin center, or make this change to the "
                f"user in the admin center yourself. {RETRY}")
    if managed_elsewhere(result):
        return ("It is managed by Entra Connect or Cloud Sync (onPremisesSyncEnabled), so Microsoft 365 refuses "
                "changes to what Active Directory masters.", MANAGED_ELSEWHERE_FIX)
    if result.outcome == Outcome.throttled:
        return ("Microsoft 365 kept throttling the requests (HTTP 429) until the retries ran out.",
                f"Nothing to do unless it persists. {RETRY}")
    return (f"Microsoft 365 refused the change: {result.message or result.error_code}",
            f"Correct the value in Active Directory if the message names one. {RETRY}")
