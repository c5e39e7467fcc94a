"""The connector space: the `objects` and `links` tables, and every statement on them.

A mixin of StateStore (it needs `db`): the engine calls these through the StateRepository port, inside
the transactions it opens, so each method is one step and commits nothing on its own.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from typing import Collection, Iterable

from ..engine.ports import Health, ObjectError, PendingWork, StagedLink, StagedObject
from ..clock import now

# objects.last_result beside the cloud's outcomes: what staging found, and a failed export.
INVALID, SKIPPED, ERROR, ADOPTED = "invalid", "skipped", "error", "adopted"

_STAGED = ("kind", "dn", "in_scope", "skip_reason", "pending", "pending_delete", "tombstoned", "last_result",
           "last_error", "last_fix", "source_upn", "expires")
# SQLite's limit is 999 parameters per statement.
_CHUNK = 900


def _staged(row: sqlite3.Row) -> StagedObject:
    return StagedObject(
        anchor=row["anchor"], kind=row["kind"], dn=row["dn"], in_scope=bool(row["in_scope"]),
        skip_reason=row["skip_reason"], cloud_id=row["cloud_id"], create_intent=row["create_intent"],
        exported=json.loads(row["exported"]), pending=json.loads(row["pending"]) if row["pending"] else None,
        pending_delete=bool(row["pending_delete"]), tombstoned=bool(row["tombstoned"]),
        last_result=row["last_result"], last_error=row["last_error"], last_fix=row["last_fix"],
        source_upn=row["source_upn"], expires=row["expires"], written_at=row["written_at"],
        written_run=row["written_run"])


def _json(value: dict | None) -> str | None:
    return None if value is None else json.dumps(value)


class ObjectTables:
    db: sqlite3.Connection

    # --- staging an import -------------------------------------------------------------------------

    def staged(self, anchor: str) -> StagedObject | None:
        row = self.db.execute("SELECT * FROM objects WHERE anchor=?", (anchor,)).fetchone()
        return _staged(row) if row else None

    def stage(self, obj: StagedObject) -> None:
        values = asdict(obj)
        values = {**{k: values[k] for k in _STAGED}, "pending": _json(obj.pending),
                  "in_scope": int(obj.in_scope), "pending_delete": int(obj.pending_delete),
                  "tombstoned": int(obj.tombstoned), "updated_at": now()}
        names = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        updates = ", ".join(f"{n}=excluded.{n}" for n in values)
        self.db.execute(f"INSERT INTO objects(anchor, {names}) VALUES (?, {marks}) "
                        f"ON CONFLICT(anchor) DO UPDATE SET {updates}", (obj.anchor, *values.values()))

    def mark_deleted(self, anchor: str) -> None:
        self.db.execute("UPDATE objects SET pending_delete=1, tombstoned=1, in_scope=0, pending=NULL, "
                        "updated_at=? WHERE anchor=?", (now(), anchor))

    def remove(self, anchor: str) -> None:
        self.db.execute("DELETE FROM objects WHERE anchor=?", (anchor,))

    def expired(self, at: str) -> list[str]:
        """Users whose account expired by `at` since they were last staged (objects_expires: a partial index)."""
        return [r[0] for r in self.db.execute(
            "SELECT anchor FROM objects WHERE expires IS NOT NULL AND expires<=? AND tombstoned=0", (at,))]

    def find(self, identity: str) -> list[StagedObject]:
        """The objects the state knows by this DN, anchor or Active Directory UPN (case-insensitive)."""
        return [_staged(r) for r in self.db.execute(
            "SELECT * FROM objects WHERE anchor=? OR dn=? COLLATE NOCASE OR source_upn=? COLLATE NOCASE",
            (identity, identity, identity))]

    def known_anchors(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT anchor FROM objects WHERE tombstoned=0")]

    def links(self, src: str, rel: str) -> dict[str, tuple[bool, bool]]:
        return {dst: (bool(w), bool(e)) for dst, w, e in self.db.execute(
            "SELECT dst, wanted, exported FROM links WHERE src=? AND rel=?", (src, rel))}

    def links_of(self, anchor: str) -> list[StagedLink]:
        rows = self.db.execute(
            "SELECT l.src, l.rel, l.dst, l.wanted, l.exported, s.kind, s.dn, d.dn FROM links l "
            "JOIN objects s ON s.anchor=l.src JOIN objects d ON d.anchor=l.dst WHERE l.src=? OR l.dst=? "
            "ORDER BY s.dn, d.dn", (anchor, anchor)).fetchall()
        return [StagedLink(src, rel, dst, bool(wanted), bool(exported), kind, dn, ref_dn)
                for src, rel, dst, wanted, exported, kind, dn, ref_dn in rows]

    def by_cloud_id(self, cloud_ids: Iterable[str]) -> dict[str, StagedObject]:
        found, wanted = {}, list(cloud_ids)
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start:start + _CHUNK]
            found.update((r["cloud_id"], _staged(r)) for r in self.db.execute(
                f"SELECT * FROM objects WHERE cloud_id IN ({','.join('?' * len(chunk))})", chunk))
        return found

    def want_link(self, src: str, rel: str, dst: str) -> None:
        self.db.execute("INSERT INTO links(src, rel, dst, wanted, exported) VALUES (?,?,?,1,0) "
                        "ON CONFLICT(src, rel, dst) DO UPDATE SET wanted=1", (src, rel, dst))

    def unwant_link(self, src: str, rel: str, dst: str) -> None:
        self.db.execute("UPDATE links SET wanted=0 WHERE src=? AND rel=? AND dst=?", (src, rel, dst))

    def drop_link(self, src: str, rel: str, dst: str) -> None:
        self.db.execute("DELETE FROM links WHERE src=? AND rel=? AND dst=?", (src, rel, dst))

    # --- planning ----------------------------------------------------------------------------------

    def pending_work(self, only: Collection[str] | None = None) -> PendingWork:
        """The rows with work, through partial indexes (schema migration 6): a run with nothing to do reads
        none of the others, however many the state holds."""
        db = self.db
        if only is None:
            chosen, params, linked = "1", [], "1"
        else:
            anchors = list(only)[:_CHUNK // 3]  # a call names a few objects, never near SQLite's limit
            marks = ",".join("?" * len(anchors))
            chosen, params = f"anchor IN ({marks})", anchors
            linked = f"(l.src IN ({marks}) OR (l.rel='member' AND l.dst IN ({marks})))"
        # Named, as SQLite's planner otherwise walks every object in scope by objects_work.
        pending = "objects INDEXED BY objects_pending" if only is None else "objects"
        work = db.execute(f"SELECT * FROM {pending} WHERE pending IS NOT NULL AND in_scope=1 AND skip_reason IS NULL "
                          f"AND pending_delete=0 AND {chosen}", params).fetchall()
        doomed = db.execute(f"SELECT * FROM objects WHERE pending_delete=1 AND {chosen}", params).fetchall()
        invalid = db.execute(f"SELECT * FROM objects WHERE last_result='{INVALID}' AND in_scope=1 AND {chosen}",
                             params).fetchall()
        # The links to change; and a user's manager is decided from all its manager links, so those of each
        # user with one to change (chosen users: all of theirs).
        columns = "SELECT l.src, l.rel, l.dst, l.wanted, l.exported, s.kind, s.dn, d.dn FROM "
        ends = " JOIN objects s ON s.anchor=l.src JOIN objects d ON d.anchor=l.dst"
        unsettled = "links l INDEXED BY links_unsettled" if only is None else "links l"
        managers = ("l.src IN (SELECT src FROM links WHERE rel='manager' AND wanted<>exported)" if only is None
                    else f"l.src IN ({marks})")
        links = db.execute(
            f"{columns}{unsettled}{ends} WHERE l.wanted<>l.exported AND {linked} UNION "
            f"{columns}links l{ends} WHERE l.rel='manager' AND {managers} ORDER BY 1, 2, 3",
            params * (3 if only is not None else 0)).fetchall()
        named = list({*params, *(r[0] for r in links), *(r[2] for r in links)})
        live: set[str] = set()
        for start in range(0, len(named), _CHUNK):
            chunk = named[start:start + _CHUNK]
            live.update(r[0] for r in db.execute(
                f"SELECT anchor FROM objects WHERE cloud_id IS NOT NULL AND pending_delete=0 AND anchor IN "
                f"({','.join('?' * len(chunk))})", chunk))
        return PendingWork(
            work=[_staged(r) for r in work], doomed=[_staged(r) for r in doomed],
            invalid=[_staged(r) for r in invalid], live=frozenset(live),
            links=[StagedLink(src, rel, dst, bool(wanted), bool(exported), kind, dn, ref_dn)
                   for src, rel, dst, wanted, exported, kind, dn, ref_dn in links],
            synchronized=self._tally("synchronized"))

    def cloud_ids(self, anchors: Iterable[str]) -> dict[str, str]:
        # In chunks: one query per anchor was 100,000 at 100k objects.
        ids, wanted = {}, list(anchors)
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start:start + _CHUNK]
            ids.update(self.db.execute(
                f"SELECT anchor, cloud_id FROM objects WHERE cloud_id IS NOT NULL AND anchor IN "
                f"({','.join('?' * len(chunk))})", chunk).fetchall())
        return ids

    # --- export results ----------------------------------------------------------------------------

    def forget(self, anchors: Iterable[str]) -> None:
        for anchor in anchors:
            self.db.execute("DELETE FROM objects WHERE anchor=? AND tombstoned=1", (anchor,))
            self.db.execute("UPDATE objects SET pending_delete=0, create_intent=NULL WHERE anchor=?", (anchor,))

    def settle(self, anchors: Iterable[str]) -> None:
        self.db.executemany("UPDATE objects SET pending=NULL WHERE anchor=?", [(a,) for a in anchors])

    def record_create_intent(self, anchors: Iterable[str]) -> None:
        moment = now()
        self.db.executemany("UPDATE objects SET create_intent=? WHERE anchor=?", [(moment, a) for a in anchors])

    def record_adoption(self, anchor: str, cloud_id: str) -> None:
        self.db.execute(f"UPDATE objects SET cloud_id=?, exported='{{}}', last_result='{ADOPTED}', "
                        "create_intent=NULL WHERE anchor=?", (cloud_id, anchor))

    def record_properties(self, anchor: str, *, cloud_id: str | None, exported: dict, digest: str,
                          pending: dict | None) -> None:
        """What the cloud has now (a hash per property, `digest` of them all), and what is still pending."""
        self.db.execute("UPDATE objects SET cloud_id=COALESCE(?, cloud_id), exported=?, hash=?, pending=?, "
                        "create_intent=NULL WHERE anchor=?",
                        (cloud_id, json.dumps(exported, sort_keys=True), digest, _json(pending), anchor))

    def record_delete(self, anchor: str) -> None:
        self._links_gone(anchor)
        self.db.execute("DELETE FROM links WHERE src=? AND (SELECT tombstoned FROM objects WHERE anchor=?)=1",
                        (anchor, anchor))
        self.db.execute("DELETE FROM objects WHERE anchor=? AND tombstoned=1", (anchor,))
        self.db.execute("UPDATE objects SET cloud_id=NULL, exported='{}', hash=NULL, pending=NULL, pending_delete=0, "
                        "create_intent=NULL WHERE anchor=?", (anchor,))

    def record_member(self, group: str, member: str, *, added: bool) -> None:
        if added:
            self.db.execute("UPDATE links SET exported=1 WHERE src=? AND rel='member' AND dst=?", (group, member))
        else:
            self.db.execute("DELETE FROM links WHERE src=? AND rel='member' AND dst=?", (group, member))

    def record_manager(self, user: str, manager: str | None) -> None:
        # A user has one manager: setting one replaces the last; removing drops them all.
        self.db.execute("DELETE FROM links WHERE src=? AND rel='manager' AND wanted=0", (user,))
        self.db.execute("UPDATE links SET exported=(dst IS ?) WHERE src=? AND rel='manager'", (manager, user))

    def record_lost_in_cloud(self, anchor: str) -> None:
        self.db.execute("UPDATE objects SET cloud_id=NULL, exported='{}', hash=NULL WHERE anchor=?", (anchor,))
        self._links_gone(anchor)

    def record_create_refused(self, anchor: str) -> None:
        """The create was refused, so nothing was created: no object to hard-match next time."""
        self.db.execute("UPDATE objects SET create_intent=NULL WHERE anchor=?", (anchor,))

    def record_outcome(self, anchor: str, outcome: str, run_id: int | None = None) -> None:
        moment = now()
        self.db.execute("UPDATE objects SET last_result=?, last_error=NULL, last_fix=NULL, updated_at=?, "
                        "written_at=?, written_run=? WHERE anchor=?", (outcome, moment, moment, run_id, anchor))

    def record_error(self, anchor: str, reason: str, fix: str) -> None:
        self.db.execute(f"UPDATE objects SET last_result='{ERROR}', last_error=?, last_fix=?, updated_at=? "
                        "WHERE anchor=?", (reason, fix, now(), anchor))

    def _links_gone(self, anchor: str) -> None:
        """The cloud object is gone and its links with it; those still wanted are planned again."""
        for column in ("src", "dst"):
            self.db.execute(f"DELETE FROM links WHERE {column}=? AND wanted=0", (anchor,))
            self.db.execute(f"UPDATE links SET exported=0 WHERE {column}=?", (anchor,))

    # --- verification ------------------------------------------------------------------------------

    def in_scope(self) -> int:
        """The objects in scope of the rules, the skipped ones (contacts, distribution groups) left out."""
        return self._tally("in_scope")

    def _tally(self, name: str) -> int:
        """A count the triggers of schema migration 6 keep as rows change: read in O(1)."""
        return self.db.execute("SELECT value FROM tallies WHERE name=?", (name,)).fetchone()[0]

    def health(self) -> Health:
        db = self.db
        in_scope = self.in_scope()
        in_cloud = db.execute("SELECT count(*) FROM objects WHERE cloud_id IS NOT NULL").fetchone()[0]
        skipped = db.execute("SELECT count(*) FROM objects WHERE in_scope=1 AND skip_reason IS NOT NULL").fetchone()[0]
        errors = [ObjectError(anchor=r["anchor"], dn=r["dn"], kind=r["kind"], reason=r["last_error"],
                              fix=r["last_fix"])
                  for r in db.execute(f"SELECT * FROM objects WHERE last_result IN ('{ERROR}', '{INVALID}') "
                                      "AND in_scope=1 ORDER BY dn")]
        return Health(in_scope, in_cloud, skipped, errors)
