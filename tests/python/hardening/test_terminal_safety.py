"""Hostile terminal data: a CN or attribute in Active Directory that carries terminal escape sequences
(OSC to retitle the window, CSI to erase a line, BEL, CR, the 8-bit CSI U+009B, a bidi override) or rich
markup. Synchronized through the real lab, then shown by the `dirsync` command and by pwsh: the raw
characters never reach the screen or the log (they appear as visible escapes, so the object can still be
found), scripts get the true value, and Microsoft 365 is never sent a control character.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ldap3.utils.dn import escape_rdn

import dirsync as package
from dirsync import bridge
from dirsync.errors import DirSyncError
from dirsync_lab.testdomain.seed import MAIL_DOMAIN

from engine.conftest import CORP

SOURCE = Path(package.__file__).parent.parent
CHECKOUT = SOURCE.parent
HOSTILE_OU = f"OU=Terminal,{CORP}"
# Retitles the window, then erases the line and paints a fake success over it, then the 8-bit CSI.
TITLE = "\x1b]0;pwned\x07"
FAKE = "\r\x1b[2K\x1b[32mAll objects synchronized\x1b[0m\x9b31m"
MARKUP = "[bold red]markup[/]"
RAW = ("\x1b", "\x07", "\x9b", "\r", "\u202e")


@pytest.fixture(scope="module")
def hostile(lab):
    conn = lab.ldap()
    conn.add(HOSTILE_OU, "organizationalUnit")
    # The CN itself is hostile: it is the DN shown for the object in every table and warning.
    evil = f"CN={escape_rdn('Evil ' + TITLE + MARKUP)},{HOSTILE_OU}"
    assert conn.add(evil, "user", {"sAMAccountName": "termevil", "userAccountControl": 514,
                                   "userPrincipalName": f"termevil@{MAIL_DOMAIN}",
                                   "displayName": f"Evil{TITLE} \u202eusers{FAKE}",
                                   "department": f"Sales{FAKE}"}), conn.result
    # In error whatever its values (a space in the UPN): its hostile DN is shown in the errors and warnings.
    assert conn.add(f"CN={escape_rdn('Bad UPN ' + TITLE + FAKE)},{HOSTILE_OU}", "user", {
        "sAMAccountName": "termupn", "userAccountControl": 514, "userPrincipalName": f"bad upn@{MAIL_DOMAIN}"})
    # Only line breaks and tabs: a usable value, flattened.
    address = f"CN=Multi Line,{HOSTILE_OU}"
    assert conn.add(address, "user", {"sAMAccountName": "termaddr", "userAccountControl": 514,
                                      "userPrincipalName": f"termaddr@{MAIL_DOMAIN}",
                                      "streetAddress": "1 Main St\r\nBuilding\t2", "displayName": "Multi\tLine"})
    conn.unbind()
    return lab, evil, address


def _dirsync(lab, *args):
    env = {**os.environ, "DIRSYNC_HOME": str(lab.home), "COLUMNS": "1000", "PYTHONPATH": str(SOURCE)}
    return subprocess.run([sys.executable, "-m", "dirsync.cli", *args], capture_output=True, env=env)


def _assert_neutralised(output: bytes):
    text = output.decode("utf-8")
    for raw in RAW:
        assert raw not in text, (raw, text)


def test_the_cli_shows_hostile_ad_text_as_visible_escapes_and_json_keeps_it(hostile):
    lab, evil, address = hostile
    preview = _dirsync(lab, "sync", "--full", "--dry-run")
    _assert_neutralised(preview.stdout + preview.stderr)  # the plan table names each object
    shown = _dirsync(lab, "sync", "--full", "--verbose")
    _assert_neutralised(shown.stdout + shown.stderr)
    # Exit 3: the hostile user is in error (its values cannot go to the cloud), the run went on.
    assert shown.returncode == 3, shown.stderr.decode()
    out = shown.stdout.decode()
    assert "\\x1b]0" in out and "pwned\\x07" in out and "\\x9b31m" in out  # the object can still be found
    assert MARKUP in out  # rich markup in a CN is printed, never applied
    assert "control character U+001B" in out  # the reason names it

    as_json = _dirsync(lab, "history", "--last", "1", "--json")
    assert as_json.returncode == 0, as_json.stderr.decode()
    errors = json.loads(as_json.stdout)[0]["errors"]
    assert any("\x1b]0" in e["dn"] for e in errors)  # scripts get the true DN, JSON-escaped
    assert b"\x1b" not in as_json.stdout


def test_microsoft_365_receives_no_control_character(hostile):
    lab, evil, address = hostile
    result = lab.sync(full=True)
    errors = {e["anchor"]: e for e in result["errors"]}
    # ESC, BEL, CR in displayName/department cannot be made usable: reported, with the fix in AD.
    assert lab.anchor(evil) not in lab.users()
    reported = errors[lab.anchor(evil)]
    assert "control character" in reported["reason"] and "Active Directory" in reported["fix"]
    # Line breaks and tabs become one space: the user arrives.
    user = lab.users()[lab.anchor(address)]
    assert user["streetAddress"] == "1 Main St Building 2" and user["displayName"] == "Multi Line"
    assert lab.anchor(address) not in errors


@pytest.mark.parametrize("prop, value", [("displayName", "a\x1b]0;x\x07b"), ("department", "a\x9bb"),
                                         ("streetAddress", "line\nbreak")])
def test_the_local_tenant_refuses_control_characters_as_the_stricter_reading(lab, prop, value):
    answer = lab.graph.post(f"{lab.graph.base}/users", timeout=30, json={
        "accountEnabled": False, "displayName": "Control test", "mailNickname": "controltest",
        "userPrincipalName": f"control.{prop}@{MAIL_DOMAIN}", prop: value,
        "passwordProfile": {"password": "Ctl-Passw0rd!x", "forceChangePasswordNextSignIn": True}})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["details"] == [{"code": "InvalidValue", "target": prop}]


@pytest.mark.skipif(shutil.which("pwsh") is None and not (Path.home() / ".dotnet/tools/pwsh").exists(),
                    reason="needs pwsh")
def test_pwsh_warnings_and_verbose_never_carry_raw_escape_sequences(hostile):
    lab, evil, address = hostile
    pwsh = shutil.which("pwsh") or str(Path.home() / ".dotnet/tools/pwsh")
    # PowerShell's own colours (its VERBOSE prefix) are off: any escape left would be DirSync's.
    script = ("$PSStyle.OutputRendering = 'PlainText'; "
              f"Import-Module '{CHECKOUT / 'powershell' / 'DirSync.psd1'}'; "
              "$r = Start-OnlineCoexistenceSync -FullSync -Confirm:$false -Verbose; $r.Status; "
              # the formatted views: the errors' table, the verification's list
              "$r.Errors | Out-String -Width 1000; Test-CoexistenceSync | Out-String -Width 1000")
    shown = subprocess.run([pwsh, "-NoProfile", "-NonInteractive", "-Command", script], capture_output=True,
                           env={**os.environ, "DIRSYNC_HOME": str(lab.home)}, timeout=300)
    _assert_neutralised(shown.stdout + shown.stderr)
    out = (shown.stdout + shown.stderr).decode()
    assert "completed-export-errors" in out, out
    assert "\\x1b]0" in out and "pwned\\x07" in out  # the warning names the object, visibly
    assert out.count("pwned\\x07") >= 3  # in the warnings and in the errors' table


def _raise_hostile():
    raise DirSyncError(f"Cannot read CN=x{TITLE},{CORP}.", fix=f"Fix {FAKE}.")


def test_an_error_message_to_powershell_is_neutralised():
    call = bridge.start(f"{__name__}:_raise_hostile")
    reply: dict = {"done": False}
    while not reply["done"]:
        reply = json.loads(bridge.poll(call, 1.0))
    message = reply["error"]["message"] + reply["error"]["fix"]
    assert not any(raw in message for raw in RAW)
    assert "\\x1b]0;pwned\\x07" in message


@pytest.mark.parametrize("last", ["0", "-1"])
def test_history_refuses_a_count_below_one(lab, last):
    shown = _dirsync(lab, "history", "--last", last)
    assert shown.returncode == 2
    assert b"1 or more" in shown.stderr


def test_a_run_and_the_verification_count_the_same_objects_in_scope(lab):
    full = lab.sync(full=True)
    delta = lab.sync()
    from dirsync import service
    report = service.test_sync(lab.home)
    assert full["counts"]["inScope"] == delta["counts"]["inScope"] == report["objectsInScope"]
    assert report["objectsSkipped"] == len(full["skipped"])
