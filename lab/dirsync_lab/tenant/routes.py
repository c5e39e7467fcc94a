"""What the local tenant does with a request once the HTTP layer has parsed and authenticated it: Graph
requests go through forced faults and the write quota to the directory's handlers, $batch runs its parts
the same way; the admin API's actions change apps, users who sign in, domains, settings and faults at runtime."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable
from urllib.parse import parse_qsl, urlsplit

from . import permissions
from .directory import Directory, Request
from .odata import GraphError, bad_request
from .people import SignInError
from .store import Store
from .throttle import Faults, Limit, Quota

if TYPE_CHECKING:
    from .server import TenantService

WRITES = {"POST", "PATCH", "PUT", "DELETE"}
MAX_BATCH = 20  # https://learn.microsoft.com/graph/json-batching


# https://learn.microsoft.com/graph/throttling-limits#identity-and-access-service-limits : base request costs
# (any other request costs 1)
READ_COSTS = [(re.compile(r"(users|applications)"), 2),
              (re.compile(r"applications(/[^/]+|\(appId='[^']+'\))/extensionProperties"), 2),
              (re.compile(r"groups/[^/]+/members"), 3), (re.compile(r"groups/[^/]+/transitiveMembers"), 5)]


def request_cost(req: Request) -> float:
    """Resource units: the base cost, $select -1, $expand +1, $top under 20 -1, never below 1."""
    path = req.path.rstrip("/")
    base = next((cost for pattern, cost in READ_COSTS if pattern.fullmatch(path)), 1) if req.method == "GET" else 1
    top = req.query.get("$top", "")
    return float(max(1, base - ("$select" in req.query) + ("$expand" in req.query)
                     - (top.isdigit() and int(top) < 20)))


def graph_error_body(err: GraphError, request_id: str, client_request_id: str | None) -> dict:
    inner = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"), "request-id": request_id,
             "client-request-id": client_request_id or request_id}
    body = {"code": err.code, "message": err.message, "innerError": inner}
    if err.details:
        body["details"] = err.details
    return {"error": body}


def throttled(retry_after: float, scope: str, reason: str) -> GraphError:
    # https://learn.microsoft.com/graph/throttling#sample-response and throttling-limits (headers)
    return GraphError(429, "TooManyRequests", "Please retry again later.", headers={
        "Retry-After": f"{retry_after:.3f}".rstrip("0").rstrip(".") if retry_after < 10 else str(int(retry_after)),
        "x-ms-throttle-scope": scope, "x-ms-throttle-information": reason})


class GraphRoutes:
    """Graph requests after authentication; TenantService brings the state these methods use."""

    store: Store
    directory: Directory
    faults: Faults
    quota: Quota
    count: Callable[..., None]

    def quota_limits(self, req: Request) -> list[Limit]:
        """The documented limits this request counts against (throttle.py)."""
        settings, tid, app = self.store.settings(), self.store.tenant_id, req.caller.get("appid", "")
        units, unit_seconds = settings["resource_units_app_tenant"] or (self.tenant_resource_units(), 10.0)
        limits = [Limit(f"units/{app}", f"Tenant_Application/ReadWrite/{app}/{tid}", "ResourceUnitLimitExceeded",
                        float(units), float(unit_seconds), request_cost(req))]
        if req.method in WRITES:
            limit, seconds = settings["write_quota_app_tenant"]
            tenant_limit, tenant_seconds = settings["write_quota_tenant"]
            limits += [Limit(f"writes/{app}", f"Tenant_Application/Write/{app}/{tid}", "WriteLimitExceeded",
                             float(limit), float(seconds)),
                       Limit("writes/tenant", f"Tenant/Write/{app}/{tid}", "WriteLimitExceeded",
                             float(tenant_limit), float(tenant_seconds),
                             background=float(settings["other_apps_write_rate"]))]
        return limits

    def tenant_resource_units(self) -> int:
        """Resource units per 10 s per app+tenant by tenant size: under 50 users, up to 500, more."""
        with self.store.lock:
            users = self.store.db.execute("SELECT COUNT(*) FROM objects WHERE kind='user' AND state='active'"
                                          ).fetchone()[0]
        return 3500 if users < 50 else 5000 if users <= 500 else 8000

    def forced_throttle(self, req: Request) -> GraphError:
        """A 429 the fault settings ask for, worded as Graph's resource-unit throttling."""
        self.count("forced_429")
        return throttled(self.faults.retry_after_now(),
                         f"Tenant_Application/ReadWrite/{req.caller.get('appid')}/{self.store.tenant_id}",
                         "ResourceUnitLimitExceeded")

    def run_graph(self, req: Request, *, part: bool = False) -> tuple[int, dict, object, str | None]:
        """One Graph request (top level or a $batch part) after authentication: forced faults, the write
        quota, the handler. Returns (status, headers, body, late fault) where a late fault ("5xx"/"reset")
        strikes after the handler committed."""
        if self.faults.refuse_path and self.faults.refuse_path in req.path:
            raise self.refusal()
        fault = self.faults.roll(can_reset=not part)
        late = None
        if fault:
            kind, after = fault
            if kind == "429":
                raise self.forced_throttle(req)
            if not after:
                self.count("faults_" + kind)
                if kind == "5xx":
                    raise self.server_error()
                return 0, {}, None, "reset"
            late = kind
        with self.store.lock:
            permissions.check(self.store.db, req.method, req.path, req.caller or {},
                              served=self.directory.serves(req.method, req.path), body=req.body)
        limits = self.quota_limits(req)
        refused, retry, usage = self.quota.take(limits)
        if refused is not None:
            self.count("quota_429")
            raise throttled(retry, refused.scope, refused.reason)
        if req.method in WRITES:
            self.count("writes")
        # https://learn.microsoft.com/graph/throttling-limits#regular-responses-requests
        headers = {"x-ms-resource-unit": str(int(limits[0].cost))}
        if usage > 0.8:
            headers["x-ms-throttle-limit-percentage"] = f"{usage:.2f}"
        status, more, body = self.directory.handle(req)
        if late:
            self.count("faults_" + late + "_after_commit")
            self.count_lost_creates([(req.method, req.path, status)])
        return status, {**headers, **more}, body, late

    def refusal(self) -> GraphError:
        """A refusal the fault settings ask for (e.g. extensionProperties of an app the caller does not own)."""
        status = self.faults.refuse_status
        code, message = {
            # https://learn.microsoft.com/graph/resolve-auth-errors
            403: ("Authorization_RequestDenied", "Insufficient privileges to complete the operation."),
            404: ("Request_ResourceNotFound", "Resource does not exist or one of its queried reference-property "
                                              "objects are not present."),
            400: ("Request_UnsupportedQuery", "Unsupported query (injected refusal)."),
        }[status]
        return GraphError(status, code, message)

    def count_lost_creates(self, writes: list[tuple[str, str, int]]) -> None:
        """Counts users and groups created whose answer a fault then lost (tests check recovery by it)."""
        lost = sum(1 for method, path, status in writes
                   if method == "POST" and path.strip("/").removeprefix("v1.0/") in ("users", "groups")
                   and status == 201)
        if lost:
            self.count("lost_create_answers", lost)

    def server_error(self) -> GraphError:
        status = self.faults.status()
        codes = {500: "InternalServerError", 502: "BadGateway", 503: "ServiceUnavailable", 504: "GatewayTimeout"}
        headers = {"Retry-After": str(self.faults.retry_after)} if status == 503 else {}
        return GraphError(status, codes[status], "The service is temporarily unavailable (injected fault).",
                          headers=headers)

    def run_batch(self, outer: Request) -> dict:
        """https://learn.microsoft.com/graph/json-batching"""
        payload = outer.json()
        parts = payload.get("requests")
        if not isinstance(parts, list) or not parts:
            raise bad_request("Invalid batch payload format.", code="BadRequest")
        if len(parts) > MAX_BATCH:
            raise bad_request(f"Limit of {MAX_BATCH} requests per batch exceeded ({len(parts)} requests).",
                              code="BadRequest")
        seen: dict[str, dict] = {}
        for part in parts:
            if not isinstance(part, dict) or not all(isinstance(part.get(k), str) and part.get(k)
                                                     for k in ("id", "method", "url")):
                raise bad_request("Invalid batch payload format: each request needs id, method and url.",
                                  code="BadRequest")
            key = part["id"].lower()  # ids are not case-sensitive
            if key in seen:
                raise bad_request(f"Request Id {part['id']} has to be unique in a batch.", code="BadRequest")
            for dep in part.get("dependsOn") or []:
                if str(dep).lower() not in seen:
                    raise bad_request(f"Request {part['id']} depends on request {dep}, which is not earlier "
                                      "in the batch.", code="BadRequest")
            headers = {k.lower(): v for k, v in (part.get("headers") or {}).items()}
            if "body" in part and "content-type" not in headers:
                raise bad_request(f"Content-Type header is required for request {part['id']}, which has a body.",
                                  code="BadRequest")
            seen[key] = part
        statuses: dict[str, int] = {}
        responses = []
        for part in parts:
            status, headers, body = self._run_part(outer, part, statuses)
            statuses[part["id"].lower()] = status
            item = {"id": part["id"], "status": status, "headers": headers}
            if body is not None:
                item["body"] = body
            responses.append(item)
        return {"responses": responses}

    def _run_part(self, outer: Request, part: dict, statuses: dict[str, int]) -> tuple[int, dict, object]:
        self.count("batch_parts")
        request_id = str(uuid.uuid4())
        failed = [d for d in part.get("dependsOn") or [] if not 200 <= statuses.get(str(d).lower(), 0) < 300]
        if failed:
            err = GraphError(424, "FailedDependency", f"The request depends on request {failed[0]}, which failed.")
            return 424, {"Content-Type": "application/json"}, graph_error_body(err, request_id, None)
        url = urlsplit(part["url"])
        path = url.path.lstrip("/")
        if path.startswith("v1.0/"):
            path = path[len("v1.0/"):]
        headers = {k.lower(): str(v) for k, v in (part.get("headers") or {}).items()}
        body = part.get("body")
        raw = json.dumps(body).encode() if isinstance(body, (dict, list)) else (body or "").encode()
        req = Request(part["method"].upper(), path, dict(parse_qsl(url.query, keep_blank_values=True)),
                      headers, raw, outer.caller)
        try:
            status, out_headers, out_body, late = self.run_graph(req, part=True)
            if late:  # a part cannot lose its connection; it fails after the write instead
                raise self.server_error()
        except GraphError as err:
            status, out_headers, out_body = err.status, {"Content-Type": "application/json", **err.headers}, \
                graph_error_body(err, request_id, None)
        if status == 429:
            self.count("throttled_parts")
        return status, {"Cache-Control": "no-cache", **out_headers}, out_body


def admin_action(service: TenantService, method: str, action: str, data: dict) -> dict | None:
    """One admin API call (/_admin/ACTION, already authorized); None when there is no such action."""
    store = service.store
    if (method, action) == ("POST", "apps"):
        app, secret = store.register_app(data.get("displayName", "DirSync"), with_secret=bool(data.get("secret")),
                                         cert_pem=data.get("certificatePem"),
                                         public_client=bool(data.get("publicClient")),
                                         permissions=data.get("permissions") or [])
        return {"appId": app["app_id"], "objectId": app["object_id"], "secret": secret,
                "permissions": store.app_roles(app["app_id"])}
    if (method, action) == ("POST", "domains"):
        store.add_domain(data["name"], bool(data.get("isDefault")))
        return {"domains": [d["name"] for d in store.domains()]}
    if action == "faults":
        if method == "PUT":
            service.faults = Faults.from_dict(data)
            service.directory.replicate_now()
        return service.faults.to_dict()
    if action == "settings":
        return store.update_settings(data) if method == "PUT" else store.settings()
    # --- users who sign in (people.py) and their sign-ins (identity.py) ---
    if (method, action) == ("POST", "users"):
        return service.people.add_user(data["userPrincipalName"], data["password"], data.get("displayName"),
                                       data.get("roles") or [])
    if (method, action) == ("POST", "devicecode/approve"):
        try:
            return {"approved": service.identity.approve_device_code(
                data["userCode"], data["userPrincipalName"], data["password"])}
        except SignInError as err:
            raise ValueError(str(err)) from None
    if (method, action) == ("POST", "devicecode/decline"):
        return {"declined": service.identity.decline_device_code(data["userCode"])}
    if (method, action) == ("GET", "devicecodes"):
        return {"value": service.identity.pending_device_codes()}
    if (method, action) == ("GET", "issued-user-tokens"):
        return service.identity.issued_user_tokens()
    if (method, action) == ("POST", "roles"):  # directory/roles.py
        with store.lock:
            return service.directory.assign_role(data["userId"], data["role"])
    if (method, action) == ("POST", "synced"):
        with store.lock:
            return service.directory.mark_synced(data["userId"], bool(data.get("enabled", True)))
    if (method, action) == ("POST", "tokens/revoke"):
        return {"revoked": service.identity.revoke_all()}
    if (method, action) == ("GET", "stats"):
        with service._counters_lock:
            return {**service.counters, "tokens_issued": service.identity.issued_count}
    if (method, action) == ("POST", "reset"):
        with service._counters_lock:
            service.counters.clear()
        service.quota.reset()
        service.faults = Faults()
        service.directory.replicate_now()
        return {}
    return None
