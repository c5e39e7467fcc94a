"""Which Active Directory objects DirSync synchronizes.

An object is in scope when it lies under one of the included OUs (all of the domain when none is
listed), under none of the excluded OUs, does not carry the exclusion attribute value (such as
extensionAttribute15=NoSync), and is not a system object. System objects never sync, whatever the
configuration says: critical system objects (isCriticalSystemObject, which covers Administrator, Guest,
krbtgt and the built-in groups), anything in the system containers, DirSync's own service account
(MSOL_*) and computer accounts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..config import SyncSettings
from .ports import SourceObject

_SYSTEM_CONTAINERS = ("cn=system", "cn=builtin", "cn=foreignsecurityprincipals", "cn=program data",
                      "cn=lostandfound", "cn=managed service accounts", "cn=microsoft exchange system objects",
                      "cn=ntds quotas", "cn=infrastructure")


def normalize_dn(dn: str) -> str:
    """Lower case, no blanks around the separators: how two spellings of one DN compare equal."""
    return re.sub(r"\s*([,=])\s*", r"\1", dn.strip()).lower()


def _under(dn: str, container: str) -> bool:
    return dn == container or dn.endswith("," + container)


def _true(value) -> bool:
    return str(value).strip().upper() in ("TRUE", "1")


@dataclass(frozen=True)
class Scope:
    include_ous: tuple[str, ...] = ()
    exclude_ous: tuple[str, ...] = ()
    exclusion_attribute: str = ""
    exclusion_value: str = ""

    @classmethod
    def from_settings(cls, sync: SyncSettings) -> "Scope":
        attribute, _, value = sync.exclusion_attribute.partition("=")
        return cls(tuple(normalize_dn(ou) for ou in sync.include_ous),
                   tuple(normalize_dn(ou) for ou in sync.exclude_ous),
                   attribute.strip().lower(), value.strip())

    def fingerprint(self) -> str:
        """Changes when the scope changes, so that the next run is a full one (a delta import does not
        return the objects a new filter brings in or leaves out)."""
        return repr((sorted(self.include_ous), sorted(self.exclude_ous), self.exclusion_attribute,
                     self.exclusion_value.lower()))

    def why_out(self, obj: SourceObject) -> str | None:
        """None when the object is in scope, else the reason it is not."""
        dn = normalize_dn(obj.dn)
        system = system_object_reason(obj, dn)
        if system:
            return system
        if self.include_ous and not any(_under(dn, ou) for ou in self.include_ous):
            return "not under an included OU"
        excluded = next((ou for ou in self.exclude_ous if _under(dn, ou)), None)
        if excluded:
            return f"under the excluded OU {excluded}"
        if self.exclusion_attribute:
            values = obj.attrs.get(self.exclusion_attribute) or []
            if any(str(v).strip().lower() == self.exclusion_value.lower() for v in values):
                return f"{self.exclusion_attribute}={self.exclusion_value}"
        return None


def system_object_reason(obj: SourceObject, dn: str) -> str | None:
    if _true(obj.first("iscriticalsystemobject", "")):
        return "a critical system object"
    rdns = dn.split(",")
    if any(rdn in _SYSTEM_CONTAINERS for rdn in rdns[1:]):
        return "in a system container"
    sam = str(obj.first("samaccountname", "")).lower()
    if sam == "krbtgt" or sam.startswith("msol_") or sam.endswith("$"):
        return "a system account"
    return None
