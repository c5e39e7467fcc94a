"""Just enough JWS (RFC 7515) for the local tenant: sign its access tokens with RS256 and verify the
client assertions apps send (RS256 or PS256,
https://learn.microsoft.com/entra/identity-platform/certificate-credentials).
"""

from __future__ import annotations

import base64
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding


class InvalidToken(ValueError):
    pass


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_PADDINGS = {
    "RS256": lambda: padding.PKCS1v15(),
    "PS256": lambda: padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH),
}


def sign(claims: dict, private_key, headers: dict) -> str:
    header = {"typ": "JWT", "alg": "RS256", **headers}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    signature = private_key.sign(signing_input.encode(), _PADDINGS[header["alg"]](), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


def parse(token: str) -> tuple[dict, dict, bytes, bytes]:
    """(header, claims, signing input, signature) without checking anything."""
    try:
        head, body, sig = token.split(".")
        return (json.loads(b64url_decode(head)), json.loads(b64url_decode(body)),
                f"{head}.{body}".encode(), b64url_decode(sig))
    except (ValueError, TypeError) as exc:
        raise InvalidToken("The token is not a well-formed JWT.") from exc


def verify(token: str, public_key) -> tuple[dict, dict]:
    header, claims, signing_input, signature = parse(token)
    alg = header.get("alg")
    if alg not in _PADDINGS:
        raise InvalidToken(f"Unsupported signing algorithm {alg!r}.")
    try:
        public_key.verify(signature, signing_input, _PADDINGS[alg](), hashes.SHA256())
    except InvalidSignature as exc:
        raise InvalidToken("The signature is invalid.") from exc
    return header, claims
