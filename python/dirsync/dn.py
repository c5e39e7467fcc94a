"""Distinguished names compared as the directory compares them (RFC 4514).

Two spellings of one DN are equal: a character escaped as `\\,` or as `\\2C` (Samba writes `;` and `=` as
`\\3B` and `\\3D`, an administrator types `\\;`), blanks around the separators or not, any letter case. An
escaped comma inside a value never separates two RDNs, so a user named "x,OU=Leavers" is not taken for
one under OU=Leavers.
"""

from __future__ import annotations

import re

Rdn = tuple[str, ...]       # "type=value" pairs, sorted (a multi-valued RDN has several)
Dn = tuple[Rdn, ...]        # the leaf RDN first, as written

_TYPE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)*)$")
_HEX = "0123456789abcdefABCDEF"


def parse(dn: str) -> Dn:
    """The canonical form of `dn`; ValueError says what is wrong when it is not a DN."""
    rdns: list[Rdn] = []
    pairs: list[str] = []
    i, n = 0, len(dn)
    while True:
        equals = dn.find("=", i)
        if equals < 0:
            raise ValueError(f"'{dn[i:].strip()}' has no '='")
        kind = dn[i:equals].strip()
        if not _TYPE.match(kind):
            raise ValueError(f"'{kind}' is not an attribute name")
        value, i = _value(dn, equals + 1)
        if not value:
            raise ValueError(f"{kind}= has no value")
        pairs.append(f"{kind.lower()}={value.casefold()}")
        if i >= n or dn[i] == ",":
            rdns.append(tuple(sorted(pairs)))
            pairs = []
            if i >= n:
                return tuple(rdns)
        i += 1  # past the "," or "+"


def _value(dn: str, i: int) -> tuple[str, int]:
    """An RDN value from position i, unescaped, without the blanks around it that are not escaped; and
    the position of the separator ("," or "+") or the end that closes it."""
    out = bytearray()
    kept = 0  # length of `out` up to its last escaped or non-blank character
    n = len(dn)
    while i < n and dn[i] == " ":
        i += 1
    while i < n and dn[i] not in ",+":
        char = dn[i]
        if char == "\\":
            pair = dn[i + 1:i + 3]
            if len(pair) == 2 and all(c in _HEX for c in pair):
                out.append(int(pair, 16))
                i += 3
            elif i + 1 < n:
                out += dn[i + 1].encode("utf-8", "surrogateescape")
                i += 2
            else:
                raise ValueError("it ends with a lone backslash")
            kept = len(out)
            continue
        out += char.encode("utf-8", "surrogateescape")
        if char != " ":
            kept = len(out)
        i += 1
    return bytes(out[:kept]).decode("utf-8", "surrogateescape"), i


def is_under(dn: Dn, container: Dn) -> bool:
    """True when `dn` is `container` or lies below it."""
    return len(dn) >= len(container) and dn[len(dn) - len(container):] == container


def text(dn: Dn) -> str:
    """The canonical form as text (lower case, unescaped): for messages and fingerprints."""
    return ",".join("+".join(rdn) for rdn in dn)
