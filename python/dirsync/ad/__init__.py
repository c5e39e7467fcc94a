"""Active Directory over LDAP: connections (connection.py), full and delta import (reader.py) and
DirSync's own service account (service_account.py)."""
