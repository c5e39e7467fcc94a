"""A real Active Directory domain for tests, benchmarks and the demo: a Samba AD DC on a loopback address.

    with SambaDomain.create(tmp_path / "dc", seeded=True) as dc:
        dc.facts()  # server, port, base DN, admin user/password (of this test domain only), CA file

Each domain lives in its own folder, listens only on its own 127.x.y.z address (two run side by side)
and has its own CA, whose certificate names that address and the DC's DNS name, so clients verify
TLS for real. Provisioning a Samba domain takes several seconds and seeding 1,600 users more, so both
are done once and kept as templates (keyed by this package's source and the Samba version) that each
new domain copies.

Command line (a domain on its own; `dirsync-lab up` starts one with a tenant):
    python3 -m dirsync_lab.testdomain start --dir DIR [--seed]   -> prints the facts as JSON
    python3 -m dirsync_lab.testdomain stop --dir DIR             -> stops the DC and removes DIR
"""

from __future__ import annotations

import datetime
import fcntl
import hashlib
import ipaddress
import json
import os
import random
import secrets
import shutil
import signal
import socket
import stat
import ssl
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import ldap3

REALM = "DIRSYNC.TEST"
DNS_DOMAIN = REALM.lower()
NETBIOS = "DIRSYNC"
HOST = "dc1"
BASE_DN = "DC=dirsync,DC=test"
ADMIN_USER = f"Administrator@{DNS_DOMAIN}"
FACTS_FILE = "domain.json"
LDAP_PORTS = (389, 636, 3268, 3269)
CACHE_ROOT = Path(os.environ.get("DIRSYNC_TESTDOMAIN_CACHE", "/var/tmp/dirsync-testdomain"))


class TestDomainError(RuntimeError):
    __test__ = False  # not a pytest test class


class SambaDomain:
    """One Samba AD DC in `directory`. create() provisions (from a template) and starts it."""

    __test__ = False

    def __init__(self, directory: str | os.PathLike):
        self.dir = Path(directory).resolve()
        facts_path = self.dir / FACTS_FILE
        self._facts = json.loads(facts_path.read_text()) if facts_path.exists() else {}

    # --- lifecycle ---------------------------------------------------------------------------------

    @classmethod
    def create(cls, directory, *, seeded: bool = False, address: str | None = None,
               timeout: float = 60.0) -> "SambaDomain":
        directory = Path(directory).resolve()
        if (directory / FACTS_FILE).exists():
            raise TestDomainError(f"{directory} already holds a test domain; stop it first.")
        template = _template(seeded)
        directory.mkdir(parents=True, exist_ok=True)
        _copy(template / "dc", directory / "dc")
        shutil.copy(template / FACTS_FILE, directory / FACTS_FILE)
        domain = cls(directory)
        domain._configure(address or free_loopback_address())
        domain.start(timeout)
        return domain

    def start(self, timeout: float = 60.0) -> None:
        log = open(self.dir / "samba.out", "ab")
        # -M single: one process is plenty for tests and starts fastest. A new session so that a ^C in
        # the caller's terminal does not kill a DC that `stop` is meant to end.
        proc = subprocess.Popen(["samba", "-s", str(self.conf), "-F", "--no-process-group", "-M", "single"],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        log.close()
        self._facts["pid"] = proc.pid
        self._save()
        self.wait_ready(timeout, proc)

    def wait_ready(self, timeout: float, proc: subprocess.Popen | None = None) -> None:
        """Until an LDAPS client that verifies the certificate reads the rootDSE."""
        deadline = time.monotonic() + timeout
        while True:
            if proc is not None and proc.poll() is not None:
                raise TestDomainError(f"samba exited with code {proc.returncode}: {self._log_tail()}")
            try:
                conn = self.connect()
                conn.search("", "(objectClass=*)", ldap3.BASE, attributes=["highestCommittedUSN"])
                conn.unbind()
                return
            except Exception:  # noqa: BLE001 - any failure means "not yet"; the deadline bounds it
                if time.monotonic() > deadline:
                    raise TestDomainError(f"LDAPS on {self.address} did not answer within {timeout}s: "
                                          f"{self._log_tail()}") from None
                time.sleep(0.1)  # poll interval of a readiness check, not a guess at start-up time

    def stop(self) -> None:
        pid = self._facts.get("pid")
        if not pid or not _is_our_samba(pid, self.dir):
            return
        os.kill(pid, signal.SIGTERM)
        if not _wait_gone(pid, 15):
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, 5)
        self._facts.pop("pid", None)
        self._save()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()

    # --- facts and clients -------------------------------------------------------------------------

    @property
    def address(self) -> str:
        return self._facts["address"]

    @property
    def conf(self) -> Path:
        return self.dir / "dc" / "etc" / "smb.conf"

    @property
    def ca_file(self) -> str:
        return str(self.dir / "tls" / "ca.pem")

    @property
    def admin_password(self) -> str:
        return self._facts["admin_password"]

    def facts(self) -> dict:
        return {"server": self.address, "port": 636, "starttls_port": 389, "dns_name": f"{HOST}.{DNS_DOMAIN}",
                "base_dn": BASE_DN, "realm": REALM, "netbios": NETBIOS,
                "admin_user": ADMIN_USER, "admin_password": self.admin_password,
                "ca_file": self.ca_file, "seeded": self._facts.get("seeded", False), "dir": str(self.dir)}

    def connect(self, user: str = ADMIN_USER, password: str | None = None) -> ldap3.Connection:
        """An LDAPS connection (verified) for test set-up; the code under test uses dirsync.ad."""
        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=self.ca_file, version=ssl.PROTOCOL_TLS_CLIENT)
        server = ldap3.Server(self.address, port=636, use_ssl=True, tls=tls, get_info=ldap3.NONE,
                              connect_timeout=5)
        return ldap3.Connection(server, user, password or self.admin_password, auto_bind=True,
                                raise_exceptions=True, auto_range=False, receive_timeout=60,
                                return_empty_attributes=False,
                                check_names=False)  # check_names would refuse the rootDSE ("") as a DN

    # --- files -------------------------------------------------------------------------------------

    def _save(self) -> None:
        (self.dir / FACTS_FILE).write_text(json.dumps(self._facts, indent=2))
        os.chmod(self.dir / FACTS_FILE, 0o600)

    def _log_tail(self) -> str:
        try:
            return (self.dir / "samba.out").read_text(errors="replace")[-1500:]
        except OSError:
            return "(no log)"

    def _configure(self, address: str, extra_conf: str = "") -> None:
        self._facts["address"] = address
        _make_certificates(self.dir / "tls", address, f"{HOST}.{DNS_DOMAIN}")
        _write_smb_conf(self.dir / "dc", address, self.dir / "tls", extra_conf)
        self._save()


def _write_smb_conf(dc: Path, address: str, tls_dir: Path, extra: str) -> None:
    # Only the LDAP service: no DNS, Kerberos, SMB or RPC listeners to collide with other DCs or slow
    # start-up. "address/8" makes Samba bind that loopback address although no interface carries it.
    (dc / "etc" / "smb.conf").write_text(f"""[global]
\tnetbios name = {HOST.upper()}
\trealm = {REALM}
\tworkgroup = {NETBIOS}
\tserver role = active directory domain controller
\tserver services = ldap
\tinterfaces = {address}/8
\tbind interfaces only = yes
\tprivate dir = {dc}/private
\tstate directory = {dc}/state
\tcache directory = {dc}/cache
\tlock directory = {dc}
\tpid directory = {dc}
\tbinddns dir = {dc}/bind-dns
\tlog file = {dc}/log.samba
\tmax log size = 10000
\t# A replaced password stops working at once (Samba otherwise accepts the old one for an hour),
\t# so tests can tell that a reset took effect.
\told password allowed period = 0
\ttls enabled = yes
\ttls keyfile = {tls_dir}/server-key.pem
\ttls certfile = {tls_dir}/server.pem
\ttls cafile = {tls_dir}/ca.pem
{extra}""")


def _make_certificates(tls_dir: Path, address: str, dns_name: str) -> None:
    """A CA of its own per domain, and a server certificate naming the address and the DNS name."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    tls_dir.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    later = now + datetime.timedelta(days=30)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"DirSync test CA {address}")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(later)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_name)]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(later)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name),
                                                        x509.IPAddress(ipaddress.ip_address(address))]),
                           critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (tls_dir / "ca.pem").write_bytes(ca.public_bytes(pem))
    (tls_dir / "server.pem").write_bytes(cert.public_bytes(pem))
    key_path = tls_dir / "server-key.pem"
    key_path.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    os.chmod(key_path, 0o600)  # Samba refuses a key file others can read


def free_loopback_address() -> str:
    """A random 127.x.y.z whose LDAP ports nobody holds, so parallel domains do not collide."""
    rng = random.SystemRandom()
    for _ in range(50):
        address = f"127.{rng.randint(100, 199)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        if all(_port_free(address, port) for port in LDAP_PORTS):
            return address
    raise TestDomainError("No free loopback address found for a test domain.")


def _port_free(address: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((address, port))
        except OSError:
            return False
    return True


def _is_our_samba(pid: int, folder: Path) -> bool:
    """Is `pid` the samba serving `folder`? Not by its command line: samba rewrites its process title
    to "samba: root process", so the configuration path is no longer there. By what it has open."""
    try:
        if Path(f"/proc/{pid}/exe").resolve().name != "samba":
            return False
        return any(os.readlink(fd).startswith(f"{folder}/") for fd in Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)  # reaps it when we are the parent
            if finished:
                return True
        except ChildProcessError:
            if not Path(f"/proc/{pid}").exists():
                return True
        time.sleep(0.05)
    return False


def _copy(source: Path, target: Path) -> None:
    """Copy a DC folder, without the sockets and pid file the last run left behind."""

    def runtime_files(folder, names):
        return [n for n in names if n.endswith(".pid") or stat.S_ISSOCK(os.lstat(os.path.join(folder, n)).st_mode)]

    shutil.copytree(source, target, symlinks=True, ignore=runtime_files)


# --- templates ---------------------------------------------------------------------------------------

def _template_key() -> str:
    digest = hashlib.sha256()
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.read_bytes())
    digest.update(subprocess.run(["samba", "--version"], capture_output=True, check=True).stdout)
    return digest.hexdigest()[:16]


def _template(seeded: bool) -> Path:
    """The folder of a stopped, provisioned (and maybe seeded) DC, built once under a lock."""
    return cached_build(CACHE_ROOT, _template_key(), "seeded" if seeded else "base",
                        _build_seeded if seeded else _provision)


# Another checkout of another version (a second worktree, a CI run) may be using its own templates right
# now: only those left unused this long are taken for dead and removed.
STALE_AFTER = 24 * 3600


def cached_build(root: Path, key: str, variant: str, build: Callable[[Path], None]) -> Path:
    """root/<key>-<variant>, made once by `build(folder)` under a lock (other processes may want the same
    one at the same time) and reused while the key, a hash of the code that builds it, stays the same."""
    name = f"{key}-{variant}"
    target = root / name
    root.mkdir(parents=True, exist_ok=True)
    lock_path = root / f"{name}.lock"
    if (target / FACTS_FILE).exists():
        lock_path.touch()  # in use: not stale
        return target
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / FACTS_FILE).exists():
            _prune_stale(root, key)
            building = root / f"{name}.building"
            shutil.rmtree(building, ignore_errors=True)
            build(building)
            building.rename(target)
    return target


def _prune_stale(root: Path, key: str) -> None:
    """Remove what other versions of this code built and nobody has used for STALE_AFTER."""
    now = time.time()
    for lock in root.glob("*.lock"):
        name = lock.name[:-len(".lock")]
        if name.startswith(key) or now - lock.stat().st_mtime < STALE_AFTER:
            continue
        for entry in (root / name, root / f"{name}.building"):
            shutil.rmtree(entry, ignore_errors=True)
        lock.unlink(missing_ok=True)


def _provision(folder: Path) -> None:
    password = "Tst-" + secrets.token_urlsafe(18)  # meets the default complexity rules
    address = free_loopback_address()
    folder.mkdir(parents=True)
    result = subprocess.run(
        ["samba-tool", "domain", "provision", f"--targetdir={folder / 'dc'}", f"--realm={REALM}",
         f"--domain={NETBIOS}", "--server-role=dc", "--dns-backend=NONE", f"--adminpass={password}",
         f"--host-name={HOST}", f"--host-ip={address}", "--option=server services = ldap"],
        capture_output=True, text=True)
    if result.returncode != 0:
        raise TestDomainError(f"samba-tool domain provision failed: {result.stdout[-2000:]}{result.stderr[-2000:]}")
    (folder / FACTS_FILE).write_text(json.dumps({"admin_password": password, "seeded": False}))
    _extend_schema(folder)


def _extend_schema(folder: Path) -> None:
    """Add the Exchange attributes DirSync syncs (mailNickname, extensionAttribute1-15), as an
    Exchange-prepared forest has them."""
    from .schema import extend_schema

    with _running_template(folder, schema_updates=True) as domain:
        extend_schema(domain.connect(), BASE_DN)


def _build_seeded(folder: Path) -> None:
    from .seed import seed

    _copy(_template(False), folder)
    with _running_template(folder) as domain:
        seed(domain.connect())
    facts = json.loads((folder / FACTS_FILE).read_text())
    (folder / FACTS_FILE).write_text(json.dumps({**facts, "seeded": True}))


class _running_template:
    """Runs the DC of a template folder in place (to build it), then stops it and drops what is
    specific to that run (address, certificates, logs)."""

    def __init__(self, folder: Path, schema_updates: bool = False):
        self.folder, self.schema_updates = folder, schema_updates

    def __enter__(self) -> SambaDomain:
        self.domain = SambaDomain(self.folder)
        self.domain._configure(free_loopback_address(),
                               "\tdsdb:schema update allowed = yes\n" if self.schema_updates else "")
        self.domain.start()
        return self.domain

    def __exit__(self, *exc):
        self.domain.stop()
        shutil.rmtree(self.folder / "tls")
        (self.folder / "samba.out").unlink()
        self.domain._facts.pop("address")
        self.domain._save()
