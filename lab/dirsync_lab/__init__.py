"""DirSync's lab: the local Microsoft 365 tenant, the Samba AD test domain and the demo lab built from
both, for trying DirSync without production systems and for its tests and benchmarks. It depends on the
dirsync package; dirsync never imports it. Command line: `dirsync-lab` (docs/local-tenant.md)."""

__version__ = "0.1.0"
