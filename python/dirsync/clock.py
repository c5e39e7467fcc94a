"""The timestamps DirSync writes (state, history, lock): UTC, milliseconds, ISO 8601 with a Z."""

from __future__ import annotations

from datetime import datetime, timezone


def stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now() -> str:
    return stamp(datetime.now(timezone.utc))


def parse(text: str) -> datetime:
    """The inverse of stamp."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
