"""What the technical contact and the system log hear of the runs, end to end: the real Samba domain and
local tenant, a real SMTP server on loopback (aiosmtpd: STARTTLS with the lab's test CA and a sign-in), and a
syslog socket of the test's own, as DirSync's settings point at them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import replace

import pytest

from dirsync import config, secrets, service
from dirsync.errors import NotificationError
from dirsync.state.store import StateStore

from listeners import SmtpServer, SyslogListener

from .conftest import CORP

SALES = f"OU=Sales,OU=People,{CORP}"  # most of the lab's objects are outside it: a scope typo
SMTP_USER, SMTP_PASSWORD = "dirsync-mailer", "Smtp-Passw0rd-7f3a"


@pytest.fixture
def smtp(tmp_path):
    with SmtpServer(tmp_path / "smtp", SMTP_USER, SMTP_PASSWORD) as server:
        yield server


@pytest.fixture
def syslog():
    listener = SyslogListener()
    yield listener
    listener.close()


@pytest.fixture
def told(lab, smtp, syslog):
    """The lab's home sending its e-mail to `smtp` and its events to `syslog`; its scope put back after."""
    original = config.load(lab.home)
    config.save(replace(original,
                        notifications=config.NotificationSettings(
                            smtp_server="localhost", smtp_port=smtp.port, smtp_username=SMTP_USER,
                            ca_file=smtp.ca_file, sender="dirsync@dirsync.test",
                            recipients=["admin@dirsync.test", "oncall@dirsync.test"]),
                        system_log=config.SystemLogSettings(address=syslog.address, facility="local3")), lab.home)
    secrets.store_secret(lab.home, secrets.SMTP_PASSWORD, SMTP_PASSWORD)
    assert lab.sync()["status"] == "success"
    smtp.messages.clear()
    syslog.lines()
    syslog.received.clear()
    yield lab
    config.save(original, lab.home)
    secrets.delete_secret(lab.home, secrets.SMTP_PASSWORD)
    with StateStore(lab.home) as store:
        for kind in store.incidents():
            store.clear_incident(kind)


def set_scope(lab, *include: str) -> None:
    lab.configure(include_ous=list(include))


def test_a_threshold_stop_is_mailed_once_while_it_lasts_and_once_when_it_clears(told, smtp):
    lab = told
    set_scope(lab, SALES)
    stopped = lab.sync()
    assert stopped["status"] == "stopped-deletion-threshold-exceeded", stopped
    deleting = sum(1 for change in stopped["plan"] if change["action"] == "delete")
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["Subject"].endswith("a synchronization run stopped at the deletion threshold")
    assert message["From"] == "dirsync@dirsync.test"
    assert message["To"] == "admin@dirsync.test, oncall@dirsync.test"
    body = message.get_content()
    assert f"This run would delete {deleting} of the" in body  # the count
    assert "-AllowDeletes" in body and "Set-PreventAccidentalDeletes" in body  # the fixes
    assert "Get-CoexistenceSyncHistory -Last 1" in body and f"Run {stopped['runId']} " in body
    assert stopped["notices"] == []

    again = lab.sync()  # the same incident: nothing new to tell
    assert again["status"] == "stopped-deletion-threshold-exceeded"
    assert len(smtp.messages) == 1

    set_scope(lab)  # the typo corrected: the whole domain again
    back = lab.sync()
    assert back["status"] == "success", back
    assert len(smtp.messages) == 2
    cleared = smtp.messages[1]
    assert cleared["Subject"].endswith("cleared: a synchronization run stopped at the deletion threshold")
    assert f"(run {stopped['runId']})" in cleared.get_content()

    assert lab.sync()["status"] == "success"  # nothing more while all is well
    assert len(smtp.messages) == 2


def test_with_the_smtp_server_down_the_run_ends_as_it_would_have_and_its_history_says_what_was_not_sent(told, smtp):
    lab = told
    smtp.stop()
    set_scope(lab, SALES)
    stopped = lab.sync()
    assert stopped["status"] == "stopped-deletion-threshold-exceeded"
    assert "This run would delete" in stopped["message"]
    assert len(stopped["notices"]) == 1
    notice = stopped["notices"][0]
    assert "a synchronization run stopped at the deletion threshold' was not sent" in notice
    assert f"could not reach the SMTP server localhost:{smtp.port}" in notice and "-SmtpServer" in notice
    assert service.sync_history(last=1, home=lab.home)[0].notices == [notice]
    assert SMTP_PASSWORD not in notice
    shown = subprocess.run([sys.executable, "-m", "dirsync.cli", "history", "--last", "1", "--home", str(lab.home)],
                           capture_output=True, text=True, timeout=120,
                           env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), "COLUMNS": "200"})
    assert f"Run {stopped['runId']}: The notification" in shown.stdout and "was not sent" in shown.stdout

    smtp.start()  # back: the incident not yet told is told at the next run
    assert lab.sync()["status"] == "stopped-deletion-threshold-exceeded"
    assert len(smtp.messages) == 1 and "deletion threshold" in smtp.messages[0]["Subject"]
    set_scope(lab)
    assert lab.sync()["status"] == "success"
    assert len(smtp.messages) == 2


def test_the_test_notification_reaches_every_recipient_and_a_wrong_password_is_refused_by_name(told, smtp):
    lab = told
    sent = service.send_test_notification(home=lab.home)
    assert sent["recipients"] == ["admin@dirsync.test", "oncall@dirsync.test"] and sent["security"] == "starttls"
    assert len(smtp.messages) == 1 and smtp.messages[0]["Subject"].endswith("test notification")
    secrets.store_secret(lab.home, secrets.SMTP_PASSWORD, "not-the-password")
    with pytest.raises(NotificationError) as refused:
        service.send_test_notification(home=lab.home)
    assert f"refused the user name or password of {SMTP_USER}" in refused.value.message
    assert "-SmtpCredential" in refused.value.fix and "not-the-password" not in str(refused.value)
    assert len(smtp.messages) == 1


def test_a_server_certificate_from_an_unknown_ca_is_refused(told, smtp):
    lab = told
    current = config.load(lab.home)
    config.save(replace(current, notifications=replace(current.notifications, ca_file=None)), lab.home)
    with pytest.raises(NotificationError) as refused:
        service.send_test_notification(home=lab.home)
    assert "showed a certificate DirSync does not trust" in refused.value.message
    assert "-SmtpCaFile" in refused.value.fix
    assert smtp.messages == []


def test_each_run_writes_its_summary_to_the_system_log_and_a_stopped_run_its_reason(told, syslog):
    lab = told
    run = lab.sync()
    lines = syslog.lines()
    assert len(lines) == 1
    local3_info = 19 * 8 + 6
    assert re.match(rf"<{local3_info}>dirsync\[\d+\]: run={run['runId']} status=success mode=delta ", lines[0])
    assert f"inScope={run['counts']['inScope']}" in lines[0]

    set_scope(lab, SALES)
    stopped = lab.sync()
    lines = syslog.lines()[1:]
    assert len(lines) == 2
    local3_err = 19 * 8 + 3
    assert lines[0].startswith(f"<{local3_err}>dirsync[") and "status=stopped-deletion-threshold-exceeded" in lines[0]
    assert lines[1].startswith(f"<{local3_err}>dirsync[")
    assert f"run={stopped['runId']} stopped (stopped-deletion-threshold-exceeded): This run would delete" in lines[1]
    set_scope(lab)


def test_a_system_log_that_cannot_be_written_is_a_notice_and_the_run_succeeds(told, syslog):
    lab = told
    syslog.close()  # nothing listens at the address any more
    run = lab.sync()
    assert run["status"] == "success"
    assert len(run["notices"]) == 1 and "were not written to the system log at" in run["notices"][0]
    assert "-SystemLogAddress" in run["notices"][0]


# aiosmtpd warns of sign-in without STARTTLS, blind to a socket encrypted from its first byte.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_tls_from_the_start_on_its_own_port_works_as_well(told, tmp_path):
    lab = told
    current = config.load(lab.home)
    with SmtpServer(tmp_path / "smtps", SMTP_USER, SMTP_PASSWORD, implicit_tls=True) as smtps:
        config.save(replace(current, notifications=replace(current.notifications, smtp_port=smtps.port,
                                                           smtp_security="tls", ca_file=smtps.ca_file)), lab.home)
        assert service.send_test_notification(home=lab.home)["security"] == "tls"
        assert len(smtps.messages) == 1
