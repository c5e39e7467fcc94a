"""Replication delay: an object just created is, for a random time, not yet seen by the replica that
answers the next request (https://learn.microsoft.com/graph/api/group-post-members , note on replication
delays; https://learn.microsoft.com/entra/identity-platform/howto-handle-eventual-consistency). Reads of it
answer 404 Request_ResourceNotFound, lists leave it out, and references to it or from it answer 400
"The source resource object or one of the objects being referenced do not exist." The create's own answer
holds the object, as Graph's does. Off unless the tenant's faults set replication_delay_ms."""

from __future__ import annotations

import sqlite3
import time
from typing import Callable

from ..odata import GraphError, bad_request
from .base import DirectoryBase

REPLICATION_MESSAGE = "The source resource object or one of the objects being referenced do not exist."


class Replication(DirectoryBase):
    lag: Callable[[], float]      # seconds a new object stays unseen (0: at once); set by the service
    _unseen: dict[str, float]     # object id -> monotonic time from which it is seen

    def _replicating(self, oid: str) -> None:
        lag = self.lag()
        if lag > 0:
            self._unseen[oid] = time.monotonic() + lag

    def replicate_now(self) -> None:
        """Every object is seen from now on (new fault settings end the delay of earlier creates)."""
        self._unseen.clear()

    def _unseen_ids(self) -> list[str]:
        now = time.monotonic()
        for oid in [o for o, at in self._unseen.items() if at <= now]:
            del self._unseen[oid]
        return list(self._unseen)

    def _readable(self, row: sqlite3.Row) -> sqlite3.Row:
        if row["id"] in self._unseen_ids():
            raise GraphError(404, "Request_ResourceNotFound",
                             f"Resource '{row['id']}' does not exist or one of its queried reference-property "
                             "objects are not present.")
        return row

    def _referable(self, *rows: sqlite3.Row) -> None:
        unseen = self._unseen_ids()
        if any(r["id"] in unseen for r in rows):
            raise bad_request(REPLICATION_MESSAGE)
