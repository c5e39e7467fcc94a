"""Attribute flow: an Active Directory object becomes the Microsoft Graph properties DirSync writes.

Users
    displayName ← displayName (else cn)        givenName ← givenName      surname ← sn
    mail ← mail                                mailNickname ← mailNickname (else sAMAccountName)
    userPrincipalName ← userPrincipalName (else sAMAccountName@initial domain), see the UPN rule
    accountEnabled ← not userAccountControl bit 2 (ACCOUNTDISABLE), and false once accountExpires has passed
    jobTitle ← title     department ← department     companyName ← company
    officeLocation ← physicalDeliveryOfficeName      streetAddress ← streetAddress   city ← l
    state ← st           postalCode ← postalCode     country ← co
    usageLocation ← msExchUsageLocation (else c, the two-letter country code)
    businessPhones ← [telephoneNumber]  mobilePhone ← mobile  faxNumber ← facsimileTelephoneNumber
    employeeId ← employeeID              onPremisesImmutableId ← the anchor, base64(objectGUID)
    onPremisesExtensionAttributes ← extensionAttribute1..15
    manager ← manager (the manager's anchor: a link written once both users are in the cloud)
Groups (security groups only)
    displayName ← displayName (else cn)   description ← description
    mailNickname ← mailNickname (else sAMAccountName), cleaned to what Graph accepts
    securityEnabled ← true, mailEnabled ← false; members ← member (nested groups included);
    the anchor goes into the app's directory extension property (written by the connector).

The UPN rule. Microsoft 365 accepts a userPrincipalName only in a domain the tenant has verified. As
Entra Connect does, a UPN whose suffix is not verified (contoso.local, say) keeps its prefix and takes the
tenant's initial domain (the *.onmicrosoft.com one): jane@contoso.local → jane@contoso.onmicrosoft.com.
Once the suffix is verified, a full sync gives the user its real UPN (a change of verified domains makes
the next run a full one).

Control characters. Graph documents no control character as part of any of these values, and the local
tenant refuses them (docs/local-tenant.md). Line breaks and tabs (a multi-line streetAddress) become one
space; any other control character (NUL, BEL, ESC, DEL, C1 such as U+009B) makes the object an error
naming the attribute, with the fix to correct it in Active Directory: DirSync never writes a value AD
does not hold other than by that one documented rule.

Account expiry. Active Directory refuses an expired account its sign-in but changes nothing on it when the
moment passes, so no delta would see it. The mapper compares accountExpires with the run's clock: past, the
cloud account is disabled (and counted "expired"); the state keeps the moment of a future expiry, and the
first run after it reads the user again (engine/run.py). An expiry moved into the future is a change in AD
that the next delta reads: the account is enabled again.

Not written, with the reason reported on every run that reads them: contacts (organizational contacts
are read-only in Graph) and distribution or mail-enabled security groups (Graph can only create
security and Microsoft 365 groups).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from .ports import SourceObject

# Bumped when the flow changes: the next run is then a full one that brings every object up to date.
MAPPING_VERSION = "3"  # 3: accountExpires

ACCOUNTDISABLE = 0x2
GROUP_TYPE_SECURITY = 0x80000000
# accountExpires: 100-ns intervals since 1601-01-01 UTC; 0 and 2^63-1 mean never.
_NEVER = (0, 0x7FFFFFFFFFFFFFFF)
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=timezone.utc)

SKIP_CONTACT = ("a contact: Microsoft Graph cannot create or change organizational contacts (they are "
                "read-only); create it in Exchange Online instead")
SKIP_DISTRIBUTION = ("a distribution group: Microsoft Graph can only create security and Microsoft 365 "
                     "groups; create it in Exchange Online instead")
SKIP_MAIL_SECURITY = ("a mail-enabled security group: Microsoft Graph cannot create or change mail-enabled "
                      "security groups; manage it in Exchange Online instead")

_USER_SIMPLE = {
    "givenName": "givenname", "surname": "sn", "mail": "mail", "jobTitle": "title",
    "department": "department", "companyName": "company", "officeLocation": "physicaldeliveryofficename",
    "streetAddress": "streetaddress", "city": "l", "state": "st", "postalCode": "postalcode",
    "country": "co", "mobilePhone": "mobile", "faxNumber": "facsimiletelephonenumber",
    "employeeId": "employeeid",
}
# https://learn.microsoft.com/graph/api/resources/user : the longest values Graph accepts. Active Directory's
# ranges for the attributes they come from are the same, but a domain controller need not enforce them.
MAX_LENGTH = {"employeeId": 16, "givenName": 64, "surname": 64, "department": 64, "companyName": 64,
              "jobTitle": 128, "city": 128, "state": 128, "country": 128, "postalCode": 40, "displayName": 256}
EXTENSION_ATTRIBUTE_MAX = 1024
# The AD attribute to correct, where its name is not the Graph property's (or in _USER_SIMPLE).
_SOURCE = {"displayName": "displayname (or cn)", "businessPhones": "telephonenumber",
           "usageLocation": "msexchusagelocation (or c)"}
# Same page: usageLocation is not nullable and displayName can't be cleared; an update leaves them as they are.
NOT_CLEARABLE = frozenset({"usageLocation", "displayName"})
# Graph's documented limit for user and group aliases; users may keep dots (jane.doe).
_ALIAS_BAD_USER = re.compile(r"[^A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]")
_ALIAS_BAD_GROUP = re.compile(r"[^A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]")
_UPN_PREFIX = re.compile(r"^[A-Za-z0-9'.\-_!#^~]+$")
_BREAKS = re.compile(r"[\t\n\v\f\r]+")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Projection:
    """What one AD object should be in the cloud."""

    kind: str
    properties: dict = field(default_factory=dict)
    members: frozenset[str] | None = None
    manager: str | None = None  # the manager's anchor
    skip_reason: str | None = None
    error: tuple[str, str] | None = None  # (reason, fix) when the object cannot be written as it is
    source_upn: str | None = None  # a user's UPN as Active Directory has it, before the UPN rule
    expires: datetime | None = None  # when a user's account expires (accountExpires), if it does
    expired: bool = False  # that moment has passed at the run's clock: the cloud account is disabled


def value_hash(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def initial_domain(verified_domains: list[str]) -> str:
    """The tenant's initial domain: the *.onmicrosoft.com one (not *.mail.onmicrosoft.com)."""
    for domain in verified_domains:
        name = domain.lower()
        if name.endswith(".onmicrosoft.com") and not name.endswith(".mail.onmicrosoft.com"):
            return domain
    return verified_domains[0] if verified_domains else ""


class NotText(ValueError):
    """A value the flow would write holds bytes that are not Unicode text."""

    def __init__(self, attribute: str):
        super().__init__(attribute)
        self.attribute = attribute


def _text(obj: SourceObject, name: str, *, flat: bool = True) -> str | None:
    value = obj.first(name)
    if value is None:
        return None
    if isinstance(value, bytes):
        # Replacing what cannot be decoded would write a value AD does not hold, and change it in the
        # cloud at every run; the object is reported instead (Mapper.project).
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            raise NotText(name) from None
    # A value that goes to the cloud loses its line breaks and tabs; a DN (flat=False) is matched as it is.
    value = (_BREAKS.sub(" ", str(value)) if flat else str(value)).strip()
    return value or None


def _int(obj: SourceObject, name: str) -> int:
    try:
        return int(str(obj.first(name, 0)).strip())
    except ValueError:
        return 0


def account_expires(obj: SourceObject) -> datetime | None:
    """accountExpires as a UTC moment; None when the account never expires."""
    ticks = _int(obj, "accountexpires")
    if ticks in _NEVER or ticks < 0:
        return None
    try:
        return _FILETIME_EPOCH + timedelta(microseconds=ticks // 10)
    except OverflowError:  # beyond year 9999: never, in practice
        return None


def _alias(value: str, bad: re.Pattern) -> str:
    ascii_only = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return bad.sub("", ascii_only).strip(".")[:64]


def _controls(props: dict) -> tuple[str, str] | None:
    """(reason, fix) for the first value holding a control character Microsoft 365 refuses, else None."""
    values = {**props, **props.get("onPremisesExtensionAttributes", {}),
              **{"businessPhones": " ".join(props.get("businessPhones", []))}}
    for prop, value in values.items():
        found = _CONTROL.search(value) if isinstance(value, str) else None
        if found:
            source = _SOURCE.get(prop) or _USER_SIMPLE.get(prop) or prop.lower()
            return (f"Its {prop} holds the control character U+{ord(found.group()):04X}, which Microsoft 365 "
                    "does not accept.",
                    f"Correct {source} of this object in Active Directory (remove the control character); the "
                    "next sync writes it.")
    return None


def _too_long(props: dict) -> tuple[str, str] | None:
    """(reason, fix) for the first value longer than Graph accepts, else None."""
    values = {**{p: props.get(p) for p in MAX_LENGTH},
              **{name: v for name, v in props["onPremisesExtensionAttributes"].items()}}
    for prop, value in values.items():
        limit = MAX_LENGTH.get(prop, EXTENSION_ATTRIBUTE_MAX)
        if value is not None and len(value) > limit:
            source = _SOURCE.get(prop) or _USER_SIMPLE.get(prop) or prop.lower()
            return (f"Its {prop} is {len(value)} characters long; Microsoft 365 accepts at most {limit}.",
                    f"Shorten {source} of this user in Active Directory to {limit} characters; the next sync "
                    "writes it.")
    return None


class Mapper:
    def __init__(self, verified_domains: list[str], at: datetime | None = None):
        """`at`: the run's clock, against which accountExpires is compared (now when not given)."""
        self.verified = {d.lower() for d in verified_domains}
        self.initial = initial_domain(verified_domains)
        self.at = at or datetime.now(timezone.utc)

    def fingerprint(self) -> str:
        return repr((MAPPING_VERSION, sorted(self.verified)))

    def project(self, obj: SourceObject) -> Projection:
        if obj.kind == "contact":
            return Projection("contact", skip_reason=SKIP_CONTACT)
        try:
            return self._group(obj) if obj.kind == "group" else self._user(obj)
        except NotText as bad:
            return Projection(obj.kind, error=(
                f"Its attribute {bad.attribute} is not valid UTF-8 text (it holds code units no Unicode "
                "character has, such as an unpaired UTF-16 surrogate), so Microsoft 365 cannot store it.",
                f"Correct {bad.attribute} of this object in Active Directory; the next sync writes it."))

    def user_principal_name(self, obj: SourceObject) -> str:
        upn = _text(obj, "userprincipalname") or f"{_text(obj, 'samaccountname') or ''}@{self.initial}"
        prefix, _, suffix = upn.rpartition("@")
        if suffix.lower() not in self.verified:
            return f"{prefix}@{self.initial}"
        return upn

    def _user(self, obj: SourceObject) -> Projection:
        sam = _text(obj, "samaccountname") or ""
        upn = self.user_principal_name(obj)
        expires = account_expires(obj)
        expired = expires is not None and expires <= self.at
        props = {
            "accountEnabled": not (_int(obj, "useraccountcontrol") & ACCOUNTDISABLE) and not expired,
            "displayName": _text(obj, "displayname") or _text(obj, "cn") or sam,
            "mailNickname": _alias(_text(obj, "mailnickname") or sam, _ALIAS_BAD_USER) or None,
            "userPrincipalName": upn,
            "onPremisesImmutableId": obj.anchor,
            **{prop: _text(obj, attr) for prop, attr in _USER_SIMPLE.items()},
            "usageLocation": (_text(obj, "msexchusagelocation") or _text(obj, "c") or "").upper()[:2] or None,
            "businessPhones": [p for p in [_text(obj, "telephonenumber")] if p],
            "onPremisesExtensionAttributes": {
                f"extensionAttribute{i}": _text(obj, f"extensionattribute{i}") for i in range(1, 16)},
        }
        error = None
        prefix = upn.rpartition("@")[0]
        mail = props["mail"]
        if not _UPN_PREFIX.match(prefix):
            error = (f"Its userPrincipalName '{upn}' has characters Microsoft 365 does not accept before the "
                     "@ (allowed: letters A-Z, digits and ' . - _ ! # ^ ~).",
                     "Change the user's UPN in Active Directory; the next sync writes it.")
        elif not props["mailNickname"]:
            error = ("It has no usable mail alias (mailNickname or sAMAccountName).",
                     "Give the user a sAMAccountName or mailNickname in Active Directory.")
        elif mail and not (mail.isascii() and mail.rpartition("@")[0] and mail.rpartition("@")[2]):
            # https://learn.microsoft.com/graph/api/resources/user : mail can't contain accent characters
            error = (f"Its mail '{mail}' is not an address Microsoft 365 accepts: it must be name@domain, without "
                     "accented or other non-ASCII characters.",
                     "Correct mail of this user in Active Directory; the next sync writes it.")
        else:
            error = _controls(props) or _too_long(props)
        return Projection("user", props, manager=_text(obj, "manager", flat=False), error=error,
                          source_upn=_text(obj, "userprincipalname"), expires=expires, expired=expired)

    def _group(self, obj: SourceObject) -> Projection:
        group_type = _int(obj, "grouptype") & 0xFFFFFFFF
        if not group_type & GROUP_TYPE_SECURITY:
            return Projection("group", skip_reason=SKIP_DISTRIBUTION)
        if _text(obj, "mail") or obj.attrs.get("proxyaddresses"):
            return Projection("group", skip_reason=SKIP_MAIL_SECURITY)
        sam = _text(obj, "samaccountname") or _text(obj, "cn") or ""
        alias = _alias(_text(obj, "mailnickname") or sam, _ALIAS_BAD_GROUP)
        props = {
            "displayName": _text(obj, "displayname") or _text(obj, "cn") or sam,
            "description": _text(obj, "description"),
            # An alias left empty by the cleaning still has to be unique: derive it from the anchor.
            "mailNickname": alias or "group-" + value_hash(obj.anchor)[:12],
            "securityEnabled": True,
            "mailEnabled": False,
        }
        return Projection("group", props, members=frozenset(obj.members or ()), error=_controls(props))
