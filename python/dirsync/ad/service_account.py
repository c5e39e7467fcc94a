"""DirSync's own account in Active Directory, MSOL_<installation id>, as the configuration wizard makes it.

One account per installation, as Entra Connect names its AD DS connector account (MSOL_ and a hex id of
the installation, 17 characters: sAMAccountName allows 20), so a second DirSync home gets its own
account and never resets the password another installation depends on.

With Enterprise Admin credentials (used for this call only, kept nowhere) it creates the account in
the Users container of the forest root domain, or on a re-run resets its password and keeps it; gives
it a long random password that never expires; grants it Replicating Directory Changes on the domain
head; and proves the result by binding as the account and running a DirSync query.

The password is returned to the caller, who stores it protected (dirsync.secrets); it is never
logged or put in an error.
"""

from __future__ import annotations

import secrets
import string
import struct
import uuid
from dataclasses import dataclass

import ldap3
from ldap3.core import exceptions as ldap_errors

from .. import errors
from ..events import Events
from .connection import LdapSettings, connect
from .reader import REPLICATING_DIRECTORY_CHANGES, dirsync_page

ACCOUNT_PREFIX = "MSOL_"
NORMAL_ACCOUNT, DONT_EXPIRE_PASSWORD = 0x200, 0x10000
USERS_CONTAINER_WKGUID = "a9d1ca15768811d1aded00c04fd8d5cd"
SD_FLAGS_CONTROL = "1.2.840.113556.1.4.801"
DACL_SECURITY_INFORMATION = 0x4
ACCESS_ALLOWED_OBJECT_ACE, ACE_OBJECT_TYPE_PRESENT, ADS_RIGHT_DS_CONTROL_ACCESS = 0x05, 0x1, 0x100
INHERITED_ACE = 0x10
SE_DACL_PRESENT, SE_DACL_AUTO_INHERIT_REQ, SE_DACL_AUTO_INHERITED = 0x0004, 0x0100, 0x0400
SE_DACL_PROTECTED, SE_SELF_RELATIVE = 0x1000, 0x8000


@dataclass(frozen=True)
class ServiceAccount:
    dn: str
    user: str      # what to bind with: the UPN
    password: str
    created: bool  # False when an existing account was kept and its password reset

    def __repr__(self) -> str:  # keeps the password out of tracebacks and debug output
        return f"ServiceAccount(dn={self.dn!r}, user={self.user!r}, created={self.created})"


def new_password(length: int = 64) -> str:
    """Random, with every character class AD's complexity rule counts."""
    classes = [string.ascii_uppercase, string.ascii_lowercase, string.digits, "!#$%&()*+,-./:;<=>?@[]^_{|}~"]
    while True:
        password = "".join(secrets.choice("".join(classes)) for _ in range(length))
        if all(any(ch in cls for ch in password) for cls in classes):
            return password


def account_name(installation_id: str) -> str:
    return ACCOUNT_PREFIX + installation_id


def ensure_service_account(settings: LdapSettings, admin_user: str, admin_password: str, *,
                           installation_id: str, installed_at: str = "",
                           events: Events | None = None) -> ServiceAccount:
    """The installation's own account, created or (a re-run of the same installation) its password reset.
    `installed_at` (host and home) goes into the account's description, so an administrator looking at
    the account in AD sees which installation it serves."""
    events = events or Events()
    name = account_name(installation_id)
    description = (f"Account created by DirSync installation {installation_id}"
                   f"{' (' + installed_at + ')' if installed_at else ''} to synchronize directories. "
                   "Do not delete or change it.")[:1024]
    conn = connect(settings, admin_user, admin_password, events)
    try:
        root = _root_info(conn)
        password = new_password()
        dn, created = _create_or_reset(conn, settings, root, name, description, password)
        events.verbose(f"{'Created' if created else 'Reset the password of'} {dn}.")
        _read(conn, dn, ["objectSid"])
        sid = conn.response[0]["raw_attributes"]["objectSid"][0]
        for domain in root["domains"]:
            if _grant_replicating_changes(conn, settings, domain, sid):
                events.verbose(f"Granted Replicating Directory Changes on {domain} to {name}.")
    finally:
        conn.unbind()
    account = ServiceAccount(dn=dn, user=f"{name}@{root['dns_domain']}", password=password, created=created)
    verify(settings, account, root["domains"][0], events)
    return account


def verify(settings: LdapSettings, account: ServiceAccount, base_dn: str, events: Events | None = None) -> None:
    """Bind as the account and run a DirSync query (PermissionDeniedError if the right is missing)."""
    conn = connect(settings, account.user, account.password, events)
    try:
        dirsync_page(conn, base_dn, None, search_filter="(objectGUID=\\00)")
    finally:
        conn.unbind()


def _root_info(conn: ldap3.Connection) -> dict:
    conn.search("", "(objectClass=*)", ldap3.BASE, attributes=["rootDomainNamingContext"])
    root_dn = conn.response[0]["raw_attributes"]["rootDomainNamingContext"][0].decode()
    # The right is needed on every domain head of the forest that DirSync reads.
    conn.search(f"CN=Partitions,CN=Configuration,{root_dn}",
                "(&(objectClass=crossRef)(systemFlags:1.2.840.113556.1.4.803:=2))", ldap3.LEVEL, attributes=["nCName"])
    domains = sorted((e["raw_attributes"]["nCName"][0].decode() for e in conn.response
                      if e["type"] == "searchResEntry"), key=lambda d: d.lower() != root_dn.lower())
    dns_domain = ".".join(part.split("=", 1)[1] for part in root_dn.split(",")).lower()
    return {"root": root_dn, "domains": domains or [root_dn], "dns_domain": dns_domain}


def _read(conn: ldap3.Connection, dn: str, attributes: list[str], controls=None) -> None:
    conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=attributes, controls=controls)


def _create_or_reset(conn, settings, root, name, description, password) -> tuple[str, bool]:
    conn.search(f"<WKGUID={USERS_CONTAINER_WKGUID},{root['root']}>", "(objectClass=*)", ldap3.BASE)
    users = conn.response[0]["dn"]
    conn.search(root["root"], f"(&(objectClass=user)(sAMAccountName={name}))", ldap3.SUBTREE, attributes=["cn"])
    existing = [e["dn"] for e in conn.response if e["type"] == "searchResEntry"]
    encoded = f'"{password}"'.encode("utf-16-le")
    try:
        if existing:
            conn.modify(existing[0], {"unicodePwd": [(ldap3.MODIFY_REPLACE, [encoded])],
                                      "userAccountControl": [(ldap3.MODIFY_REPLACE,
                                                              [NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD])]})
            return existing[0], False
        dn = f"CN={name},{users}"
        conn.add(dn, "user", {"sAMAccountName": name, "userPrincipalName": f"{name}@{root['dns_domain']}",
                              "description": description,
                              "unicodePwd": encoded,
                              "userAccountControl": NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD})
        return dn, True
    except ldap_errors.LDAPInsufficientAccessRightsResult:
        raise _not_admin(settings, f"create or reset {name} in {users}") from None


def _grant_replicating_changes(conn, settings, domain_dn: str, sid: bytes) -> bool:
    try:
        return grant(conn, domain_dn, allow_ace(sid, ADS_RIGHT_DS_CONTROL_ACCESS,
                                                uuid.UUID(REPLICATING_DIRECTORY_CHANGES)))
    except ldap_errors.LDAPInsufficientAccessRightsResult:
        raise _not_admin(settings, f"change the permissions of {domain_dn}") from None


def grant(conn: ldap3.Connection, dn: str, ace: bytes) -> bool:
    """Add `ace` to the DACL of `dn`; only the DACL is read and written (SD_FLAGS control).
    False when the ACE was already there."""
    sd_flags = [(SD_FLAGS_CONTROL, True, struct.pack(">BBBB", 0x30, 3, 2, 1) + bytes([DACL_SECURITY_INFORMATION]))]
    _read(conn, dn, ["nTSecurityDescriptor"], controls=sd_flags)
    updated = add_ace(conn.response[0]["raw_attributes"]["nTSecurityDescriptor"][0], ace)
    if updated is not None:
        conn.modify(dn, {"nTSecurityDescriptor": [(ldap3.MODIFY_REPLACE, [updated])]}, controls=sd_flags)
    return updated is not None


def _not_admin(settings: LdapSettings, what: str) -> errors.PermissionDeniedError:
    return errors.PermissionDeniedError(
        f"The account given for the service account set-up may not {what} on {settings.address}.",
        fix="Give the credentials of an Enterprise Admin of the forest.", target=settings.server)


# --- the binary security descriptor (MS-DTYP 2.4.6, self-relative) --------------------------------------

def add_ace(descriptor: bytes, ace: bytes) -> bytes | None:
    """The DACL-only descriptor with `ace` added after the explicit ACEs and before the inherited
    ones, as canonical order wants; None if an equal ACE is already there."""
    _rev, _sbz, control, _owner, _group, _sacl, dacl_at = struct.unpack_from("<BBHIIII", descriptor)
    acl_rev, _sbz1, _size, count, _sbz2 = struct.unpack_from("<BBHHH", descriptor, dacl_at)
    aces, offset, insert_at = [], dacl_at + 8, None
    for index in range(count):
        _type, flags, size = struct.unpack_from("<BBH", descriptor, offset)
        existing = descriptor[offset:offset + size]
        if existing == ace:
            return None
        if insert_at is None and flags & INHERITED_ACE:
            insert_at = index
        aces.append(existing)
        offset += size
    aces.insert(len(aces) if insert_at is None else insert_at, ace)
    body = b"".join(aces)
    acl = struct.pack("<BBHHH", max(acl_rev, 4), 0, 8 + len(body), len(aces), 0) + body  # object ACEs need rev 4
    # Keep the DACL's own flags (auto-inherited, protected); owner, group and SACL are not sent.
    dacl_flags = control & (SE_DACL_AUTO_INHERIT_REQ | SE_DACL_AUTO_INHERITED | SE_DACL_PROTECTED)
    header = struct.pack("<BBHIIII", 1, 0, dacl_flags | SE_DACL_PRESENT | SE_SELF_RELATIVE, 0, 0, 0, 20)
    return header + acl


def allow_ace(sid: bytes, mask: int, object_type: uuid.UUID) -> bytes:
    """An ACCESS_ALLOWED_OBJECT ACE: `mask` on `object_type` (an extended right) for `sid`."""
    body = struct.pack("<II", mask, ACE_OBJECT_TYPE_PRESENT) + object_type.bytes_le + sid
    return struct.pack("<BBH", ACCESS_ALLOWED_OBJECT_ACE, 0, 4 + len(body)) + body
