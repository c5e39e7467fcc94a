"""Connections to an Active Directory domain controller: LDAPS or StartTLS, certificates verified.

A simple bind sends the password as it is, so this module only binds once TLS is up: there is no
plain-text mode. Verification can be switched off explicitly (`verify=False`), and then every
connection warns, so the choice stays visible in every run's log.

Every failure becomes a typed DirSyncError naming the server and the fix; passwords never appear in
messages (ldap3's own exception text can echo request fields, so it is not passed on verbatim).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Literal

import ldap3
from ldap3.core import exceptions as ldap_errors
from ldap3.strategy.base import RESPONSE_COMPLETE, SESSION_TERMINATED_BY_SERVER
from ldap3.strategy.sync import SyncStrategy
from ldap3.utils.asn1 import decode_message_fast
from ldap3.utils.conv import to_unicode

from .. import errors
from ..events import Events

Transport = Literal["ldaps", "starttls"]
DEFAULT_PORTS = {"ldaps": 636, "starttls": 389}


@dataclass(frozen=True)
class LdapSettings:
    """Where the domain controller is and how to trust it.

    ca_file: PEM file of the CA(s) that issued the DC's certificate; None means the system store.
    verify: False skips certificate verification (a warning is emitted at every connection).
    """

    server: str
    transport: Transport = "ldaps"
    port: int | None = None
    ca_file: str | None = None
    verify: bool = True
    timeout: int = 10  # seconds, for connecting
    # Seconds for each answer. Not the connect timeout: a DC may evaluate a whole search before its first page
    # (Samba took 6 to 12 s for the first page of 100,000 users, docs/benchmarks.md); a DC that stopped
    # answering is still found within two minutes.
    answer_timeout: int = 120

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.transport]

    @property
    def address(self) -> str:
        return f"{self.server}:{self.effective_port}"


def connect(settings: LdapSettings, user: str, password: str, events: Events | None = None) -> ldap3.Connection:
    """A bound connection (simple bind inside TLS). `user` is a UPN, DOMAIN\\name or a DN."""
    events = events or Events()
    if settings.transport not in DEFAULT_PORTS:
        raise errors.InvalidArgumentError(
            f"Connection security '{settings.transport}' for {settings.server} is not allowed: a simple bind "
            "without TLS would send the password in clear.",
            fix="Use 'ldaps' (port 636) or 'starttls' (port 389).", target=settings.server)
    if not settings.verify:
        events.warning(f"Certificate verification is OFF for {settings.address}: anyone on the network path "
                       "could impersonate the domain controller and read the service account password. "
                       "Configure the CA file instead.")
    conn = _open(settings, user, password)
    try:
        if settings.transport == "starttls":
            _start_tls(conn, settings)
        _bind(conn, settings, user, password)
    except BaseException:
        try:
            conn.unbind()
        except ldap_errors.LDAPException:
            pass  # the socket may already be broken (a failed TLS handshake); the first error counts
        raise
    return conn


class RawEntries(SyncStrategy):
    """ldap3's synchronous strategy, but a search entry becomes {"type": "searchResEntry", "dn": str,
    "attrs": {lower-cased attribute name: [bytes, ...]}} and nothing else.

    ldap3 decodes each message into a tree of tuples (its generic BER decoder), then turns an entry into
    both `attributes` (every value formatted, with several look-ups of its settings per value) and
    `raw_attributes`, each a case-insensitive dict. At 10,000 users that was most of the import's own
    time (docs/benchmarks.md, "Issue 15: the reader"); the reader uses only the raw values. So an entry
    is read straight from its bytes (`search_entry`); every other message (results, their controls and
    paging cookies, errors, notices) is ldap3's own decoding."""

    def _get_response(self, message_id, timeout):
        # SyncStrategy._get_response, less what these connections never use (usage counters, logging,
        # Novell's transaction notice).
        responses: list = []
        complete = False
        while not complete:
            messages = self.receiving()
            if not messages:
                return SESSION_TERMINATED_BY_SERVER
            for message in messages:
                entry = search_entry(message, message_id)
                if entry is not None:
                    responses.append(entry)
                    continue
                decoded = decode_message_fast(message)
                response = self.decode_response_fast(decoded)
                if decoded["messageID"] == message_id:
                    responses.append(response)
                    complete = response["type"] not in ("searchResEntry", "searchResRef", "intermediateResponse")
                elif decoded["messageID"] == 0 and response.get("responseName") == NOTICE_OF_DISCONNECTION:
                    return SESSION_TERMINATED_BY_SERVER
                else:
                    raise ldap_errors.LDAPSocketReceiveError(
                        f"LDAP message {decoded['messageID']} received while waiting for {message_id}")
        responses.append(RESPONSE_COMPLETE)
        return responses


NOTICE_OF_DISCONNECTION = "1.3.6.1.4.1.1466.20036"  # RFC 4511, 4.4.1
SEARCH_RESULT_ENTRY = 0x64  # [APPLICATION 4], constructed


def search_entry(message: bytes, message_id: int) -> dict | None:
    """An LDAPMessage holding a SearchResultEntry (RFC 4511, 4.5.2) as {"type", "dn", "attrs"}; None for
    any other message. The entry's own controls, if any, are not read."""
    _, at = _length(message, 1)                       # LDAPMessage ::= SEQUENCE {
    size, at = _length(message, at + 1)               # messageID INTEGER
    if message[at + size] != SEARCH_RESULT_ENTRY:
        return None
    if int.from_bytes(message[at:at + size], "big", signed=True) != message_id:
        raise ldap_errors.LDAPSocketReceiveError(f"A search entry of another operation than {message_id} was received")
    _, at = _length(message, at + size + 1)           # protocolOp [APPLICATION 4] SEQUENCE {
    size, at = _length(message, at + 1)               # objectName LDAPDN
    raw_dn = message[at:at + size]
    size, at = _length(message, at + size + 1)        # attributes SEQUENCE OF
    end, attrs = at + size, {}
    while at < end:
        size, at = _length(message, at + 1)           # PartialAttribute ::= SEQUENCE {
        next_attribute = at + size
        size, at = _length(message, at + 1)           # type AttributeDescription
        name = message[at:at + size].decode("ascii").lower()
        size, at = _length(message, at + size + 1)    # vals SET OF
        values, stop = [], at + size
        while at < stop:
            size, at = _length(message, at + 1)       # AttributeValue OCTET STRING
            values.append(message[at:at + size])
            at += size
        attrs[name] = values
        at = next_attribute
    try:
        dn = raw_dn.decode("utf-8")
    except UnicodeDecodeError:  # ldap3's fallback encodings (AD can hold a DN that is not UTF-8)
        dn = to_unicode(raw_dn, from_server=True)
    return {"type": "searchResEntry", "dn": dn, "attrs": attrs}


def _length(message: bytes, at: int) -> tuple[int, int]:
    """The BER length at `at`, and where its value starts."""
    first = message[at]
    if first < 0x80:
        return first, at + 1
    count = first & 0x7F
    if not count:  # RFC 4511, 5.1: only the definite form of length encoding is used
        raise ldap_errors.LDAPSocketReceiveError("An LDAP message with an indefinite BER length was received")
    return int.from_bytes(message[at + 1:at + 1 + count], "big"), at + 1 + count


def raw_entries(conn: ldap3.Connection) -> ldap3.Connection:
    """`conn`, its search entries decoded by RawEntries from now on."""
    if type(conn.strategy) is not SyncStrategy or not conn.fast_decoder:
        raise TypeError(f"raw_entries needs ldap3's SyncStrategy with its fast decoder, not {conn.strategy!r}")
    conn.strategy.__class__ = RawEntries  # the connection keeps bound methods of this very object
    return conn


def check_trust(settings: LdapSettings) -> None:
    """Open TLS to the domain controller and close it, binding no one: whether its certificate is trusted
    (CertificateError) and it answers (ServerUnreachableError), before anyone types a password."""
    conn = _open(settings, "", "")
    try:
        if settings.transport == "starttls":
            _start_tls(conn, settings)
    finally:
        try:
            conn.unbind()
        except ldap_errors.LDAPException:
            pass  # the socket may already be broken (a failed TLS handshake); the first error counts


def _tls(settings: LdapSettings) -> ldap3.Tls:
    if not settings.verify:
        return ldap3.Tls(validate=ssl.CERT_NONE)
    return ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=settings.ca_file,
                     version=ssl.PROTOCOL_TLS_CLIENT)


def _open(settings: LdapSettings, user: str, password: str) -> ldap3.Connection:
    server = ldap3.Server(settings.server, port=settings.effective_port,
                          use_ssl=settings.transport == "ldaps", tls=_tls(settings),
                          get_info=ldap3.NONE, connect_timeout=settings.timeout)
    # auto_range off: ldap3's automatic range follow-up drops the extended-DN control; the reader
    # fetches ranges itself. raise_exceptions on so every failure reaches the mapping below.
    conn = ldap3.Connection(server, user, password, authentication=ldap3.SIMPLE, auto_range=False,
                            raise_exceptions=True, receive_timeout=int(settings.answer_timeout),
                            return_empty_attributes=False, read_only=False)
    try:
        conn.open()
    except ldap_errors.LDAPException as exc:
        raise _socket_error(exc, settings) from None
    return conn


def _start_tls(conn: ldap3.Connection, settings: LdapSettings) -> None:
    try:
        ok = conn.start_tls()
    except ldap_errors.LDAPException as exc:
        raise _socket_error(exc, settings) from None
    if not ok:
        raise errors.ServerUnreachableError(
            f"The domain controller {settings.address} refused StartTLS.",
            fix="Enable TLS on the domain controller (install a certificate) or use LDAPS on port 636.",
            target=settings.server)


def _bind(conn: ldap3.Connection, settings: LdapSettings, user: str, password: str) -> None:
    if not password:
        # An empty password makes a simple bind anonymous, which "succeeds" and then reads nothing.
        raise errors.AuthenticationError(f"No password given for {user} on {settings.address}.",
                                         fix="Give the account's password.", target=settings.server)
    try:
        conn.bind()
    except ldap_errors.LDAPInvalidCredentialsResult:
        raise errors.AuthenticationError(
            f"The domain controller {settings.address} rejected the user name or password of {user}.",
            fix="Check the account name (user@domain or DOMAIN\\user) and its password; the account must "
                "be enabled and not locked out.", target=settings.server) from None
    except ldap_errors.LDAPOperationResult as exc:
        raise errors.AuthenticationError(
            f"The domain controller {settings.address} refused the bind of {user}: {exc.description}.",
            fix="Check the account and that the domain controller accepts simple binds over TLS.",
            target=settings.server) from None
    except ldap_errors.LDAPException as exc:
        raise _socket_error(exc, settings) from None
    finally:
        conn.password = None  # not kept on the connection object once bound


def _socket_error(exc: Exception, settings: LdapSettings) -> errors.DirSyncError:
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text or isinstance(
            exc, ldap_errors.LDAPCertificateError) or "doesn't match" in text:
        detail = ("its certificate does not match the name " + settings.server
                  if "match" in text and "verify failed" not in text else "its certificate is not trusted")
        return errors.CertificateError(
            f"The TLS connection to the domain controller {settings.address} failed: {detail}.",
            fix="Set the CA file to the certificate authority that issued the DC's certificate, and "
                "connect with a name (or IP) that the certificate lists.", target=settings.server)
    return errors.ServerUnreachableError(
        f"Cannot reach the domain controller {settings.address}.",
        fix=f"Check the server name and port, that the domain controller is running and that "
            f"{settings.transport.upper()} (port {settings.effective_port}) is open through firewalls.",
        target=settings.server)
