"""Text from Active Directory or Microsoft Graph on its way to a person: a terminal, a log, a message.

A CN may carry ESC, BEL, CR or a CSI (U+009B): printed raw, it can retitle the window, erase a line or
paint a fake "All objects synchronized". `for_display` is the one place that neutralises such text; it
shows each character as an escape (\\x1b, \\u202e) rather than dropping it, so the administrator can still
find the object. Data returned to scripts (objects, --json) keeps the true value.
"""

from __future__ import annotations

import re
from typing import Any

# C0 (with TAB, LF, CR), DEL and C1 (U+0080-U+009F: the category Cc), and the bidirectional controls
# that reorder what follows them on screen (Unicode UAX #9: LRM, RLM, ALM, embeddings, overrides, isolates).
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def for_display(text) -> str:
    """`text` as a person may safely see it on one line: every control character as an escape."""
    return UNSAFE.sub(_escape, str(text))


def displayable(value: Any) -> Any:
    """`for_display` over every string of a JSON-like value (an event, an error)."""
    if isinstance(value, str):
        return for_display(value)
    if isinstance(value, dict):
        return {k: displayable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [displayable(v) for v in value]
    return value
