"""The realistic directory of the test domain. Tests compare what DirSync reads with these tables,
so they are the single description of what the domain holds.

In scope: the users, groups and contacts below, plus BULK_COUNT users in OU=Bulk who are all members
of "All Bulk Users" (more than the 1,500 values AD returns at once, so membership comes in ranges).
Never to sync: krbtgt and the other critical system objects of a new domain, the MSOL_AD_SYNC service
account, and a computer account.
"""

from __future__ import annotations

import secrets

import ldap3
import ldap3.utils.dn

BASE_DN = "DC=dirsync,DC=test"
MAIL_DOMAIN = "dirsync.test"
BULK_COUNT = 1600

OUS = ["OU=Corp", "OU=People,OU=Corp", "OU=Engineering,OU=People,OU=Corp", "OU=Sales,OU=People,OU=Corp",
       "OU=Leavers,OU=Corp", "OU=Groups,OU=Corp", "OU=Contacts,OU=Corp", "OU=Bulk,OU=Corp",
       "OU=Computers,OU=Corp"]

GLOBAL_SECURITY, UNIVERSAL_SECURITY, UNIVERSAL_DISTRIBUTION = -2147483646, -2147483640, 8
NORMAL, DISABLED = 512, 514

LONG_DESCRIPTION = ("Ünïcödé long description — " * 40)[:1024]
LONG_STREET = ("Straße der Pariser Kommune 12, Hinterhaus, 3. Obergeschoss links; " * 12)[:1024]
LONG_TITLE = "Senior Principal Distinguished Staff Engineer for Directory Synchronization and Identity " \
             "Lifecycle Automation"[:128]


def _person(given, sn, sam, ou, *, enabled=True, manager=None, **extra):
    display = extra.pop("displayName", f"{given} {sn}")
    cn = extra.pop("cn", display)
    attrs = {"givenName": given, "sn": sn, "displayName": display, "sAMAccountName": sam,
             "userPrincipalName": f"{sam}@{MAIL_DOMAIN}", "mail": f"{sam}@{MAIL_DOMAIN}",
             "mailNickname": sam, "userAccountControl": NORMAL if enabled else DISABLED, **extra}
    return {"cn": cn, "ou": ou, "attrs": attrs, "manager": manager}


ENG, SALES = "OU=Engineering,OU=People,OU=Corp", "OU=Sales,OU=People,OU=Corp"

# key -> user. "manager" names another key.
USERS = {
    "alice": _person(
        "Alice", "Anderson", "aanderson", ENG, title="Head of Engineering", department="Engineering",
        company="DirSync Test Ltd", physicalDeliveryOfficeName="Building 1, Room 101",
        streetAddress="1 Main Street", l="Springfield", st="IL", postalCode="62701", c="US",
        co="United States", countryCode=840, telephoneNumber="+1 217 555 0101", mobile="+1 217 555 0199",
        facsimileTelephoneNumber="+1 217 555 0102", employeeID="E1001", description="Engineering lead",
        proxyAddresses=["SMTP:aanderson@dirsync.test", "smtp:alice@dirsync.test",
                        "smtp:alice.anderson@corp.dirsync.test", "X500:/o=Corp/ou=Exchange/cn=Recipients/cn=alice"]),
    "jose": _person(
        "José", "Müller", "jmuller", SALES, manager="alice", title="Verkaufsleiter", department="Vertrieb",
        company="DirSync Test GmbH", l="München", st="Bayern", postalCode="80331", c="DE", co="Deutschland",
        countryCode=276, telephoneNumber="+49 89 555 0100",
        proxyAddresses=["SMTP:jmuller@dirsync.test", "smtp:jose.muller@dirsync.test"]),
    "wang": _person("小明", "王", "xwang", ENG, manager="alice", displayName="王小明", title="软件工程师",
                    department="研发部", l="北京", c="CN", co="China", countryCode=156),
    "olga": _person("Ольга", "Петрова", "opetrova", SALES, manager="jose", title="Менеджер по продажам",
                    l="Москва", employeeID="E2002"),
    "long": _person("Maximilian-Alexander", "Wolfeschlegelsteinhausen", "mwolfe", ENG, manager="alice",
                    displayName="Maximilian-Alexander Wolfeschlegelsteinhausenbergerdorff-Ünterhaußen " * 4,
                    cn="Maximilian Wolfe", title=LONG_TITLE, description=LONG_DESCRIPTION,
                    streetAddress=LONG_STREET),
    "dana": _person("Dana", "Disabled", "ddisabled", SALES, enabled=False, manager="jose",
                    title="Former Account Manager"),
    "orjan": _person("Ørjan", "Øvergård", "oovergard", SALES, manager="jose", l="Tromsø", c="NO",
                     co="Norway", countryCode=578),
    "siobhan": _person("Siobhán", "O'Brien", "sobrien", ENG, manager="alice"),
    "doe": _person("John", "Doe", "jdoe", SALES, cn="Doe, John", displayName="Doe, John"),
}
USERS["long"]["attrs"]["displayName"] = USERS["long"]["attrs"]["displayName"][:256]
# All 15 on alice. Not **-unpacked into _person: a type checker cannot see that these keys miss its `enabled`.
USERS["alice"]["attrs"].update({f"extensionAttribute{n}": f"ext{n}-alice" for n in range(1, 16)})

CONTACTS = {
    "pat": {"cn": "Pat Partner", "attrs": {"givenName": "Pat", "sn": "Partner", "displayName": "Pat Partner",
                                           "mail": "pat@partner.example", "company": "Partner Inc",
                                           "proxyAddresses": ["SMTP:pat@partner.example"]}},
    "chloe": {"cn": "Chloé Fournisseur", "attrs": {"givenName": "Chloé", "sn": "Fournisseur",
                                                   "displayName": "Chloé Fournisseur",
                                                   "mail": "chloe@fournisseur.example"}},
}

# key -> group. Members name users, contacts or other groups by key; "bulk" means the bulk users.
GROUPS = {
    "engineering": {"cn": "Engineering", "groupType": GLOBAL_SECURITY, "members": ["alice", "wang", "long", "siobhan"]},
    "sales": {"cn": "Sales", "groupType": GLOBAL_SECURITY, "members": ["jose", "olga", "dana", "orjan", "doe"]},
    "staff": {"cn": "All Staff", "groupType": UNIVERSAL_SECURITY, "members": ["engineering", "sales"],
              "managedBy": "alice", "description": "Everyone, by nested department groups"},
    "newsletter": {"cn": "Newsletter", "groupType": UNIVERSAL_DISTRIBUTION, "members": ["alice", "pat", "chloe"],
                   "mail": f"newsletter@{MAIL_DOMAIN}", "mailNickname": "newsletter",
                   "proxyAddresses": [f"SMTP:newsletter@{MAIL_DOMAIN}", f"smtp:news@{MAIL_DOMAIN}"]},
    "bulk": {"cn": "All Bulk Users", "groupType": UNIVERSAL_SECURITY, "members": ["bulk", "alice"]},
    "empty": {"cn": "Empty Group", "groupType": GLOBAL_SECURITY, "members": []},
}

SERVICE_ACCOUNT = "MSOL_AD_SYNC"
COMPUTER = "WS01"


def dn(key: str) -> str:
    """The DN of a seeded object by its key."""
    if key in USERS:
        return f"CN={_escape(USERS[key]['cn'])},{USERS[key]['ou']},{BASE_DN}"
    if key in CONTACTS:
        return f"CN={_escape(CONTACTS[key]['cn'])},OU=Contacts,OU=Corp,{BASE_DN}"
    if key in GROUPS:
        return f"CN={_escape(GROUPS[key]['cn'])},OU=Groups,OU=Corp,{BASE_DN}"
    raise KeyError(key)


def bulk_dn(n: int) -> str:
    return f"CN=bulkuser{n:04d},OU=Bulk,OU=Corp,{BASE_DN}"


def _escape(value: str) -> str:
    return ldap3.utils.dn.escape_rdn(value)


def _password() -> str:
    return "Sd1-" + secrets.token_urlsafe(24)  # set so accounts can be enabled; never needed again


def _check(conn: ldap3.Connection, what: str) -> None:
    if conn.result["result"] != 0:
        raise RuntimeError(f"seeding {what} failed: {conn.result['description']} {conn.result['message']}")


def _add(conn, dn_, classes, attrs):
    conn.add(dn_, classes, attrs)
    _check(conn, dn_)


def seed(conn: ldap3.Connection) -> None:
    """Write the directory described above through `conn` (an admin connection over TLS)."""
    for ou in OUS:
        _add(conn, f"{ou},{BASE_DN}", "organizationalUnit", {})
    for key, user in USERS.items():
        attrs = {k: v for k, v in user["attrs"].items()}
        attrs["unicodePwd"] = f'"{_password()}"'.encode("utf-16-le")
        _add(conn, dn(key), "user", attrs)
    for key, user in USERS.items():
        if user["manager"]:
            conn.modify(dn(key), {"manager": [(ldap3.MODIFY_REPLACE, [dn(user["manager"])])]})
            _check(conn, f"manager of {key}")
    for key, contact in CONTACTS.items():
        _add(conn, dn(key), "contact", contact["attrs"])
    for n in range(1, BULK_COUNT + 1):
        # No password: PASSWD_NOTREQD keeps them enabled without the cost of 1,600 password hashes.
        _add(conn, bulk_dn(n), "user", {"sAMAccountName": f"bulkuser{n:04d}", "givenName": "Bulk",
                                        "sn": f"User {n:04d}", "displayName": f"Bulk User {n:04d}",
                                        "userPrincipalName": f"bulkuser{n:04d}@{MAIL_DOMAIN}",
                                        "userAccountControl": 544})
    for key, group in GROUPS.items():
        attrs = {k: v for k, v in group.items() if k not in ("cn", "members", "managedBy")}
        attrs["sAMAccountName"] = group["cn"]
        if "managedBy" in group:
            attrs["managedBy"] = dn(group["managedBy"])
        _add(conn, dn(key), "group", attrs)
    for key, group in GROUPS.items():
        members = [bulk_dn(n) for n in range(1, BULK_COUNT + 1)] if "bulk" in group["members"] else []
        members += [dn(m) for m in group["members"] if m != "bulk"]
        for start in range(0, len(members), 500):
            conn.modify(dn(key), {"member": [(ldap3.MODIFY_ADD, members[start:start + 500])]})
            _check(conn, f"members of {key}")
    _add(conn, f"CN={SERVICE_ACCOUNT},CN=Users,{BASE_DN}", "user",
         {"sAMAccountName": SERVICE_ACCOUNT, "userAccountControl": 66048,
          "description": "Account created by DirSync to synchronize directories",
          "unicodePwd": f'"{_password()}"'.encode("utf-16-le")})
    show_tombstones_to(conn, f"CN={SERVICE_ACCOUNT},CN=Users,{BASE_DN}")
    _add(conn, f"CN={COMPUTER},OU=Computers,OU=Corp,{BASE_DN}", "computer",
         {"sAMAccountName": f"{COMPUTER}$", "userAccountControl": 4096})


def show_tombstones_to(conn: ldap3.Connection, account_dn: str) -> None:
    """A Samba gap, not DirSync's need: AD's DirSync control returns tombstones to any account with
    Replicating Directory Changes (MS-ADTS 3.1.1.3.4.1.3), Samba 4.17's only to administrators. So that
    the lab shows deletions to a service account as AD would (the seeded MSOL_AD_SYNC, or the
    MSOL_<installation id> a wizard made), the account is made one. (The wizard grants only the
    replication right; tests of that right use an unseeded domain.)"""
    from ldap3.core.exceptions import LDAPAttributeOrValueExistsResult, LDAPEntryAlreadyExistsResult
    try:
        conn.modify(f"CN=Administrators,CN=Builtin,{BASE_DN}", {"member": [(ldap3.MODIFY_ADD, [account_dn])]})
    except (LDAPAttributeOrValueExistsResult, LDAPEntryAlreadyExistsResult):
        return  # a member already: the same installation's wizard ran again
    _check(conn, f"{account_dn} in Administrators")
