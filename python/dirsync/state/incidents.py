"""The incidents the technical contact has been told of (notify/), and the notices a run keeps.

A mixin of StateStore (it needs `db` and `atomic`).
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import AbstractContextManager
from typing import Callable

from ..notify.incidents import Incident
from ..vocabulary import IncidentKind


class IncidentTable:
    db: sqlite3.Connection
    atomic: Callable[[], AbstractContextManager[sqlite3.Connection]]

    def incidents(self) -> dict[IncidentKind, Incident]:
        return {IncidentKind(r["kind"]): Incident(kind=IncidentKind(r["kind"]), opened_at=r["opened_at"],
                                                  opened_run=r["opened_run"], notified=bool(r["notified"]),
                                                  anchors=tuple(json.loads(r["anchors"])))
                for r in self.db.execute("SELECT * FROM incidents")}

    def save_incident(self, incident: Incident) -> None:
        with self.atomic():
            self.db.execute("INSERT OR REPLACE INTO incidents(kind, opened_at, opened_run, notified, anchors) "
                            "VALUES (?,?,?,?,?)",
                            (incident.kind, incident.opened_at, incident.opened_run, int(incident.notified),
                             json.dumps(list(incident.anchors))))

    def clear_incident(self, kind: IncidentKind) -> None:
        with self.atomic():
            self.db.execute("DELETE FROM incidents WHERE kind=?", (kind,))

    def add_notices(self, run_id: int, notices: list[str]) -> None:
        """What the run's reporting could not do (a message not sent, a system log not written)."""
        with self.atomic():
            row = self.db.execute("SELECT notices FROM runs WHERE id=?", (run_id,)).fetchone()
            self.db.execute("UPDATE runs SET notices=? WHERE id=?",
                            (json.dumps(json.loads(row["notices"]) + notices), run_id))
