"""The slice of the Exchange schema extension that DirSync reads: mailNickname and
extensionAttribute1-15, allowed on mailRecipient (so on users, groups and contacts), with the
attribute IDs Exchange uses."""

from __future__ import annotations

import uuid

import ldap3

# lDAPDisplayName -> (attributeID, rangeUpper)
EXCHANGE_ATTRIBUTES = {
    "mailNickname": ("1.2.840.113556.1.2.447", 64),
    **{f"extensionAttribute{n}": (f"1.2.840.113556.1.2.{422 + n}", 1024) for n in range(1, 11)},
    **{f"extensionAttribute{n}": (f"1.2.840.113556.1.2.{588 + n}", 1024) for n in range(11, 16)},
}


def extend_schema(conn: ldap3.Connection, base_dn: str) -> None:
    schema = f"CN=Schema,CN=Configuration,{base_dn}"
    for name, (oid, upper) in EXCHANGE_ATTRIBUTES.items():
        cn = f"ms-Exch-{name}"
        conn.add(f"CN={cn},{schema}", "attributeSchema", {
            "cn": cn, "lDAPDisplayName": name, "attributeID": oid, "attributeSyntax": "2.5.5.12",
            "oMSyntax": 64, "isSingleValued": "TRUE", "rangeLower": 1, "rangeUpper": upper,
            "schemaIDGUID": uuid.uuid5(uuid.NAMESPACE_OID, oid).bytes_le, "searchFlags": 0})
    conn.modify("", {"schemaUpdateNow": [(ldap3.MODIFY_REPLACE, ["1"])]})
    conn.modify(f"CN=Mail-Recipient,{schema}", {"mayContain": [(ldap3.MODIFY_ADD, list(EXCHANGE_ATTRIBUTES))]})
    conn.modify("", {"schemaUpdateNow": [(ldap3.MODIFY_REPLACE, ["1"])]})
