"""Staging: one import written into the state, before anything is planned.

Staging records, per imported object, whether it is in scope, the properties it should have in the cloud
when they differ from what was last written (`pending`), whether its cloud object must go
(`pending_delete`), and its links (members, manager) by anchor as Active Directory has them, so that
a link to an object that enters the scope later is written then. The planner then reads the difference
between that and what the cloud was last told, so work left over by a run that failed or died is
planned again by the next one.
"""

from __future__ import annotations

from collections import Counter

from ..clock import stamp
from .mapping import Mapper, value_hash
from .ports import ImportItem, SkippedObject, SourceObject, StagedObject, StateRepository, Tombstone
from .scope import Scope

# objects' last_result set by staging: an object in scope that is not written, or cannot be as it is.
SKIPPED, INVALID = "skipped", "invalid"


class Stager:
    """Writes one import into the state (inside the caller's transaction)."""

    def __init__(self, state: StateRepository, scope: Scope, mapper: Mapper):
        self.state = state
        self.scope = scope
        self.mapper = mapper
        self.counts: Counter = Counter()
        self.skipped: list[SkippedObject] = []
        self.seen: set[str] = set()

    def add(self, item: ImportItem) -> None:
        if isinstance(item, Tombstone):
            self.counts["deletedInSource"] += 1
            self._gone(item.anchor)
            return
        self.seen.add(item.anchor)
        self.counts["imported"] += 1
        row = self.state.staged(item.anchor)
        if self.scope.why_out(item):
            self._out_of_scope(item, row)
            return
        projection = self.mapper.project(item)
        if projection.skip_reason:
            self.skipped.append(SkippedObject(item.anchor, item.dn, item.kind, projection.skip_reason))
            self._stage(item, in_scope=True, skip_reason=projection.skip_reason, last_result=SKIPPED)
            return
        if projection.error:
            reason, fix = projection.error
            self._stage(item, in_scope=True, last_result=INVALID, last_error=reason, last_fix=fix)
            return
        exported = row.exported if row else {}
        has_cloud = bool(row and row.cloud_id)
        changed = any(value_hash(v) != exported.get(k) for k, v in projection.properties.items())
        pending = projection.properties if changed or not has_cloud else None
        if projection.expired and has_cloud and exported.get("accountEnabled") != value_hash(False):
            self.counts["expired"] += 1  # disabled by this run because its accountExpires has passed
        # The result of the last export stays; a verdict of an earlier staging does not.
        last = row if row and row.last_result and row.last_result not in (INVALID, SKIPPED) else None
        self._stage(item, in_scope=True, pending=pending, last_result=last and last.last_result,
                    last_error=last and last.last_error, last_fix=last and last.last_fix,
                    source_upn=projection.source_upn,
                    expires=stamp(projection.expires) if projection.expires and not projection.expired else None)
        if item.kind == "group":
            self._set_links(item.anchor, "member", set(projection.members or ()))
        else:
            self._set_links(item.anchor, "manager", {projection.manager} if projection.manager else set())

    def finish_full_import(self) -> None:
        """After a full import: what was not seen is gone from Active Directory (or from its scope)."""
        for anchor in self.state.known_anchors():
            if anchor not in self.seen:
                self.counts["deletedInSource"] += 1
                self._gone(anchor)

    # --- helpers -----------------------------------------------------------------------------------

    def _stage(self, obj: SourceObject, **values) -> None:
        self.state.stage(StagedObject(obj.anchor, obj.kind, obj.dn, **values))

    def _out_of_scope(self, obj: SourceObject, row: StagedObject | None) -> None:
        in_cloud = bool(row and (row.cloud_id or row.create_intent))
        self._stage(obj, pending_delete=in_cloud, last_result=row and row.last_result,
                    last_error=row and row.last_error, last_fix=row and row.last_fix)
        self._drop_own_links(obj.anchor)

    def _gone(self, anchor: str) -> None:
        row = self.state.staged(anchor)
        if row is None:
            return
        self._drop_own_links(anchor)
        if row.cloud_id or row.create_intent:
            self.state.mark_deleted(anchor)
        else:
            self.state.remove(anchor)

    def _drop_own_links(self, anchor: str) -> None:
        for rel in ("member", "manager"):
            self._set_links(anchor, rel, set())

    def _set_links(self, src: str, rel: str, wanted: set[str]) -> None:
        """Links not wanted any more stay (wanted=0) until the cloud has dropped them too."""
        current = self.state.links(src, rel)
        for dst in wanted:
            if not current.get(dst, (False, False))[0]:
                self.state.want_link(src, rel, dst)
        for dst, (was_wanted, exported) in current.items():
            if dst in wanted:
                continue
            if exported:
                if was_wanted:
                    self.state.unwant_link(src, rel, dst)
            else:
                self.state.drop_link(src, rel, dst)
