"""Graph's query options over the directory: $select, $top and paging ($skiptoken), $filter, $count and
advanced queries (ConsistencyLevel: eventual), and the shape of what a list or get returns."""

from __future__ import annotations

import base64
import json
import sqlite3
from urllib.parse import quote, urlencode

from ..odata import FilterTranslator, bad_request
from ..store import ext_column
from .base import (BOOLEAN_PROPS, COLLECTION_PROPS, GROUP_READONLY, GROUP_WRITABLE, INDEXED, OBJECT_PROPS,
                   USER_DEFAULT, USER_READONLY, USER_WRITABLE, Request, Response)
from .replication import Replication

MAX_TOP = 999
QUERY_SAFE = "$,()'"  # keep nextLinks readable, as Graph does
DEFAULT_ORDER_BY = {"user": {"displayName", "userPrincipalName"}, "group": {"displayName"}}


def page_token(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def read_page_token(text: str) -> dict:
    try:
        return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except ValueError:
        raise bad_request("The specified page token value has expired and can no longer be included in "
                          "your request.", code="Directory_ExpiredPageToken") from None


class QueryOptions(Replication):
    def _select(self, req: Request) -> list[str] | None:
        raw = req.query.get("$select")
        return [s.strip() for s in raw.split(",") if s.strip()] if raw else None

    def _shape(self, row: sqlite3.Row, select: list[str] | None, *, typed: bool = False) -> dict:
        data = json.loads(row["data"])
        if select:
            out = {name: data.get(name) for name in select}
        elif row["kind"] == "user":
            out = {name: data.get(name) for name in USER_DEFAULT}
        else:  # groups: every stored property except directory extensions (returned only on $select)
            out = {k: v for k, v in data.items() if not k.startswith("extension_")}
        if row["state"] == "deleted":
            out["deletedDateTime"] = data.get("deletedDateTime")
        if typed:
            out = {"@odata.type": f"#microsoft.graph.{row['kind']}", **out}
        return out

    def _context(self, entity_set: str, select: list[str] | None, entity: bool = False) -> str:
        sel = f"({','.join(select)})" if select else ""
        return f"{self.meta}#{entity_set}{sel}{'/$entity' if entity else ''}"

    def _top(self, req: Request, default: int) -> int:
        raw = req.query.get("$top")
        if raw is None:
            return default
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_TOP:
            # https://learn.microsoft.com/graph/paging : $top accepts 1..999 for users
            raise bad_request(f"Invalid page size specified: '{raw}'. Must be between 1 and {MAX_TOP} inclusive.",
                              code="Request_UnsupportedQuery")
        return int(raw)

    def _advanced(self, req: Request) -> bool:
        return (req.headers.get("consistencylevel", "").lower() == "eventual"
                and req.query.get("$count", "").lower() == "true")

    def _column(self, kind: str):
        extensions = self._extensions("User" if kind == "user" else "Group")
        known = (USER_WRITABLE | USER_READONLY) if kind == "user" else (GROUP_WRITABLE | GROUP_READONLY)

        def column(name: str) -> str:
            if name in INDEXED:
                return INDEXED[name]
            if name in extensions:
                return ext_column(name)
            if name in BOOLEAN_PROPS and name in known:
                return f"json_extract(data, '$.{name}')"
            if name in known and name not in COLLECTION_PROPS | OBJECT_PROPS:
                return f"lower(json_extract(data, '$.\"{name}\"'))"
            raise bad_request(f"Could not find a property named '{name}' on type 'microsoft.graph.{kind}'.",
                              code="BadRequest")
        return column

    def _page(self, req: Request, base_sql: str, params: list, context: str, *, typed: bool = False,
              order_by: str = "") -> Response:
        """Keyset paging over objects' rid; @odata.nextLink keeps the query and adds a $skiptoken."""
        top = self._top(req, self.store.settings()["page_size"])
        token = read_page_token(req.query["$skiptoken"]) if "$skiptoken" in req.query else {}
        select = self._select(req)
        if order_by:  # sorted pages: the token holds the offset
            offset = int(token.get("offset", 0))
            rows = self.db.execute(f"{base_sql} ORDER BY {order_by}, o.rid LIMIT ? OFFSET ?",
                                   [*params, top + 1, offset]).fetchall()
        else:  # keyset paging over rid
            rows = self.db.execute(f"{base_sql} AND o.rid > ? ORDER BY o.rid LIMIT ?",
                                   [*params, token.get("rid", 0), top + 1]).fetchall()
        body: dict[str, object] = {"@odata.context": context}
        # https://learn.microsoft.com/graph/aad-advanced-queries : without ConsistencyLevel, $count=true
        # is silently ignored
        if (req.query.get("$count", "").lower() == "true"
                and req.headers.get("consistencylevel", "").lower() == "eventual"):
            body["@odata.count"] = self.db.execute(base_sql.replace("o.*", "COUNT(*)", 1),
                                                   params).fetchone()[0]
        if len(rows) > top:
            rows = rows[:top]
            query = {k: v for k, v in req.query.items() if k != "$skiptoken"}
            query["$skiptoken"] = page_token({"offset": int(token.get("offset", 0)) + top} if order_by
                                             else {"rid": rows[-1]["rid"]})
            body["@odata.nextLink"] = (f"{self.base}/v1.0/{req.path}?"
                                       f"{urlencode(query, safe=QUERY_SAFE, quote_via=quote)}")
        body["value"] = [self._shape(r, select, typed=typed) for r in rows]
        return self._ok(200, body)

    def _filtered(self, req: Request, kind: str, *, advanced: bool, state: str = "active") -> tuple[str, list]:
        """The objects of a kind (active, or deleted) that $filter keeps: SQL selecting o.*, and its parameters."""
        # With a $filter, `+` keeps SQLite from the (kind, state, rid) index, which avoids sorting the page but
        # scans every object of the kind: the filter's own index (an anchor `in (...)`) is a look-up.
        plus = "+" if "$filter" in req.query else ""
        sql, params = f"SELECT o.* FROM objects o WHERE {plus}o.kind='{kind}' AND {plus}o.state='{state}'", []
        unseen = self._unseen_ids()
        if unseen:  # not yet replicated: lists leave them out
            sql, params = f"{sql} AND o.id NOT IN ({','.join('?' * len(unseen))})", unseen
        if "$filter" in req.query:
            where, where_params = FilterTranslator(self._column(kind), advanced=advanced).translate(
                req.query["$filter"])
            sql, params = f"{sql} AND {where}", [*params, *where_params]
        return sql, params

    def _list(self, req: Request, kind: str, entity_set: str, state: str = "active") -> Response:
        sql, params = self._filtered(req, kind, advanced=self._advanced(req), state=state)
        order_by = self._order_by(req, kind) if "$orderby" in req.query else ""
        return self._page(req, sql, params, self._context(entity_set, self._select(req)), order_by=order_by)

    def _order_by(self, req: Request, kind: str) -> str:
        """https://learn.microsoft.com/graph/aad-advanced-queries : $orderby on displayName and
        userPrincipalName (users) or displayName (groups) is a default query; any other property needs an
        advanced query, and is refused with $filter or $search unless it is one."""
        default = DEFAULT_ORDER_BY[kind]
        terms = []
        for term in req.query["$orderby"].split(","):
            name, _, direction = term.strip().partition(" ")
            direction = direction.strip().lower() or "asc"
            if direction not in ("asc", "desc") or not name:
                raise bad_request(f"Invalid $orderby clause '{term.strip()}'.", code="BadRequest")
            if (name not in default or "$filter" in req.query) and not self._advanced(req):
                raise bad_request("Sorting not supported for current query.", code="Request_UnsupportedQuery")
            terms.append(f"{self._column(kind)(name)} {direction}")
        return ", ".join(terms)
