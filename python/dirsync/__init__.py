"""DirSync: synchronize on-premises Active Directory into Microsoft 365."""

__version__ = "0.1.0"
