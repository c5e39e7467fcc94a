"""The wording of export errors (pure: the UPN holder is looked up by the caller)."""

from __future__ import annotations

from dirsync.engine import explain
from dirsync.engine.ports import Change, CloudObject, CloudOp, CloudResult
from dirsync.vocabulary import CloudAction, Outcome, PlanAction

UPN_TAKEN = "Another object with the same value for property userPrincipalName already exists."
ADD = Change(PlanAction.add, "user", "a1", "CN=bob", {"userPrincipalName": "bob@contoso.com", "mailNickname": "bob"})


def result(outcome: Outcome, message: str = "", code: str = "") -> CloudResult:
    return CloudResult(CloudOp(CloudAction.create, "user", "a1"), outcome, error_code=code, message=message)


def test_a_upn_conflict_names_the_cloud_only_user_holding_it_and_the_soft_match_way_out():
    conflict = result(Outcome.conflict, UPN_TAKEN)
    assert explain.conflicting_upn(ADD, conflict) == "bob@contoso.com"
    reason, fix = explain.explain(ADD, conflict, CloudObject("cloud-7", "user", None, "Bob@contoso.com"))
    assert reason == ("UPN conflict: the userPrincipalName 'bob@contoso.com' is already used by the cloud user "
                      "'Bob@contoso.com' (id cloud-7), which is not synchronized from Active Directory.")
    assert fix.startswith("Rename or delete the cloud user")
    assert "-SoftMatch $true" in fix and fix.endswith(explain.RETRY)


def test_a_upn_held_by_a_synced_user_names_it_and_says_to_change_one_of_the_two_in_ad():
    holder = CloudObject("cloud-8", "user", "a2", "bob@contoso.onmicrosoft.com")
    reason, fix = explain.explain(ADD, result(Outcome.conflict, UPN_TAKEN), holder, holder_dn="CN=bobby,OU=Staff",
                                  source_upn="bob@contoso.local")
    assert reason == ("UPN conflict: the userPrincipalName 'bob@contoso.local' (in Microsoft 365 'bob@contoso.com': "
                      "its suffix is not a verified domain of the tenant, so it takes the initial domain) is "
                      "already used by 'bob@contoso.onmicrosoft.com' (id cloud-8), which DirSync synchronizes "
                      "from CN=bobby,OU=Staff.")
    assert fix.startswith("Change the userPrincipalName of one of the two in Active Directory")
    assert "delete" not in fix.lower() and "SoftMatch" not in fix


def test_a_upn_held_by_an_object_another_directory_anchors_is_not_called_cloud_only():
    reason, fix = explain.explain(ADD, result(Outcome.conflict, UPN_TAKEN), CloudObject("c", "user", "other", "b@c"))
    assert "another directory synchronization anchors" in reason and "SoftMatch" not in fix
    assert "another object in Microsoft 365" in explain.explain(ADD, result(Outcome.conflict, UPN_TAKEN))[0]


def test_other_conflicts_name_the_property_and_its_value_and_need_no_lookup():
    conflict = result(Outcome.conflict, "Another object with the same value for property mailNickname already exists.")
    assert explain.conflicting_upn(ADD, conflict) is None
    reason, fix = explain.explain(ADD, conflict)
    assert reason == "Conflict: another object in Microsoft 365 already has mailNickname 'bob'."
    assert fix.startswith("Change mailNickname of this object in Active Directory")
    assert explain.explain(ADD, result(Outcome.conflict, "Duplicate."))[0] == "Conflict: Duplicate."


def test_lost_throttled_and_refused_writes():
    assert explain.explain(ADD, result(Outcome.not_found))[0] == "Its cloud object was deleted outside DirSync."
    assert "HTTP 429" in explain.explain(ADD, result(Outcome.throttled))[0]
    assert explain.explain(ADD, result(Outcome.failed, code="Request_BadRequest"))[0] == (
        "Microsoft 365 refused the change: Request_BadRequest")
    assert explain.explain(ADD, result(Outcome.failed, "Invalid value."))[0] == (
        "Microsoft 365 refused the change: Invalid value.")


def test_run_messages():
    assert explain.unexpected(KeyError("x")) == "The run stopped on an unexpected error: KeyError: 'x'"
    assert explain.export_errors(2).startswith("2 object(s) could not be exported")
    link = Change(PlanAction.add_member, "group", "g", "CN=Team", ref="u", ref_dn="CN=bob")
    assert explain.not_yet(link) == "Not yet: addMember CN=Team → CN=bob."


def test_a_protected_administrator_is_explained_with_the_way_out():
    for action in (PlanAction.delete, PlanAction.update):
        change = Change(action, "user", "a1", "CN=boss", {"accountEnabled": False})
        reason, fix = explain.explain(change, result(Outcome.failed, "Insufficient privileges to complete the "
                                                     "operation.", "Authorization_RequestDenied"))
        assert "holds a Microsoft Entra administrator role" in reason and "User.ReadWrite.All" in reason
        assert fix.startswith("Remove the role from this user") and "admin center" in fix


def test_an_object_synced_by_entra_connect_is_explained_once_for_the_run():
    refused = result(Outcome.failed, "Unable to update the specified properties for on-premises mastered "
                     "Directory Sync objects or objects currently undergoing migration.", "Request_BadRequest")
    assert explain.managed_elsewhere(refused)
    reason, fix = explain.explain(Change(PlanAction.adopt, "user", "a1", "CN=bob", {}), refused)
    assert "Entra Connect or Cloud Sync" in reason and "Turn off directory synchronization" in fix
    message = explain.managed_elsewhere_message(300)
    assert message.startswith("300 object(s) are managed by Entra Connect or Cloud Sync")
    assert "turn off directory synchronization in the tenant first" in message


def test_a_proxy_address_conflict_names_the_mail():
    change = Change(PlanAction.add, "user", "a1", "CN=bob", {"mail": "bob@contoso.com"})
    reason, fix = explain.explain(change, result(Outcome.conflict, "Another object with the same value for "
                                                 "property proxyAddresses already exists."))
    assert "'bob@contoso.com'" in reason and fix.startswith("Change mail")
