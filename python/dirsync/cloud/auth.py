"""Signing in to Microsoft Entra ID as DirSync's app registration, with MSAL for Python.

A certificate is preferred (https://learn.microsoft.com/entra/identity-platform/certificate-credentials);
a client secret is allowed. The secret or the private key comes from the secrets store and is handed to
MSAL only: it never reaches a log, an event or an error message.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import msal
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ..errors import AuthenticationError, CertificateError, ConfigurationError, ServerUnreachableError


def certificate_thumbprint(certificate_file: str) -> str:
    """SHA-1 of the certificate's DER bytes, hex: what MSAL's {"thumbprint"} wants (and Entra shows)."""
    try:
        cert = x509.load_pem_x509_certificate(Path(certificate_file).read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"The certificate file {certificate_file} cannot be read as a PEM certificate.",
                                 fix="Point tenant.certificate_file at the app's certificate (.pem, public part).",
                                 target=certificate_file) from exc
    return hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()


def _seconds(session: requests.Session) -> str:
    timeout = getattr(session, "timeout", None)
    return f"{max(timeout):g} s" if timeout else "its timeout"


def msal_application(make, host: str, authority: str, session: requests.Session):
    """The MSAL application `make()` builds, with its failures as DirSync's errors. MSAL fetches
    {authority}/v2.0/.well-known/openid-configuration here; it gets DirSync's session so that the tenant's
    CA file and proxy apply to sign-in exactly as to Graph."""
    try:
        return make()
    except requests.exceptions.SSLError as exc:
        raise CertificateError(f"The certificate of {host} is not trusted.",
                               fix="Set tenant.ca_file (-TenantCAFile) to the CA that issued it (the local "
                                   "tenant's ca.pem).", target=host) from exc
    except requests.exceptions.Timeout as exc:
        raise ServerUnreachableError(f"{host} did not answer sign-in within {_seconds(session)}.",
                                     fix="Check the address, the network and the proxy setting.",
                                     target=host) from exc
    except requests.exceptions.RequestException as exc:
        raise ServerUnreachableError(f"Cannot reach {host}.",
                                     fix="Check the address, the network and the proxy setting.",
                                     target=host) from exc
    except ValueError as exc:  # the authority answered, but not with an OIDC configuration
        raise ConfigurationError(f"{authority} is not a Microsoft Entra tenant MSAL can use.",
                                 fix="Check tenant.tenant_id (-TenantId) and tenant.authority_host (-AuthorityHost).",
                                 target=authority) from exc


class TokenProvider:
    """Access tokens for Graph, from MSAL's token cache while they are valid."""

    def __init__(self, settings, credential: str, session: requests.Session):
        self.client_id = settings.client_id
        self.session = session
        authority = f"{settings.authority_host.rstrip('/')}/{settings.tenant_id}"
        # The resource of the Graph endpoint in use: https://graph.microsoft.com, a national cloud's, or the
        # local tenant's (which accepts its own address as Graph's).
        self.scopes = [f"{settings.graph_endpoint.rstrip('/')}/.default"]
        if settings.credential_type == "certificate":
            client_credential = {"private_key": credential,
                                 "thumbprint": certificate_thumbprint(settings.certificate_file)}
        else:
            client_credential = credential
        self.app = msal_application(lambda: msal.ConfidentialClientApplication(
            settings.client_id, client_credential=client_credential, authority=authority,
            instance_discovery=False, http_client=session), settings.authority_host, authority, session)

    def token(self, *, force_refresh: bool = False) -> str:
        result = None
        if force_refresh:
            # MSAL >= 1.23's acquire_token_for_client answers from its cache while the token is unexpired, so
            # a token Graph refused (revoked) would come back: drop it from the cache first.
            cache = self.app.token_cache
            for entry in cache.find(msal.TokenCache.CredentialType.ACCESS_TOKEN):
                cache.remove_at(entry)
        else:
            # MSAL 1.21's acquire_token_for_client does not read the cache itself: ask it first.
            result = self.app.acquire_token_silent(self.scopes, account=None)
        if not result:
            try:
                result = self.app.acquire_token_for_client(self.scopes)
            except requests.exceptions.Timeout as exc:
                raise ServerUnreachableError("The sign-in endpoint of the tenant did not answer within "
                                             f"{_seconds(self.session)}.",
                                             fix="Check the network and the proxy setting.") from exc
            except requests.exceptions.RequestException as exc:
                raise ServerUnreachableError("Cannot reach the sign-in endpoint of the tenant.",
                                             fix="Check the network and the proxy setting.") from exc
        if "access_token" not in result:
            # error_description starts with the AADSTS code and its text; it never holds the credential.
            description = (result.get("error_description") or "").split(" Trace ID:")[0]
            raise AuthenticationError(
                f"Microsoft Entra ID refused the app {self.client_id}: {result.get('error')}: {description}",
                fix="Check the client id, and that the certificate or secret in DirSync's secrets store is the one "
                    "registered on the app (and not expired).", target=self.client_id)
        return result["access_token"]
