"""E-mail to the technical contact over SMTP: always encrypted (STARTTLS or TLS from the start), the
server's certificate verified, the password from the secrets store and never in a message or an error."""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from ..config import NotificationSettings
from ..errors import NotificationError
from .incidents import Email

TIMEOUT_SECONDS = 30


def send(settings: NotificationSettings, password: str | None, email: Email) -> None:
    """Send `email` to every recipient, or raise NotificationError saying what to change."""
    where = f"the SMTP server {settings.smtp_server}:{settings.smtp_port}"
    if not settings.smtp_server:
        raise NotificationError("No SMTP server is set, so DirSync sends no e-mail.",
                                fix="Set one: Set-CoexistenceConfiguration -SmtpServer smtp.contoso.com "
                                    "-NotificationSender dirsync@contoso.com -NotificationRecipients "
                                    "admin@contoso.com.")
    if settings.smtp_username and not password:
        raise NotificationError(f"{where} is set to sign in as {settings.smtp_username}, but no password is "
                                "stored.",
                                fix="Give it again: Set-CoexistenceConfiguration -SmtpCredential (Get-Credential) "
                                    "(dirsync config set --smtp-username NAME --smtp-password-stdin).")
    message = EmailMessage()
    message["From"], message["To"] = settings.sender, ", ".join(settings.recipients)
    message["Subject"], message["Date"] = email.subject, formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    message.set_content(email.body)
    try:
        context = ssl.create_default_context(cafile=settings.ca_file)
    except (OSError, ssl.SSLError) as err:
        raise NotificationError(f"The CA file {settings.ca_file} for {where} cannot be read: {_said(err)}.",
                                fix="Give the file of the CA that issued the server's certificate (-SmtpCaFile).") \
            from None
    try:
        if settings.smtp_security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(settings.smtp_server, settings.smtp_port, timeout=TIMEOUT_SECONDS,
                                                    context=context)
        else:
            client = smtplib.SMTP(settings.smtp_server, settings.smtp_port, timeout=TIMEOUT_SECONDS)
        with client:
            if settings.smtp_security == "starttls":
                client.ehlo()
                if not client.has_extn("starttls"):
                    raise NotificationError(
                        f"{where} does not offer STARTTLS, and DirSync sends e-mail only encrypted.",
                        fix="Use the server's TLS port with -SmtpSecurity tls (usually 465), or another server.")
                client.starttls(context=context)
            if settings.smtp_username:
                client.login(settings.smtp_username, password or "")
            client.send_message(message)
    except ssl.SSLCertVerificationError as err:
        raise NotificationError(f"{where} showed a certificate DirSync does not trust: {_said(err.verify_message)}.",
                                fix="If a private CA issued it, give that CA's file with -SmtpCaFile "
                                    "(--smtp-ca-file); check that -SmtpServer is the name in the certificate.") \
            from None
    except smtplib.SMTPAuthenticationError as err:
        raise NotificationError(f"{where} refused the user name or password of {settings.smtp_username} "
                                f"({err.smtp_code}).",
                                fix="Give the right ones: Set-CoexistenceConfiguration -SmtpCredential "
                                    "(Get-Credential).") from None
    except smtplib.SMTPRecipientsRefused as err:
        refused = ", ".join(err.recipients)
        raise NotificationError(f"{where} refused the recipients {refused}.",
                                fix="Correct -NotificationRecipients, or allow DirSync's sender to send to them.") \
            from None
    except smtplib.SMTPSenderRefused as err:
        raise NotificationError(f"{where} refused the sender {err.sender} ({err.smtp_code}).",
                                fix="Set a sender the server accepts with -NotificationSender.") from None
    except smtplib.SMTPException as err:
        raise NotificationError(f"{where} did not take the message: {_said(err)}.",
                                fix="Check the SMTP settings (Get-CoexistenceConfiguration) and the server's log.") \
            from None
    except (OSError, socket.timeout) as err:
        raise NotificationError(f"DirSync could not reach {where}: {_said(err.strerror or err)}.",
                                fix="Check -SmtpServer, -SmtpPort and -SmtpSecurity, and that the server accepts "
                                    "connections from this machine.") from None


def _said(problem) -> str:
    """What the library said, to end a sentence of ours (without its own full stop)."""
    return str(problem).rstrip(".")
