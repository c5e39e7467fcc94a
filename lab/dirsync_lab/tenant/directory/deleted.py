"""Deleted items: users wait there for 30 days, to be restored or purged."""

from __future__ import annotations

import json

from .base import Request, Response
from .query import QueryOptions


class DeletedItems(QueryOptions):
    def list_deleted(self, req: Request, kind: str) -> Response:
        """https://learn.microsoft.com/graph/api/directory-deleteditems-list"""
        sql = f"SELECT o.* FROM objects o WHERE o.kind='{kind}' AND o.state='deleted'"
        return self._page(req, sql, [], f"{self.meta}#directory/deletedItems/microsoft.graph.{kind}")

    def get_deleted(self, req: Request, oid: str) -> Response:
        """https://learn.microsoft.com/graph/api/directory-deleteditems-get"""
        row = self._row(oid, states=("deleted",))
        return self._ok(200, {"@odata.context": f"{self.meta}#directoryObjects/$entity",
                              **self._shape(row, self._select(req), typed=True)})

    def restore_deleted(self, req: Request, oid: str) -> Response:
        """https://learn.microsoft.com/graph/api/directory-deleteditems-restore"""
        row = self._row(oid, states=("deleted",))
        data = json.loads(row["data"])
        self._check_user(data, row["id"])  # a new user may have taken the UPN meanwhile
        data["deletedDateTime"] = None
        self._write(row["id"], row["kind"], data)
        return self._ok(200, {"@odata.context": f"{self.meta}#directoryObjects/$entity",
                              "@odata.type": f"#microsoft.graph.{row['kind']}",
                              **self._shape(self._row(row["id"]), None)})

    def purge_deleted(self, req: Request, oid: str) -> Response:
        """https://learn.microsoft.com/graph/api/directory-deleteditems-delete"""
        self._purge(self._row(oid, states=("deleted",)))
        return 204, {}, None
