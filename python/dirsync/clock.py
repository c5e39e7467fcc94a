"""The timestamps DirSync writes (state, history, lock): UTC, milliseconds, ISO 8601 with a Z."""

from __future__ import annotations

from datetime import datetime, timezone


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
