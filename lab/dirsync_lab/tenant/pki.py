"""Certificates of the local tenant: its own CA, the HTTPS server certificate the CA signs, the key that
signs access tokens, and self-signed client certificates for app registrations.

Everything is created once, on first start, in the data folder; private keys are written 0600.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _cert(subject: str, public_key, issuer: x509.Name | None, signer, *, ca: bool, days: int,
          hosts: tuple[str, ...] = ()) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer or name)
               .public_key(public_key).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False,
            encipher_only=False, decipher_only=False), critical=True)
    if hosts:
        names = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                                        critical=False)
    return builder.sign(signer, hashes.SHA256())


def thumbprints(cert: x509.Certificate) -> tuple[str, str]:
    """(SHA-1 hex, SHA-256 base64url): what x5t and x5t#S256 carry, and MSAL's "thumbprint"."""
    der = cert.public_bytes(serialization.Encoding.DER)
    sha256 = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
    return hashlib.sha1(der).hexdigest().upper(), sha256


@dataclass(frozen=True)
class ClientCertificate:
    cert_pem: str
    key_pem: str
    thumbprint: str  # SHA-1 hex, as MSAL's client_credential wants it


def make_client_certificate(common_name: str = "DirSync", days: int = 730) -> ClientCertificate:
    """A self-signed certificate for an app registration (what New-SelfSignedCertificate gives admins)."""
    key = _new_key()
    cert = _cert(common_name, key.public_key(), None, key, ca=False, days=days)
    return ClientCertificate(cert.public_bytes(serialization.Encoding.PEM).decode(),
                             _key_pem(key).decode(), thumbprints(cert)[0])


@dataclass(frozen=True)
class Pki:
    ca_file: Path
    server_cert_file: Path
    server_key_file: Path
    signing_key: rsa.RSAPrivateKey
    signing_kid: str


def ensure_pki(data_dir: Path, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> Pki:
    ca_file, ca_key_file = data_dir / "ca.pem", data_dir / "ca.key"
    cert_file, key_file = data_dir / "server.pem", data_dir / "server.key"
    signing_file = data_dir / "token-signing.key"
    if not ca_file.exists():
        ca_key = _new_key()
        ca = _cert("DirSync local tenant CA", ca_key.public_key(), None, ca_key, ca=True, days=3650)
        _write_private(ca_key_file, _key_pem(ca_key))
        ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        cert_file.unlink(missing_ok=True)
    if not cert_file.exists():
        ca = x509.load_pem_x509_certificate(ca_file.read_bytes())
        ca_key = serialization.load_pem_private_key(ca_key_file.read_bytes(), None)
        key = _new_key()
        cert = _cert("DirSync local tenant", key.public_key(), ca.subject, ca_key, ca=False,
                     days=825, hosts=hosts)
        _write_private(key_file, _key_pem(key))
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if not signing_file.exists():
        _write_private(signing_file, _key_pem(_new_key()))
    signing_key = serialization.load_pem_private_key(signing_file.read_bytes(), None)
    if not isinstance(signing_key, rsa.RSAPrivateKey):  # tokens are signed RS256
        raise ValueError(f"{signing_file} holds a {type(signing_key).__name__}, not an RSA key; "
                         "delete it and the local tenant makes a new one on its next start.")
    der = signing_key.public_key().public_bytes(serialization.Encoding.DER,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    kid = base64.urlsafe_b64encode(hashlib.sha1(der).digest()).rstrip(b"=").decode()
    return Pki(ca_file, cert_file, key_file, signing_key, kid)
