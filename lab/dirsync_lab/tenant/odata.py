"""OData pieces of the local tenant: the error type every handler raises, and the `$filter` subset Graph
supports on directory objects, translated to SQL.

Supported (https://learn.microsoft.com/graph/filter-query-parameter): `eq`, `in`, `startsWith`, `and`,
`or`, parentheses; `ne` and `endsWith` only as advanced queries (ConsistencyLevel: eventual and $count=true,
https://learn.microsoft.com/graph/aad-advanced-queries), else 400 Request_UnsupportedQuery as Graph does.
String comparisons are case-insensitive, as in the directory.
"""

from __future__ import annotations

import re
from typing import Callable


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str, *, details: list | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details = details or []
        self.headers = headers or {}


def bad_request(message: str, code: str = "Request_BadRequest", **kw) -> GraphError:
    return GraphError(400, code, message, **kw)


_TOKEN = re.compile(r"""\s*(?:(?P<str>'(?:[^']|'')*')|(?P<punct>[(),])|(?P<word>[A-Za-z0-9_.@/+:-]+))""")


def take_type_annotation(body: dict, entity_type: str) -> dict:
    """Removes the @odata.type annotation that Microsoft's SDKs put in every body they send, as Graph's own
    examples do (https://learn.microsoft.com/graph/api/intune-mam-user-create); only the entity's own type is
    assignable (the v1.0 types the tenant serves have no derived types it creates)."""
    annotated = body.pop("@odata.type", f"#microsoft.graph.{entity_type}")
    if annotated != f"#microsoft.graph.{entity_type}":
        raise bad_request(f"A resource with type '{str(annotated).lstrip('#')}' was found, but it is not "
                          f"assignable to the expected type 'microsoft.graph.{entity_type}'. The type specified "
                          "in the resource must be equal to either the expected type or a derived type.",
                          code="BadRequest")
    return body


def _tokens(text: str) -> list[tuple[str, str]]:
    pos, out = 0, []
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos or m.lastgroup is None:
            raise bad_request(f"Invalid filter clause: syntax error at position {pos} in '{text}'.",
                              code="BadRequest")
        kind = m.lastgroup
        value = m.group(kind)
        out.append((kind, value[1:-1].replace("''", "'") if kind == "str" else value))
        pos = m.end()
    return out


class FilterTranslator:
    """Turns a $filter into (SQL, params). `column(name)` gives the SQL expression of a property, already
    lower-cased for strings, or raises GraphError when the property is unknown or not filterable."""

    def __init__(self, column: Callable[[str], str], *, advanced: bool):
        self.column = column
        self.advanced = advanced

    def translate(self, text: str) -> tuple[str, list]:
        self._toks = _tokens(text)
        self._i = 0
        self._params: list = []
        sql = self._or()
        if self._i != len(self._toks):
            raise bad_request(f"Invalid filter clause: unexpected '{self._toks[self._i][1]}'.", code="BadRequest")
        return sql, self._params

    def _peek(self, word: str | None = None) -> bool:
        if self._i >= len(self._toks):
            return False
        return word is None or self._toks[self._i][1].lower() == word.lower()

    def _take(self, expected: str | None = None) -> tuple[str, str]:
        if self._i >= len(self._toks) or (expected and self._toks[self._i][1].lower() != expected.lower()):
            raise bad_request(f"Invalid filter clause: expected '{expected or 'more'}'.", code="BadRequest")
        self._i += 1
        return self._toks[self._i - 1]

    def _or(self) -> str:
        parts = [self._and()]
        while self._peek("or"):
            self._take()
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def _and(self) -> str:
        parts = [self._term()]
        while self._peek("and"):
            self._take()
            parts.append(self._term())
        return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"

    def _literal(self):
        kind, value = self._take()
        if kind == "str":
            return value.lower()
        low = value.lower()
        if low in ("true", "false"):
            return 1 if low == "true" else 0
        if low == "null":
            return None
        if re.fullmatch(r"-?\d+", value):
            return int(value)
        raise bad_request(f"Invalid filter clause: '{value}' is not a literal.", code="BadRequest")

    def _need_advanced(self, what: str) -> None:
        if not self.advanced:
            raise bad_request(f"Operator '{what}' is not supported because the required parameters might "
                              "be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual "
                              "header. Refer to https://aka.ms/graph-docs/advanced-queries for more information",
                              code="Request_UnsupportedQuery")

    def _term(self) -> str:
        if self._peek("("):
            self._take()
            inner = self._or()
            self._take(")")
            return inner
        _, name = self._take()
        if self._peek("("):  # a function: startsWith(prop,'x') / endsWith(prop,'x')
            func = name.lower()
            if func not in ("startswith", "endswith"):
                raise bad_request(f"Unsupported function '{name}' in filter.", code="Request_UnsupportedQuery")
            if func == "endswith":
                self._need_advanced("endsWith")
            self._take("(")
            _, prop = self._take()
            col = self.column(prop)
            self._take(",")
            value = self._literal()
            self._take(")")
            escaped = str(value).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            self._params.append(escaped + "%" if func == "startswith" else "%" + escaped)
            return f"{col} LIKE ? ESCAPE '\\'"
        col = self.column(name)
        _, op = self._take()
        op = op.lower()
        if op == "in":
            if name.startswith("extension_"):
                # Extensions are "Filterable" with `eq` (https://learn.microsoft.com/graph/extensibility-overview);
                # `in` on them is undocumented: the stricter reading refuses it.
                raise bad_request(f"Unsupported or invalid query filter clause specified for property '{name}'.",
                                  code="Request_UnsupportedQuery")
            self._take("(")
            values = [self._literal()]
            while self._peek(","):
                self._take()
                values.append(self._literal())
            self._take(")")
            if len(values) > 15:  # https://learn.microsoft.com/graph/filter-query-parameter#operators
                raise bad_request("Too many child clauses specified in search filter expression containing "
                                  "'OR' operators: 16. Max allowed: 15.", code="Request_UnsupportedQuery")
            self._params.extend(values)
            return f"{col} IN ({','.join('?' * len(values))})"
        if op not in ("eq", "ne"):
            raise bad_request(f"Unsupported or invalid query filter clause specified for property '{name}' "
                              f"of resource 'User'.", code="Request_UnsupportedQuery")
        if op == "ne":
            self._need_advanced("ne")
        value = self._literal()
        if value is None:
            return f"{col} IS {'NOT ' if op == 'ne' else ''}NULL"
        self._params.append(value)
        return f"{col} {'=' if op == 'eq' else '<>'} ?"
