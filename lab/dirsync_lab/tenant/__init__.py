"""The local tenant: a Microsoft Graph and identity platform look-alike over HTTPS, for trying DirSync
without Microsoft 365 and for tests. See docs/local-tenant.md."""

from .pki import ClientCertificate, make_client_certificate
from .process import (DIRSYNC_PERMISSIONS, READER_PERMISSIONS, AppRegistration, LocalTenant, TenantProcess,
                      stop_detached)

__all__ = ["AppRegistration", "ClientCertificate", "DIRSYNC_PERMISSIONS", "LocalTenant", "READER_PERMISSIONS",
           "TenantProcess", "make_client_certificate", "stop_detached"]
