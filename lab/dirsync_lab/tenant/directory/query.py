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
                   USER_DEFAULT, USER_READONLY, USER_WRITABLE, DirectoryBase, Request, Response)

MAX_TOP = 999
QUERY_SAFE = "$,()'"  # keep nextLinks readable, as Graph does


def page_token(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def read_page_token(text: str) -> dict:
    try:
        return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except ValueError:
        raise bad_request("The specified page token value has expired and can no longer be included in "
                          "your request.", code="Directory_ExpiredPageToken") from None


class QueryOptions(DirectoryBase):
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

    def _page(self, req: Request, base_sql: str, params: list, context: str, *, typed: bool = False) -> Response:
        """Keyset paging over objects' rid; @odata.nextLink keeps the query and adds a $skiptoken."""
        top = self._top(req, self.store.settings()["page_size"])
        after = read_page_token(req.query["$skiptoken"])["rid"] if "$skiptoken" in req.query else 0
        select = self._select(req)
        rows = self.db.execute(f"{base_sql} AND o.rid > ? ORDER BY o.rid LIMIT ?",
                               [*params, after, top + 1]).fetchall()
        body: dict[str, object] = {"@odata.context": context}
        if req.query.get("$count", "").lower() == "true":
            if req.headers.get("consistencylevel", "").lower() != "eventual":
                # https://learn.microsoft.com/graph/aad-advanced-queries : $count needs ConsistencyLevel
                raise bad_request("$count is not currently supported.", code="Request_BadRequest")
            body["@odata.count"] = self.db.execute(base_sql.replace("o.*", "COUNT(*)", 1),
                                                   params).fetchone()[0]
        if len(rows) > top:
            rows = rows[:top]
            query = {k: v for k, v in req.query.items() if k != "$skiptoken"}
            query["$skiptoken"] = page_token({"rid": rows[-1]["rid"]})
            body["@odata.nextLink"] = (f"{self.base}/v1.0/{req.path}?"
                                       f"{urlencode(query, safe=QUERY_SAFE, quote_via=quote)}")
        body["value"] = [self._shape(r, select, typed=typed) for r in rows]
        return self._ok(200, body)

    def _list(self, req: Request, kind: str, entity_set: str, state: str = "active") -> Response:
        sql, params = f"SELECT o.* FROM objects o WHERE o.kind='{kind}' AND o.state='{state}'", []
        if "$filter" in req.query:
            where, params = FilterTranslator(self._column(kind), advanced=self._advanced(req)).translate(
                req.query["$filter"])
            sql += f" AND {where}"
        if "$orderby" in req.query and not self._advanced(req):
            raise bad_request("Sorting not supported for current query.", code="Request_UnsupportedQuery")
        return self._page(req, sql, params, self._context(entity_set, self._select(req)))
