"""DirSync's memory between runs (see store.py)."""
