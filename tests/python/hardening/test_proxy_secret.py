"""A proxy URL given with user:password@: the password goes to the secrets store, never into dirsync.json,
`config show`, an event, an error or the log, and the run's session still authenticates to the proxy with it."""

from __future__ import annotations

import base64
import socketserver
import threading
from pathlib import Path

import pytest

from dirsync import config, secrets

from .test_secrets import cli, leaks

PASSWORD = "Pr0xy-S3cret/with:odd@chars"
QUOTED = "Pr0xy-S3cret%2Fwith%3Aodd%40chars"  # as a URL carries it


class _Proxy(socketserver.ThreadingTCPServer):
    """A proxy that records each CONNECT's headers and refuses it (407), as a proxy refusing a client does."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        self.requests: list[str] = []
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    line = self.rfile.readline()
                    if not line:
                        break
                    head += line
                proxy.requests.append(head.decode(errors="replace"))
                self.wfile.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n"
                                 b"Connection: close\r\n\r\n")

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.fixture
def proxy():
    server = _Proxy()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def configured_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    config.save(config.from_dict({
        "activeDirectory": {"server": "127.0.0.9", "serviceAccount": "MSOL_16fb75d0227d@dirsync.test"},
        "tenant": {"tenantId": "contoso.onmicrosoft.com", "clientId": "00000000-0000-0000-0000-000000000001",
                   "credentialType": "secret", "authorityHost": "https://login.contoso.test",
                   "graphEndpoint": "https://graph.contoso.test"}}), home)
    secrets.store_secret(home, secrets.AD_SERVICE_ACCOUNT_PASSWORD, "unused-ad-password")
    secrets.store_secret(home, secrets.TENANT_CLIENT_SECRET, "unused-client-secret")
    return home


def test_a_proxy_password_is_kept_in_the_secrets_store_and_never_shown(tmp_path, proxy):
    home = configured_home(tmp_path)
    port = proxy.server_address[1]
    given = cli(home, "config", "set", "--proxy", f"http://dirsync:{QUOTED}@127.0.0.1:{port}")
    assert given.returncode == 0, given.stderr
    shown = cli(home, "config", "show")
    assert f"http://dirsync@127.0.0.1:{port}" in shown.stdout
    assert secrets.load_secret(home, secrets.PROXY_PASSWORD) == PASSWORD

    run = cli(home, "sync")  # signs in through the proxy, which refuses it
    assert run.returncode != 0
    [connect] = [r for r in proxy.requests if r.startswith("CONNECT login.contoso.test:443")][:1]
    sent = base64.b64encode(f"dirsync:{PASSWORD}".encode()).decode()
    assert f"Proxy-Authorization: Basic {sent}" in connect  # the session got the password back

    named = {"proxy password": PASSWORD, "proxy password, quoted": QUOTED}
    outputs = (given.stdout + given.stderr + shown.stdout + shown.stderr + run.stdout + run.stderr).encode()
    assert leaks(outputs, named) == []
    for path in home.rglob("*"):
        if path.is_file() and path.parent.name != "secrets":
            assert leaks(path.read_bytes(), named) == [], path


def test_a_proxy_password_written_into_the_file_is_refused(tmp_path):
    home = configured_home(tmp_path)
    text = config.config_path(home).read_text().replace('"proxy": null', f'"proxy": "http://u:{QUOTED}@proxy:8080"')
    config.config_path(home).write_text(text)
    with pytest.raises(config.ConfigurationError) as caught:
        config.load(home)
    assert "password" in caught.value.message and PASSWORD not in str(caught.value)
    assert QUOTED not in str(caught.value)


def test_removing_the_proxy_removes_its_password(tmp_path):
    home = configured_home(tmp_path)
    assert cli(home, "config", "set", "--proxy", f"http://dirsync:{QUOTED}@127.0.0.1:3128").returncode == 0
    assert cli(home, "config", "set", "--proxy", "").returncode == 0
    assert config.load(home).tenant.proxy is None
    assert not (home / "secrets" / secrets.PROXY_PASSWORD).exists()


def test_set_coexistence_configuration_never_shows_the_proxy_password(tmp_path):
    import os
    import shutil
    import subprocess
    pwsh = shutil.which("pwsh") or str(Path.home() / ".dotnet/tools/pwsh")
    home = configured_home(tmp_path)
    module = Path(__file__).resolve().parents[3] / "powershell" / "DirSync.psd1"
    script = (f"Import-Module '{module}'; $u = 'http://dirsync:{QUOTED}@127.0.0.1:3128'; "
              "Set-CoexistenceConfiguration -Proxy $u -WhatIf -Verbose; "
              "Set-CoexistenceConfiguration -Proxy $u -Verbose -PassThru | Format-List *; "
              "(Get-CoexistenceConfiguration).Tenant | Format-List *")
    run = subprocess.run([pwsh, "-NoProfile", "-NonInteractive", "-Command", script], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "DIRSYNC_HOME": str(home)})
    assert run.returncode == 0, run.stderr
    assert "dirsync:***@127.0.0.1:3128" in run.stdout + run.stderr  # -WhatIf says what it would set
    assert "http://dirsync@127.0.0.1:3128" in run.stdout
    assert leaks((run.stdout + run.stderr).encode(), {"proxy password": PASSWORD, "quoted": QUOTED}) == []
