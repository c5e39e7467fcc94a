"""The certificate DirSync's own app signs in with: made on this machine (the private key never leaves it;
the secrets store keeps it), registered on the app by its public part only, and the proof of possession
that Graph's addKey and removeKey ask for (https://learn.microsoft.com/graph/api/application-addkey)."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

# Microsoft recommends certificates over secrets and a lifetime of no more than a year for app credentials
# (https://learn.microsoft.com/entra/identity-platform/howto-create-self-signed-certificate).
LIFETIME = timedelta(days=365)
# The audience of addKey/removeKey proofs: the Azure AD Graph's app id, as the addKey page says.
PROOF_AUDIENCE = "00000002-0000-0000-c000-000000000000"
PROOF_LIFETIME = 600  # seconds: the page allows at most 10 minutes


@dataclass(frozen=True)
class Certificate:
    cert_pem: str
    key_pem: str | None  # None for a certificate read from a file without its key

    @property
    def x509(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem.encode())

    @property
    def der(self) -> bytes:
        return self.x509.public_bytes(serialization.Encoding.DER)

    @property
    def thumbprint(self) -> str:
        """SHA-1 of the DER bytes, hex upper case: what Entra shows and MSAL's "thumbprint" wants."""
        return hashlib.sha1(self.der).hexdigest().upper()

    @property
    def expires(self) -> datetime:
        cert = self.x509
        # not_valid_after_utc since cryptography 42; Debian 12 has 38, whose naive value is UTC
        return getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after.replace(tzinfo=timezone.utc)

    def key_credential(self, display_name: str) -> dict:
        """The keyCredential of its public part (https://learn.microsoft.com/graph/api/resources/keycredential)."""
        return {"type": "AsymmetricX509Cert", "usage": "Verify", "displayName": display_name,
                "key": base64.b64encode(self.der).decode()}

    def proof(self, app_object_id: str) -> str:
        """A proof of possession of this key for addKey/removeKey on the app (RS256, x5t)."""
        if self.key_pem is None:
            raise ValueError("A proof needs the certificate's private key.")
        key = serialization.load_pem_private_key(self.key_pem.encode(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("DirSync's certificates are RSA.")
        now = int(time.time())
        header = {"alg": "RS256", "typ": "JWT", "x5t": _b64url(hashlib.sha1(self.der).digest())}
        claims = {"aud": PROOF_AUDIENCE, "iss": app_object_id, "nbf": now, "exp": now + PROOF_LIFETIME,
                  "jti": str(uuid.uuid4())}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_certificate(subject: str, lifetime: timedelta = LIFETIME) -> Certificate:
    """A new self-signed RSA 2048 certificate for `subject`, valid from a minute ago for `lifetime`."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=1))
            .not_valid_after(now + lifetime)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return Certificate(cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem)
