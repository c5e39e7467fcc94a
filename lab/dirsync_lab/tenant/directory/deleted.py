"""Deleted items: users and security groups wait there for the retention period (30 days, a tenant setting),
to be restored or purged."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from .base import Request, Response
from .query import QueryOptions


class DeletedItems(QueryOptions):
    def list_deleted(self, req: Request, kind: str) -> Response:
        """https://learn.microsoft.com/graph/api/directory-deleteditems-list : the query parameters of the
        resource named by the cast, $filter included"""
        return self._list(req, kind, f"directory/deletedItems/microsoft.graph.{kind}", state="deleted")

    def get_deleted(self, req: Request, oid: str) -> Response:
        """https://learn.microsoft.com/graph/api/directory-deleteditems-get"""
        row = self._row(oid, states=("deleted",))
        return self._ok(200, {"@odata.context": f"{self.meta}#directoryObjects/$entity",
                              **self._shape(row, self._select(req), typed=True)})

    def restore_deleted(self, req: Request, oid: str) -> Response:
        """https://learn.microsoft.com/graph/api/directory-deleteditems-restore"""
        row = self._row(oid, states=("deleted",))
        data = json.loads(row["data"])
        if row["kind"] == "user":
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

    def purge_expired(self) -> None:
        """https://learn.microsoft.com/graph/api/resources/directory : purged once the retention period is over"""
        retention = self.store.settings()["deleted_item_retention_seconds"]
        cutoff = (datetime.now(timezone.utc) - timedelta(seconds=retention)).strftime("%Y-%m-%dT%H:%M:%SZ")
        for row in self.db.execute("SELECT * FROM objects WHERE state='deleted' AND "
                                   "json_extract(data, '$.deletedDateTime') <= ?", (cutoff,)).fetchall():
            self._purge(row)
