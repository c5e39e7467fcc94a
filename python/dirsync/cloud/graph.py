"""Microsoft Graph over HTTP: one pooled session, $batch packing, paging, and ONE retry policy.

The policy (https://learn.microsoft.com/graph/throttling#best-practices-to-handle-throttling):
- 429: wait what Retry-After says (seconds, possibly fractional), for the whole request or per $batch part;
- 500/502/503/504 and connection errors: exponential backoff with full jitter (Retry-After wins if sent);
- 401 with an expired token: one fresh token, then the request again;
- any other 4xx: returned at once, never retried: sending it again cannot change the answer;
- a bounded number of attempts, then GraphUnavailableError (for a $batch part: its last answer);
- Microsoft 365 not answering at all (connection failures, or 5xx for whole requests, with no answer in
  between) is one condition of the tenant, not of a request or an object: counted across requests and
  $batch requests, it ends the work with TenantUnreachableError after `max_attempts` such failures in a row
  or `outage_window` seconds, whichever comes first, and it is said on screen while retrying;
- every wait ends at once when the caller cancels (Events.sleep).
A write-rate governor keeps DirSync under the documented write quota of its app+tenant pair
(https://learn.microsoft.com/graph/throttling-limits#identity-and-access-service-limits) so that it does
not have to bounce off 429s. The limits it cannot count (resource units, the tenant's write quota shared
with other apps) Graph reports in `x-ms-throttle-limit-percentage` once more than 80 % is used: DirSync
then slows down before it is throttled: at 100 % it pauses after each request for as long as the write
quota takes for a $batch of 20 writes (1 s at the documented 3,000 per 150 s: the app+tenant write quota's
own rate), in proportion from 80 %. The pause follows the quota the governor is given, so that a quota
with time scaled (bench/run.py) scales the pause with it.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from itertools import islice
from typing import Callable, Iterable, Iterator, Protocol

import requests
from requests.adapters import HTTPAdapter

from ..errors import CertificateError, CloudError, ServerUnreachableError
from ..events import Events
from . import permissions
from .auth import TokenProvider

WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}
RETRYABLE = {500, 502, 503, 504}
BATCH_LIMIT = 20  # https://learn.microsoft.com/graph/json-batching
DOCUMENTED_WRITE_QUOTA = (3000, 150.0)  # writes per 2 min 30 s per app+tenant pair
# https://learn.microsoft.com/graph/throttling-limits#regular-responses-requests : sent above 0.8 of a limit
SLOW_DOWN_FROM = 0.8


class GraphUnavailableError(CloudError):
    """Graph kept throttling or failing after every allowed attempt."""

    error_id = "DirSync.CloudUnavailable"
    category = "ResourceUnavailable"


class TenantUnreachableError(GraphUnavailableError, ServerUnreachableError):
    """Microsoft 365 stopped answering: the run stops as stopped-server-down, keeping what was confirmed."""


@dataclass
class RetryPolicy:
    max_attempts: int = 8
    base_delay: float = 0.5     # seconds; backoff is random(0, min(max_delay, base * 2**attempt))
    max_delay: float = 30.0
    # How long a write may stay unseen by the next read or reference (replication delay): the bound for
    # retrying references to objects created in this run and for looking up a create whose answer was lost.
    replication_window: float = 30.0
    timeout: tuple[float, float] = (10.0, 120.0)  # connect, read
    # How long Microsoft 365 may go without answering (failures in a row, across requests) before the
    # work stops: long enough for a blip or a failover, short enough that an outage is not hours of retries.
    outage_window: float = 60.0


@dataclass
class GraphStats:
    """What it took: every HTTP request sent (a $batch counts once) and every second spent waiting."""

    requests: int = 0
    batch_parts: int = 0
    retries: int = 0
    throttled: int = 0          # 429s received, for requests and $batch parts
    server_errors: int = 0      # 5xx received, for requests and $batch parts
    connection_errors: int = 0
    wait_seconds: float = 0.0   # Retry-After and backoff
    governor_seconds: float = 0.0  # held back by the write-rate governor
    slowdown_seconds: float = 0.0  # paused because Graph said a limit was nearly used up
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **amounts) -> None:
        with self._lock:
            for name, amount in amounts.items():
                setattr(self, name, getattr(self, name) + amount)

    def to_dict(self) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.__dict__.items()
                if not k.startswith("_")}


class WriteGovernor:
    """A sliding window that lets at most `headroom` x the quota's writes through per window.

    The headroom is the whole long-run cost of governing (a long export runs at headroom x the quota's
    rate), so it only covers the lag between our clock and the server's: a 3 % margin is 4.5 s of writes
    per 150 s window. A 429 that slips through is still retried after its Retry-After."""

    def __init__(self, limit: int, seconds: float, headroom: float = 0.97, sleep=time.sleep):
        self.capacity = max(1, int(limit * headroom))
        self.seconds = seconds
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()
        self._sleep = sleep

    def acquire(self, writes: int) -> float:
        """Blocks until `writes` more fit in the window; returns the seconds it waited."""
        writes = min(writes, self.capacity)
        waited = 0.0
        while True:
            with self._lock:
                now = time.monotonic()
                while self._sent and self._sent[0] <= now - self.seconds:
                    self._sent.popleft()
                if len(self._sent) + writes <= self.capacity:
                    self._sent.extend([now] * writes)
                    return waited
                delay = self._sent[len(self._sent) + writes - self.capacity - 1] + self.seconds - now
            self._sleep(delay)
            waited += delay


class TimeoutSession(requests.Session):
    """A session whose every request has a timeout: requests has none by default, and MSAL (given this
    session) sets none either, so a stalled network would hang sign-in and every call."""

    def __init__(self, timeout: tuple[float, float]):
        super().__init__()
        self.timeout = timeout

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().request(method, url, *args, **kwargs)


def make_session(settings, pool_size: int = 8, timeout: tuple[float, float] = RetryPolicy.timeout) -> requests.Session:
    session = TimeoutSession(timeout)
    # Only DirSync's settings decide trust and proxy: with trust_env, REQUESTS_CA_BUNDLE would override
    # the tenant's CA file (psf/requests#3829) and environment proxies would apply silently.
    session.trust_env = False
    session.verify = settings.ca_file or True
    if settings.proxy:
        session.proxies = {"https": settings.proxy, "http": settings.proxy}
    adapter = HTTPAdapter(pool_connections=2, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    return session


def retry_after(headers) -> float | None:
    value = headers.get("Retry-After") if headers else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: not sent by Graph; fall back to backoff


def limit_used(headers) -> float:
    """The share of a throttling limit in use that Graph reported (x-ms-throttle-limit-percentage), or 0."""
    value = next((v for k, v in (headers or {}).items() if k.lower() == "x-ms-throttle-limit-percentage"), None)
    try:
        return float(value or 0)  # $batch parts' headers are a plain dict: any case
    except (TypeError, ValueError):
        return 0.0


def error_of(body) -> tuple[str, str]:
    """Graph's error code and message from a response body (https://learn.microsoft.com/graph/errors)."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("code") or ""), str(error.get("message") or "")
    return "", ""


class TokenSource(Protocol):
    def token(self, *, force_refresh: bool = False) -> str: ...


class GraphClient:
    def __init__(self, settings, credential: str | None = None, *, policy: RetryPolicy | None = None,
                 write_quota: tuple[int, float] = DOCUMENTED_WRITE_QUOTA, events: Events | None = None,
                 sleep=None, sign_in: Callable[[requests.Session], "TokenSource"] | None = None):
        """Signs in as DirSync's app with `credential`, or, given `sign_in`, with the token source it makes
        on this client's session (the administrator's sign-in of the wizard: admin.AdminSignIn)."""
        self.root = settings.graph_endpoint.rstrip("/")
        self.base = f"{self.root}/v1.0"
        self.policy = policy or RetryPolicy()
        self.events = events or Events()
        self.stats = GraphStats()
        self.session = make_session(settings, timeout=self.policy.timeout)
        self._sleep = sleep or self.events.sleep
        self.governor = WriteGovernor(*write_quota, sleep=self._sleep)
        # Seconds of pause after an answer at 100 % of a limit (in proportion from 80 %): the write quota's
        # time for one $batch of writes.
        self.slow_down_at_limit = BATCH_LIMIT * write_quota[1] / write_quota[0]
        self._unanswered_since: float | None = None  # the first of the failures in a row, monotonic
        self._unanswered = 0
        self.client_id = settings.client_id
        self.app_only = sign_in is None
        self.auth: TokenSource = TokenProvider(settings, credential or "", self.session) if sign_in is None \
            else sign_in(self.session)
        self._token = self.auth.token()

    def check_permissions(self) -> None:
        """Fails naming every Graph permission DirSync needs that the app's token does not carry."""
        permissions.check_token(self._token, self.client_id)

    def _relative(self, url: str) -> str:
        return url[len(self.base):] if url.startswith(self.base) else url

    def _refused(self, method: str, url: str, status: int, body) -> None:
        """A 403 Authorization_RequestDenied for a call whose permission the token lacks ends the run with
        that permission's name. Graph gives the same answer when the token has the permission but the object
        is protected (a user holding an administrator role): that is about one object, reported on its own."""
        if (self.app_only and status == 403 and error_of(body)[0] == "Authorization_RequestDenied"
                and permissions.lacks(self._token, method, self._relative(url))):
            raise permissions.denied_error(method, self._relative(url), self.client_id)

    def close(self) -> None:
        self.session.close()

    # --- waiting -----------------------------------------------------------------------------------------
    def _backoff(self, attempt: int) -> float:
        return random.uniform(0, min(self.policy.max_delay, self.policy.base_delay * 2 ** attempt))

    def _wait(self, seconds: float, why: str) -> None:
        if seconds > 0:
            self.events.verbose(f"Microsoft Graph: {why}; waiting {seconds:.2f} s.")
            if self._unanswered:
                self.events.waiting(f"Microsoft 365 is not answering; retrying in {seconds:.0f} s")
            else:
                self.events.waiting(f"Waiting {seconds:.0f} s: {why}")
            self._sleep(seconds)
            self.stats.add(wait_seconds=seconds)

    # --- Microsoft 365 not answering: a condition of the tenant, counted across requests ---------------
    def _answered(self) -> None:
        self._unanswered_since, self._unanswered = None, 0

    def _not_answered(self, what: str) -> None:
        """One more request in a row that Microsoft 365 did not answer; raises once that is an outage."""
        now = time.monotonic()
        if self._unanswered_since is None:
            self._unanswered_since = now
        self._unanswered += 1
        waited = now - self._unanswered_since
        if self._unanswered == 1:
            self.events.warning(f"Microsoft 365 ({self.root}) is not answering ({what}); retrying.")
        if self._unanswered >= self.policy.max_attempts or waited >= self.policy.outage_window:
            raise TenantUnreachableError(
                f"Microsoft 365 ({self.root}) stopped answering: {self._unanswered} requests in a row failed "
                f"over {waited:.0f} s ({what}). The run stopped; what Microsoft 365 confirmed before is kept.",
                target=self.root, fix="Check the network and the proxy to Microsoft 365 (and the Microsoft 365 "
                "service health); the next run carries on with the rest.")

    def pause(self, attempt: int, why: str, at_most: float) -> None:
        """Waits the backoff of `attempt`, `at_most` seconds at most (replication delay: writer.py)."""
        self._wait(min(at_most, self._backoff(attempt)), why)

    def _slow_down(self, used: float) -> None:
        """Pause in proportion to how far above 80 % of a limit Graph says this app is."""
        if used > SLOW_DOWN_FROM:
            pause = min(self.policy.max_delay,
                        self.slow_down_at_limit * (used - SLOW_DOWN_FROM) / (1.0 - SLOW_DOWN_FROM))
            self.events.verbose(f"Microsoft Graph: {used:.0%} of a throttling limit used; slowing down "
                                f"{pause:.2f} s.")
            self._sleep(pause)
            self.stats.add(slowdown_seconds=pause)

    def _govern(self, writes: int) -> None:
        if writes:
            self.stats.add(governor_seconds=self.governor.acquire(writes))

    # --- one request with the retry policy ---------------------------------------------------------------
    def _send(self, method: str, url: str, *, json=None, headers: dict | None = None,
              params: dict | None = None) -> requests.Response:
        """One HTTP exchange (plus one with a fresh token if Graph says the token is no longer valid)."""
        full = url if url.startswith("https://") else f"{self.base}/{url.lstrip('/')}"

        def exchange() -> requests.Response:
            self.stats.add(requests=1)
            try:
                return self.session.request(method, full, json=json, params=params, timeout=self.policy.timeout,
                                            headers={"Authorization": f"Bearer {self._token}", **(headers or {})})
            except requests.exceptions.SSLError as exc:
                raise CertificateError(f"The certificate of {self.root} is not trusted.",
                                       fix="Set tenant.ca_file to the CA that issued it.", target=self.root) from exc

        response = exchange()
        if response.status_code == 401 and error_of(_json(response))[0] == "InvalidAuthenticationToken":
            self._token = self.auth.token(force_refresh=True)  # expired: a new token is not a retry
            response = exchange()
        return response

    def request(self, method: str, url: str, *, json=None, headers: dict | None = None,
                params: dict | None = None) -> requests.Response:
        """Sends with retries; returns the final response (2xx or a 4xx to act on). `url` is relative to
        /v1.0 or absolute (an @odata.nextLink, followed as is)."""
        attempt = 0
        while True:
            attempt += 1
            if method in WRITE_METHODS:
                self._govern(1)
            try:
                response = self._send(method, url, json=json, headers=headers, params=params)
            except (requests.ConnectionError, requests.Timeout) as exc:
                self.stats.add(connection_errors=1)
                self._not_answered(type(exc).__name__)
                self.stats.add(retries=1)
                self._wait(self._backoff(attempt), "the connection failed")
                continue
            status = response.status_code
            if status not in RETRYABLE:
                self._answered()
            if status != 429 and status not in RETRYABLE:
                self._refused(method, url, status, _json(response) if status == 403 else None)
                self._slow_down(limit_used(response.headers))
                return response
            self.stats.add(**({"throttled": 1} if status == 429 else {"server_errors": 1}))
            if status in RETRYABLE:
                self._not_answered(f"{status} on {method} {url.split('?')[0]}")
            if attempt >= self.policy.max_attempts:
                code, message = error_of(_json(response))
                raise GraphUnavailableError(f"Microsoft Graph answered {status} {code} after {attempt} attempts: "
                                            f"{message}", target=self.root,
                                            fix="Graph is throttling or failing; DirSync retries on the next run.")
            self.stats.add(retries=1)
            wait = retry_after(response.headers)
            self._wait(wait if wait is not None else self._backoff(attempt),
                       f"{status} on {method} {url.split('?')[0]}")

    def get_json(self, url: str, *, params: dict | None = None, headers: dict | None = None) -> dict:
        response = self.request("GET", url, params=params, headers=headers)
        body = _json(response)
        if response.status_code >= 400:
            code, message = error_of(body)
            raise CloudError(f"Microsoft Graph refused GET {url.split('?')[0]}: {response.status_code} {code}: "
                             f"{message}", target=url.split("?")[0])
        return body

    def pages(self, url: str, *, params: dict | None = None, headers: dict | None = None) -> Iterator[dict]:
        """Every item of a collection, following @odata.nextLink as is (https://learn.microsoft.com/graph/paging)."""
        body = self.get_json(url, params=params, headers=headers)
        while True:
            yield from body.get("value", [])
            next_link = body.get("@odata.nextLink")
            if not next_link:
                return
            body = self.get_json(next_link, headers=headers)

    # --- $batch ------------------------------------------------------------------------------------------
    def batch(self, parts: list[dict], *, send_once: frozenset[str] = frozenset()) -> dict[str, dict]:
        """Every part's final answer by id, once all are in (see `batches`)."""
        return {i: answer for answers in self.batches(parts, send_once=send_once) for i, answer in answers.items()}

    def batches(self, parts: Iterable[dict], *, send_once: frozenset[str] = frozenset()) -> Iterator[dict[str, dict]]:
        """Runs independent requests {id, method, url, body?} in $batch requests of 20 and yields the parts'
        final answers {status, headers, body} by id as each $batch request settles them. `parts` is read
        as the requests go out, so a caller may make each part only when it is sent.

        Lazy: the next $batch is sent when the caller asks for more, so a caller that stops (a cancel, an
        outage) stops the writes. The waiting before it is not: while the caller handles the answers
        just yielded (the engine commits them), a worker thread makes the next $batch and waits what must
        be waited before it is sent (the write governor, a slow-down, a Retry-After), so that the caller's
        work and the waits overlap and the writes go out at the quota's pace. A cancel during those waits
        ends them; it is raised once the answers of every $batch sent have been yielded.
        A throttled or failed part, or every part of a
        throttled or failed $batch, is sent again after its Retry-After (else backoff) until it succeeds or
        has used its attempts.

        A 5xx or a lost answer may come after the write was done. The final answer of a part that met one
        carries "uncertain": the monotonic time of the last such failure. Parts in `send_once` (creates
        that nothing in Graph would refuse a second time) are not sent again after one: their uncertain
        answer is returned, for the caller to look the object up first (writer.py)."""
        return _waits_ahead(self._settled(parts, send_once))

    def _settled(self, parts: Iterable[dict], send_once: frozenset[str]) -> Iterator[object]:
        """The steps of `batches`: each $batch's answers, and READY where the next $batch is made and
        waited for and only the caller's asking for more is missing."""
        attempts: dict[str, int] = {}
        uncertain: dict[str, float] = {}
        fresh = iter(parts)
        again: deque[dict] = deque()  # parts to send again, before any fresh one
        while True:
            chunk = [again.popleft() for _ in range(min(BATCH_LIMIT, len(again)))]
            chunk += islice(fresh, BATCH_LIMIT - len(chunk))
            if not chunk:
                return
            self._govern(sum(1 for p in chunk if p["method"] in WRITE_METHODS))
            yield READY
            self.events.check_cancelled()
            answers, used = self._send_batch(chunk)
            results: dict[str, dict] = {}
            retry, waits = [], []
            for part in chunk:
                answer = answers[part["id"]]
                status = answer["status"]
                attempts[part["id"]] = attempts.get(part["id"], 0) + 1
                if status in RETRYABLE or status == 0:
                    uncertain[part["id"]] = time.monotonic()
                if part["id"] in uncertain:
                    answer = {**answer, "uncertain": uncertain[part["id"]]}
                if status == 429 or status in RETRYABLE or status == 0:
                    if answer.get("part"):  # envelope failures were counted once, as a request
                        self.stats.add(**({"throttled": 1} if status == 429 else {"server_errors": 1}))
                    if attempts[part["id"]] < self.policy.max_attempts and not (
                            part["id"] in send_once and part["id"] in uncertain):
                        retry.append(part)
                        wait = retry_after(answer.get("headers") or {})
                        waits.append(wait if wait is not None else self._backoff(attempts[part["id"]]))
                        continue
                self._refused(part["method"], part["url"], status, answer.get("body"))
                results[part["id"]] = answer
            if results:
                yield results
            self._slow_down(used)
            if retry:
                self.stats.add(retries=len(retry))
                self._wait(max(waits), f"{len(retry)} of {len(chunk)} batched requests throttled or failed")
                again.extendleft(reversed(retry))

    def _send_batch(self, chunk: list[dict]) -> tuple[dict[str, dict], float]:
        """One $batch request: each part's answer, and the share of a throttling limit Graph said is used."""
        self.stats.add(batch_parts=len(chunk))
        body = {"requests": [{**p, "headers": {"Content-Type": "application/json"}} if "body" in p else p
                             for p in chunk]}
        try:
            response = self._send("POST", "$batch", json=body)
        except (requests.ConnectionError, requests.Timeout) as exc:
            self.stats.add(connection_errors=1)
            self._not_answered(type(exc).__name__)
            failure = {"status": 0, "headers": {}, "body": {"error": {"code": "ConnectionError",
                                                                      "message": type(exc).__name__}}}
            return {p["id"]: failure for p in chunk}, 0.0
        payload = _json(response)
        status = response.status_code
        if status not in RETRYABLE:
            self._answered()
        if status == 429 or status in RETRYABLE:  # the whole $batch: each part's fate is unknown
            self.stats.add(**({"throttled": 1} if status == 429 else {"server_errors": 1}))
            if status in RETRYABLE:
                self._not_answered(f"{status} on $batch")
            failure = {"status": status, "headers": dict(response.headers), "body": payload}
            return {p["id"]: failure for p in chunk}, 0.0
        if status != 200:
            code, message = error_of(payload)
            raise CloudError(f"Microsoft Graph refused a $batch: {status} {code}: {message}")
        answers = {a["id"]: {**a, "part": True} for a in payload.get("responses", [])}
        used = max([limit_used(response.headers)] + [limit_used(a.get("headers")) for a in answers.values()
                                                     if a.get("status") != 429])
        missing = {"status": 0, "headers": {}, "body": {"error": {"code": "MissingResponse",
                                                                  "message": "No answer in the $batch."}}}
        return {p["id"]: answers.get(p["id"], missing) for p in chunk}, used


READY = object()  # a step of GraphClient._settled: the next $batch waits only for the caller to ask
_END = object()


def _waits_ahead(steps: Iterator[object]) -> Iterator[dict[str, dict]]:
    """The answers of `steps` (GraphClient._settled), its waits made in a worker thread while the caller
    handles the answers before: at each READY the worker goes on only once the caller has asked for more
    answers than it was given. What the worker raises is raised here, after the answers yielded before
    it. A caller that stops early stops the worker: a $batch on its way is finished (never abandoned half
    sent) and nothing more is sent."""
    handoff: queue.SimpleQueue = queue.SimpleQueue()  # (answers, None) or (_END, the exception or None)
    asked = threading.Semaphore(0)  # one release each time the caller asks for answers
    stop = threading.Event()

    def work() -> None:
        handed = True  # answers were handed over since the last send (or nothing was sent yet)
        try:
            for step in steps:
                if step is not READY:
                    handoff.put((step, None))
                    handed = True
                elif handed:  # a send that settled nothing needs no new asking: the caller still waits
                    asked.acquire()
                    if stop.is_set():
                        return
                    handed = False
            handoff.put((_END, None))
        except BaseException as exc:  # a cancel, an outage, a refusal: the caller's to raise
            handoff.put((_END, exc))
        finally:
            getattr(steps, "close", lambda: None)()

    worker = threading.Thread(target=work, name="dirsync-graph-batches", daemon=True)
    worker.start()
    try:
        while True:
            asked.release()
            item, error = handoff.get()
            if item is _END:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        asked.release()
        worker.join()


def _json(response: requests.Response):
    try:
        return response.json()
    except ValueError:
        return {}
