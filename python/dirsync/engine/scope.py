"""Which Active Directory objects DirSync synchronizes.

An object is in scope when it lies under one of the included OUs (all of the domain when none is
listed), under none of the excluded OUs, does not carry the exclusion attribute value (such as
extensionAttribute15=NoSync), and is not a system object. System objects never sync, whatever the
configuration says: critical system objects (isCriticalSystemObject, which covers Administrator, Guest,
krbtgt and the built-in groups), anything in the system containers, DirSync's own service account
(MSOL_*) and computer accounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .. import dn as dns
from ..config import SyncSettings
from ..errors import ConfigurationError
from .ports import Source, SourceObject

_SYSTEM_CONTAINERS = {(f"cn={name}",) for name in (
    "system", "builtin", "foreignsecurityprincipals", "program data", "lostandfound", "managed service accounts",
    "microsoft exchange system objects", "ntds quotas", "infrastructure")}


def _true(value) -> bool:
    return str(value).strip().upper() in ("TRUE", "1")


@dataclass(frozen=True)
class Scope:
    include_ous: tuple[dns.Dn, ...] = ()
    exclude_ous: tuple[dns.Dn, ...] = ()
    exclusion_attribute: str = ""
    exclusion_value: str = ""

    @classmethod
    def from_settings(cls, sync: SyncSettings) -> "Scope":
        attribute, _, value = sync.exclusion_attribute.partition("=")
        return cls(tuple(dns.parse(ou) for ou in sync.include_ous),
                   tuple(dns.parse(ou) for ou in sync.exclude_ous),
                   attribute.strip().lower(), value.strip())

    def fingerprint(self) -> str:
        """Changes when the scope changes, so that the next run is a full one (a delta import does not
        return the objects a new filter brings in or leaves out)."""
        return repr((sorted(map(dns.text, self.include_ous)), sorted(map(dns.text, self.exclude_ous)),
                     self.exclusion_attribute, self.exclusion_value.lower()))

    def why_out(self, obj: SourceObject) -> str | None:
        """None when the object is in scope, else the reason it is not."""
        dn = dns.parse(obj.dn)
        system = system_object_reason(obj, dn)
        if system:
            return system
        if self.include_ous and not any(dns.is_under(dn, ou) for ou in self.include_ous):
            return "not under an included OU"
        excluded = next((ou for ou in self.exclude_ous if dns.is_under(dn, ou)), None)
        if excluded:
            return f"under the excluded OU {dns.text(excluded)}"
        if self.exclusion_attribute:
            values = obj.attrs.get(self.exclusion_attribute) or []
            if any(str(v).strip().lower() == self.exclusion_value.lower() for v in values):
                return f"{self.exclusion_attribute}={self.exclusion_value}"
        return None

    def why_in(self, obj: SourceObject) -> str:
        """The rule that puts an object in scope, in words (for one that why_out lets through)."""
        dn = dns.parse(obj.dn)
        included = next((ou for ou in self.include_ous if dns.is_under(dn, ou)), None)
        rule = f"under the included OU {dns.text(included)}" if included else "the whole domain (no included OU)"
        if self.exclude_ous:
            rule += ", under no excluded OU"
        if self.exclusion_attribute:
            rule += f", not {self.exclusion_attribute}={self.exclusion_value}"
        return rule


def system_object_reason(obj: SourceObject, dn: dns.Dn) -> str | None:
    if _true(obj.first("iscriticalsystemobject", "")):
        return "a critical system object"
    if any(rdn in _SYSTEM_CONTAINERS for rdn in dn[1:]):
        return "in a system container"
    sam = str(obj.first("samaccountname", "")).lower()
    if sam == "krbtgt" or sam.startswith("msol_") or sam.endswith("$"):
        return "a system account"
    return None


def check_containers(source: Source, included: Sequence[str], excluded: Sequence[str] = (), *,
                     consequence: str) -> None:
    """Raises ConfigurationError naming each OU of the filter that the directory does not have: a typo, an
    incomplete DN or an OU renamed since would otherwise take every object out of scope (and out of the
    cloud) without a word. `consequence` says what was not done because of it."""
    kinds = {**{dn: "excluded" for dn in excluded}, **{dn: "included" for dn in included}}
    if not kinds:
        return  # the whole domain: nothing to ask the directory
    missing = source.missing_containers(list(kinds))
    if not missing:
        return
    problems = []
    for container in missing:
        what = f"The {kinds[container.dn]} OU '{container.dn}'"
        problems.append(f"{what} is not under the domain {container.base_dn}: give its complete DN, "
                        f"ending in {container.base_dn}." if container.outside else
                        f"{what} does not exist in Active Directory (misspelt, renamed or deleted).")
    raise ConfigurationError(
        " ".join(problems) + f" {consequence}",
        fix="Correct the OU with Set-CoexistenceConfiguration -IncludeOUs/-ExcludeOUs ('dirsync config set "
            "--include-ou/--exclude-ou'), giving each OU's distinguishedName as Active Directory shows it.",
        target=missing[0].dn)
