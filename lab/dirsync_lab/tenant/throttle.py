"""Throttling and fault injection of the local tenant.

Write quotas follow https://learn.microsoft.com/graph/throttling-limits#identity-and-access-service-limits
(3,000 writes per 150 s per app+tenant, 18,000 per 300 s per tenant; both configurable). Each write in a
$batch counts on its own (https://learn.microsoft.com/graph/json-batching#batch-size-limitations).

Faults are for tests and demos (docs/local-tenant.md, "Fault injection"): set at runtime through the admin
endpoint PUT /_admin/faults or LocalTenant.set_faults().
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, fields


class WriteQuota:
    """A sliding window of write timestamps per scope."""

    def __init__(self):
        self._windows: dict[str, deque] = {}
        self._lock = threading.Lock()

    def take(self, scopes: list[tuple[str, int, float]]) -> tuple[float | None, str, float]:
        """Counts one write against every scope (key, limit, seconds) unless one is full.
        Returns (retry_after or None, the scope that refused, the highest usage ratio)."""
        now = time.monotonic()
        with self._lock:
            usage = 0.0
            for key, limit, seconds in scopes:
                window = self._windows.setdefault(key, deque())
                while window and window[0] <= now - seconds:
                    window.popleft()
                if len(window) >= limit:
                    return max(0.001, window[0] + seconds - now), key, len(window) / limit
                usage = max(usage, (len(window) + 1) / limit)
            for key, _, _ in scopes:
                self._windows[key].append(now)
            return None, "", usage

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()


@dataclass
class Faults:
    latency_ms: int = 0            # added to every request
    error_rate: float = 0.0        # share of requests and $batch parts answered 500/502/503/504
    reset_rate: float = 0.0        # share of connections closed without an answer
    after_commit: float = 0.5      # share of those faults that strike after the write was done
    throttle_rate: float = 0.0     # share of requests and $batch parts answered 429
    throttle_next: int = 0         # the next N requests and parts are answered 429
    throttle_for: float = 0.0      # a 429 storm: every request and part for this many seconds from now
    retry_after: float = 1.0       # the Retry-After sent with forced 429s and 503s (seconds, may be fractional)
    refuse_path: str = ""          # requests whose path contains this are refused with refuse_status
    refuse_status: int = 403       # 403 Authorization_RequestDenied, 404 or 400, as Graph words them
    seed: int | None = None

    def __post_init__(self):
        if self.refuse_status not in (400, 403, 404):
            raise ValueError("refuse_status must be 400, 403 or 404.")
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()
        self._storm_until = time.monotonic() + self.throttle_for

    @classmethod
    def from_dict(cls, data: dict) -> "Faults":
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"Unknown fault settings: {', '.join(sorted(unknown))}.")
        return cls(**data)

    def to_dict(self) -> dict:
        return asdict(self)

    def roll(self, *, can_reset: bool) -> tuple[str, bool] | None:
        """Decides this request's fault: (kind, after_commit) with kind "429", "5xx" or "reset"."""
        with self._lock:
            if time.monotonic() < self._storm_until:
                return "429", False
            if self.throttle_next > 0:
                self.throttle_next -= 1
                return "429", False
            r = self._random.random()
            late = self._random.random() < self.after_commit
            if r < self.throttle_rate:
                return "429", False
            r -= self.throttle_rate
            if r < self.error_rate:
                return "5xx", late
            r -= self.error_rate
            if can_reset and r < self.reset_rate:
                return "reset", late
            return None

    def retry_after_now(self) -> float:
        """Retry-After for a forced 429: the configured value, or what is left of a storm."""
        return max(self.retry_after, self._storm_until - time.monotonic())

    def status(self) -> int:
        with self._lock:
            return self._random.choice((500, 502, 503, 504))
