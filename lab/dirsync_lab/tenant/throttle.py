"""Throttling and fault injection of the local tenant.

Quotas follow https://learn.microsoft.com/graph/throttling-limits#identity-and-access-service-limits:
3,000 writes per 150 s per app+tenant; 18,000 writes per 300 s per tenant, shared by every app (other apps'
steady load is a setting); resource units per 10 s per app+tenant (3,500 / 5,000 / 8,000 for tenants of
under 50, up to 500 and more users), each request costing what the page's table says. All configurable.
Each request in a $batch counts on its own (https://learn.microsoft.com/graph/json-batching#batch-size-limitations).

Faults are for tests and demos (docs/local-tenant.md, "Fault injection"): set at runtime through the admin
endpoint PUT /_admin/faults or LocalTenant.set_faults().
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class Limit:
    """One documented limit: `limit` units per `seconds`, in the window `key` (shared by every app for the
    tenant-wide ones); a request costs `cost` units of it; `background` units per second are other apps'."""

    key: str
    scope: str            # x-ms-throttle-scope when it refuses
    reason: str           # x-ms-throttle-information
    limit: float
    seconds: float
    cost: float = 1.0
    background: float = 0.0


class _Window:
    """(time, cost) of the requests counted in one limit's window, and their total, kept as they come and go:
    summing the window at every request made the tenant's cost per request grow with its rate."""

    def __init__(self):
        self.sent: deque[tuple[float, float]] = deque()
        self.total = 0.0

    def expire(self, before: float) -> None:
        while self.sent and self.sent[0][0] <= before:
            self.total -= self.sent.popleft()[1]
        if not self.sent:
            self.total = 0.0  # no float drift outlives an empty window

    def add(self, at: float, cost: float) -> None:
        self.sent.append((at, cost))
        self.total += cost


class Quota:
    """Sliding windows of (time, cost) per limit key."""

    def __init__(self):
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()

    def take(self, limits: list[Limit]) -> tuple[Limit | None, float, float]:
        """Counts one request against every limit unless one is full. Returns (the limit that refused or
        None, its Retry-After, the highest share of a limit in use once this request is counted)."""
        now = time.monotonic()
        with self._lock:
            usage = 0.0
            for lim in limits:
                window = self._windows.setdefault(lim.key, _Window())
                window.expire(now - lim.seconds)
                used = window.total + lim.background * lim.seconds
                if used + lim.cost > lim.limit:
                    return lim, self._retry_after(window.sent, used + lim.cost - lim.limit, lim.seconds, now), \
                        used / lim.limit
                usage = max(usage, (used + lim.cost) / lim.limit)
            for lim in limits:
                self._windows[lim.key].add(now, lim.cost)
            return None, 0.0, usage

    @staticmethod
    def _retry_after(window: deque[tuple[float, float]], excess: float, seconds: float, now: float) -> float:
        """When enough of the window has expired for the request to fit (a whole window if it never will)."""
        freed = 0.0
        for sent, cost in window:
            freed += cost
            if freed >= excess:
                return max(0.001, sent + seconds - now)
        return seconds

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
    replication_delay_ms: int = 0  # a new object stays unseen by reads and references for random(0, N) ms
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

    def replication_lag(self) -> float:
        """Seconds the object created now stays unseen (directory/replication.py)."""
        with self._lock:
            return self._random.uniform(0, self.replication_delay_ms / 1000) if self.replication_delay_ms else 0.0

    def status(self) -> int:
        with self._lock:
            return self._random.choice((500, 502, 503, 504))
