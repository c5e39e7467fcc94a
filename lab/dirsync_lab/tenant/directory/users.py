"""Users, their manager reference and the users delta query."""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import quote, urlencode

from ..odata import GraphError, bad_request
from .base import Request, Response, now_iso
from .query import QUERY_SAFE, QueryOptions, page_token, read_page_token
from .roles import DirectoryRoles

DELTA_PAGE = 200


def _proxy_addresses(mail: str | None) -> list[str]:
    """https://learn.microsoft.com/graph/api/resources/user (mail): changing mail updates proxyAddresses with
    the value as the SMTP address. The tenant keeps just that primary address (older ones are not kept)."""
    return [f"SMTP:{mail}"] if mail else []


class Users(QueryOptions, DirectoryRoles):
    def list_users(self, req: Request) -> Response:
        """https://learn.microsoft.com/graph/api/user-list"""
        return self._list(req, "user", "users")

    def count_users(self, req: Request) -> Response:
        """https://learn.microsoft.com/graph/api/user-list (GET /users/$count, text/plain); $filter counts only
        what it keeps (https://learn.microsoft.com/graph/aad-advanced-queries: /users/$count?$filter=...)."""
        if req.headers.get("consistencylevel", "").lower() != "eventual":
            raise bad_request("Count is not currently supported.", code="Request_BadRequest")
        sql, params = self._filtered(req, "user", advanced=True)
        n = self.db.execute(sql.replace("o.*", "COUNT(*)", 1), params).fetchone()[0]
        return 200, {"Content-Type": "text/plain;charset=utf-8"}, str(n)

    def get_user(self, req: Request, oid: str) -> Response:
        """https://learn.microsoft.com/graph/api/user-get"""
        select = self._select(req)
        return self._ok(200, {"@odata.context": self._context("users", select, entity=True),
                              **self._shape(self._readable(self._row(oid, "user")), select)})

    def create_user(self, req: Request) -> Response:
        """https://learn.microsoft.com/graph/api/user-post-users"""
        body = self._validate(req.json(), "user", creating=True)
        self._check_password(body["passwordProfile"])
        oid = str(uuid.uuid4())
        # The password is checked, then dropped: Graph never returns it and the tenant never stores it.
        data = {k: v for k, v in body.items() if k != "passwordProfile"}
        data.update(id=oid, createdDateTime=now_iso(), deletedDateTime=None, onPremisesSyncEnabled=None,
                    proxyAddresses=_proxy_addresses(data.get("mail")),
                    businessPhones=data.get("businessPhones") or [], passwordProfile=None)
        self._check_user(data, None)
        self._write(oid, "user", data, insert=True)
        self._replicating(oid)
        return self._ok(201, {"@odata.context": self._context("users", None, entity=True),
                              **self._shape(self._row(oid, "user"), None)},
                        Location=f"{self.base}/v1.0/users/{oid}")

    def update_user(self, req: Request, oid: str) -> Response:
        """https://learn.microsoft.com/graph/api/user-update"""
        row = self._row(oid, "user")
        body = self._validate(req.json(), "user", creating=False)
        self._guard_user_write(req, row, set(body))
        if "passwordProfile" in body:
            self._check_password(body["passwordProfile"] or {})
        data = json.loads(row["data"])
        data.update({k: v for k, v in body.items() if k != "passwordProfile"})
        if "mail" in body:
            data["proxyAddresses"] = _proxy_addresses(body["mail"])
        self._check_user(data, row["id"])
        self._write(row["id"], "user", data)
        return 204, {}, None

    def delete_user(self, req: Request, oid: str) -> Response:
        """https://learn.microsoft.com/graph/api/user-delete : into deletedItems for 30 days"""
        row = self._row(oid, "user")
        self._guard_user_write(req, row, None)
        data = json.loads(row["data"])
        data["deletedDateTime"] = now_iso()
        self._write(row["id"], "user", data, state="deleted")
        return 204, {}, None

    def users_delta(self, req: Request) -> Response:
        """https://learn.microsoft.com/graph/api/user-delta : pages, then a deltaLink; @removed for deletions"""
        select = self._select(req)
        if "$deltatoken" in req.query:
            state = {"from": read_page_token(req.query["$deltatoken"])["seq"], "initial": False}
        elif "$skiptoken" in req.query:
            state = read_page_token(req.query["$skiptoken"])
        else:
            state = {"from": 0, "initial": True}
        state.setdefault("to", self.store._seq)
        state.setdefault("after", state["from"])
        states = "('active')" if state["initial"] else "('active','deleted','purged')"
        rows = self.db.execute(f"SELECT * FROM objects WHERE kind='user' AND state IN {states} AND seq > ? "
                               "AND seq <= ? ORDER BY seq LIMIT ?",
                               (state["after"], state["to"], DELTA_PAGE + 1)).fetchall()
        value = []
        for row in rows[:DELTA_PAGE]:
            if row["state"] == "active":
                value.append({**self._shape(row, select), "id": row["id"]})
            else:  # "changed": restorable from deletedItems; "deleted": gone for good
                reason = "changed" if row["state"] == "deleted" else "deleted"
                value.append({"id": row["id"], "@removed": {"reason": reason}})
        query = {k: v for k, v in req.query.items() if k not in ("$skiptoken", "$deltatoken")}
        link = f"{self.base}/v1.0/users/delta?"
        body = {"@odata.context": self._context("users", select), "value": value}
        if len(rows) > DELTA_PAGE:
            token = {**state, "after": rows[DELTA_PAGE - 1]["seq"]}
            body["@odata.nextLink"] = link + urlencode({**query, "$skiptoken": page_token(token)},
                                                       safe=QUERY_SAFE, quote_via=quote)
        else:
            body["@odata.deltaLink"] = link + urlencode({**query, "$deltatoken": page_token({"seq": state["to"]})},
                                                        safe=QUERY_SAFE, quote_via=quote)
        return self._ok(200, body)

    def get_manager(self, req: Request, oid: str) -> Response:
        """https://learn.microsoft.com/graph/api/user-list-manager"""
        user = self._row(oid, "user")
        ref = self.db.execute("SELECT o.* FROM managers m JOIN objects o ON o.id=m.manager_id "
                              "WHERE m.user_id=? AND o.state='active'", (user["id"],)).fetchone()
        if ref is None:
            raise GraphError(404, "Request_ResourceNotFound", "Resource 'manager' does not exist or one of its "
                             "queried reference-property objects are not present.")
        return self._ok(200, {"@odata.context": f"{self.meta}#directoryObjects/$entity",
                              **self._shape(ref, self._select(req), typed=True)})

    def set_manager(self, req: Request, oid: str) -> Response:
        """https://learn.microsoft.com/graph/api/user-post-manager"""
        user = self._row(oid, "user")
        manager = self._row(self._ref_id(req.json()), "user")
        self._referable(user, manager)
        if manager["id"] == user["id"]:
            raise bad_request("Invalid value specified for property 'manager' of resource 'User'.")
        self.db.execute("INSERT OR REPLACE INTO managers VALUES (?, ?)", (user["id"], manager["id"]))
        self._write(user["id"], "user", json.loads(user["data"]))
        return 204, {}, None

    def remove_manager(self, req: Request, oid: str) -> Response:
        """https://learn.microsoft.com/graph/api/user-delete-manager"""
        user = self._row(oid, "user")
        if self.db.execute("DELETE FROM managers WHERE user_id=?", (user["id"],)).rowcount == 0:
            raise GraphError(404, "Request_ResourceNotFound", "Resource 'manager' does not exist or one of its "
                             "queried reference-property objects are not present.")
        self._write(user["id"], "user", json.loads(user["data"]))
        return 204, {}, None

    @staticmethod
    def _check_password(profile: dict) -> None:
        # https://learn.microsoft.com/entra/identity/authentication/concept-sspr-policy#password-policies-that-only-apply-to-cloud-user-accounts
        password = profile.get("password") or ""
        classes = sum(bool(re.search(p, password)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]"))
        if not 8 <= len(password) <= 256 or classes < 3:
            raise bad_request("The specified password does not comply with password complexity requirements. "
                              "Please provide a different password.")
