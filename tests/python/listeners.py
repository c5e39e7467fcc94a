"""Real servers for what DirSync tells: an SMTP server (aiosmtpd, STARTTLS or TLS with the lab's test CA,
sign-in required) and a syslog listener on a socket of the test's own. Each keeps what it received."""

from __future__ import annotations

import email
import email.policy
import os
import socket
import ssl
import tempfile
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from dirsync_lab.tenant.pki import ensure_pki


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    """A mail server on 127.0.0.1 that takes mail only encrypted and only from `username`/`password`."""

    def __init__(self, folder: Path, username: str, password: str, implicit_tls: bool = False):
        folder.mkdir(parents=True, exist_ok=True)
        self.pki = ensure_pki(folder)
        self.username, self.password = username, password
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []
        self.port = free_port()
        self.implicit_tls = implicit_tls
        self._controller: Controller | None = None

    @property
    def ca_file(self) -> str:
        return str(self.pki.ca_file)

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.pki.server_cert_file, self.pki.server_key_file)
        return context

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == self.username.encode() and \
            auth_data.password == self.password.encode()
        return AuthResult(success=ok, handled=False)

    async def handle_DATA(self, server, session, envelope) -> str:
        self.raw.append(envelope.content)
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"

    def start(self) -> "SmtpServer":
        # TLS from the start is TLS to the client, not to aiosmtpd's own STARTTLS bookkeeping: sign-in needs no
        # "auth_require_tls" there, the socket is encrypted before the first byte.
        tls = {"ssl_context": self._context(), "auth_require_tls": False} if self.implicit_tls else \
            {"tls_context": self._context(), "require_starttls": True, "auth_require_tls": True}
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, authenticator=self._authenticate,
                                      auth_required=True, server_hostname="localhost", **tls)
        self._controller.start()  # returns once the server answers
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> "SmtpServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class SyslogListener:
    """A syslog socket (AF_UNIX datagrams, as /dev/log) that keeps every datagram it receives. Once the sender's
    send() has returned, its datagram waits in this socket's queue: reading the queue dry needs no waiting."""

    def __init__(self):
        # A short path: a socket's path may not exceed 107 bytes, and pytest's tmp_path can.
        self._folder = tempfile.mkdtemp(prefix="dirsync-syslog-", dir="/tmp")
        self.address = os.path.join(self._folder, "log")
        self.received: list[bytes] = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(self.address)
        self._sock.setblocking(False)

    def lines(self) -> list[str]:
        """Everything received so far, as text."""
        while True:
            try:
                self.received.append(self._sock.recv(65536))
            except BlockingIOError:
                return [d.decode("utf-8") for d in self.received]

    def close(self) -> None:
        """Nothing listens at the address any more (a second call does nothing)."""
        if os.path.exists(self._folder):
            self._sock.close()
            os.unlink(self.address)
            os.rmdir(self._folder)


if __name__ == "__main__":
    # For the Pester tests: python3 tests/python/listeners.py FOLDER USER PASSWORD runs an SmtpServer that writes
    # each message it takes to FOLDER/mail-N.eml, prints {"port", "caFile"} once it answers, and stops when its
    # standard input closes.
    import json
    import sys
    import warnings

    warnings.simplefilter("ignore", DeprecationWarning)  # aiosmtpd's own, on its stderr, which the test shows

    class _Keeping(SmtpServer):
        async def handle_DATA(self, server, session, envelope) -> str:
            Path(sys.argv[1], f"mail-{len(self.raw) + 1}.eml").write_bytes(envelope.content)
            return await super().handle_DATA(server, session, envelope)

    with _Keeping(Path(sys.argv[1]), sys.argv[2], sys.argv[3]) as running:
        print(json.dumps({"port": running.port, "caFile": running.ca_file}), flush=True)
        sys.stdin.read()
