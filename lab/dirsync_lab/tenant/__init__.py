"""The local tenant: a Microsoft Graph and identity platform look-alike over HTTPS, for trying DirSync
without Microsoft 365 and for tests. See docs/local-tenant.md."""

from .pki import ClientCertificate, make_client_certificate
from .server import AppRegistration, LocalTenant

__all__ = ["AppRegistration", "ClientCertificate", "LocalTenant", "make_client_certificate"]
