"""GraphTarget: the engine's Target (engine/ports.py) on Microsoft Graph.

Users are known by onPremisesImmutableId (the sourceAnchor). Groups have no such property in Graph, so
their anchor lives in a directory extension property registered on DirSync's own app,
extension_{appIdWithoutHyphens}_dirSyncAnchor (https://learn.microsoft.com/graph/extensibility-overview),
created on first use. With Application.ReadWrite.OwnedBy the app must own its own registration to read or
register it; when that (or the lookup) is refused, GroupAnchorError says why and how to fix it, and the run
syncs the users without the groups (docs/administrator-guide.md).

The active server's marker (engine/guard.py: two active servers against one tenant are refused) is a
second directory extension of DirSync's app, extension_{appId}_dirSyncActiveServer, whose targetObjects is
Application: its value, on DirSync's own application object, is set by the application's update (PATCH
/applications(appId='…'), Application.ReadWrite.OwnedBy on the app it owns) and read with $select
(https://learn.microsoft.com/graph/api/resources/extensionproperty: "use the same REST request that you use to
manage the resource instance"; String, 256 characters at most).

A create whose answer was lost (a reset connection, a 5xx after the write) may have been done. A user
create is sent again: onPremisesImmutableId and userPrincipalName are unique, so a second attempt meets
ObjectConflict and the writer finds the first by its anchor. Nothing is unique for a security group
(https://learn.microsoft.com/graph/api/resources/group: mailNickname only for Microsoft 365 groups), so a
group create is looked up by its anchor before it is sent again. Either way the result is "created" and
counted as recovered: never a duplicate, never a false conflict.

Graph's replication delay (https://learn.microsoft.com/graph/api/group-post-members) means the first
attempt, though done, may stay unseen by that lookup for a while. A lookup that finds nothing is therefore
repeated with backoff until the replication window (RetryPolicy.replication_window) has passed since the
failure; only then is the object taken as not created and sent again. For the same reason a reference
(members, manager) to or from an object created in this run that answers 400 "... do not exist" or 404 is
sent again with backoff within that window; a 404 for any other object is a real answer, reported as such.

Members are added MEMBERS_PER_WRITE to a write: in `members@odata.bind` of PATCH /groups/{id}
(https://learn.microsoft.com/graph/api/group-update, "Add multiple members to a group in a single request"),
and of the POST /groups that creates a group (https://learn.microsoft.com/graph/api/group-post-groups).
Graph takes or refuses such a request as a whole, so a refused one says nothing of each membership: its
members are then added one by one (POST .../members/$ref), each getting its own answer ("already exist" is
done, a replication delay is sent again), and a group create refused for a member is sent again without
its members, which then wait for their own writes. Removals stay one write each: Graph has no multi-remove.
"""

from __future__ import annotations

import json
import secrets
import string
import time
from dataclasses import replace
from itertools import chain
from typing import Iterable, Iterator
from urllib.parse import quote

from ..engine.ports import MEMBERS_PER_WRITE, ActiveServer, CloudKind, CloudObject, CloudOp, CloudResult
from ..errors import ActiveServerUnknownError, CloudError, GroupAnchorError
from ..events import Events
from ..vocabulary import CloudAction, Outcome
from .graph import DOCUMENTED_WRITE_QUOTA, GraphClient, RetryPolicy, error_of

ANCHOR_EXTENSION = "dirSyncAnchor"
OWNER_FIX = ("Make DirSync's app an owner of its own app registration (Entra admin center > App registrations > "
             "DirSync > Owners: add the DirSync enterprise application; or POST /applications/{id}/owners/$ref "
             "with its service principal), or grant it Application.ReadWrite.All")
ANCHOR_FIX = OWNER_FIX + "; the next run syncs the groups."
ACTIVE_EXTENSION = "dirSyncActiveServer"
ACTIVE_FIX = OWNER_FIX + "; until then a second active DirSync server against this tenant is not detected."
EXTENSION_MAX = 256  # characters of a String directory extension value
FILTER_IN_LIMIT = 15  # values in one `in (...)` (https://learn.microsoft.com/graph/filter-query-parameter)
COLLECTION = {"user": "users", "group": "groups"}
REFERENCES = (CloudAction.add_member, CloudAction.set_manager)
# https://learn.microsoft.com/graph/api/group-post-members (replication delays of recently created groups)
REPLICATION_MESSAGE = "do not exist"


def random_password(length: int = 24) -> str:
    """A strong initial password (all four character classes); it is sent once and kept nowhere."""
    classes = [string.ascii_lowercase, string.ascii_uppercase, string.digits, "!#$%&()*+,-./:;<=>?@[]^_{|}~"]
    chars = [secrets.choice(c) for c in classes]
    chars += [secrets.choice("".join(classes)) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def marker_text(server: ActiveServer) -> str:
    """The marker's value: compact JSON within the 256 characters of a String extension (the host name is
    shortened to fit, never the id or the time)."""
    def text(host: str) -> str:
        return json.dumps({"serverId": server.server_id, "host": host, "lastRun": server.last_run},
                          separators=(",", ":"))
    over = len(text(server.host)) - EXTENSION_MAX
    return text(server.host[:len(server.host) - over] if over > 0 else server.host)


def parse_marker(value) -> ActiveServer | None:
    """The marker read back; a value DirSync did not write names an unknown server (never taken as none)."""
    if value in (None, ""):
        return None
    try:
        data = json.loads(value)
        return ActiveServer(str(data["serverId"]), str(data["host"]), str(data["lastRun"]))
    except (ValueError, TypeError, KeyError):
        return ActiveServer("unknown", f"unknown (the marker holds {str(value)[:40]!r})", "unknown")


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class GraphTarget:
    """Target on Microsoft Graph. `credential` is the client secret or the certificate's private key
    (PEM), per settings.credential_type; `write_quota` is (writes, seconds) for the app+tenant pair."""

    def __init__(self, settings, credential: str, *, policy: RetryPolicy | None = None,
                 write_quota: tuple[int, float] = DOCUMENTED_WRITE_QUOTA, events: Events | None = None):
        self.graph = GraphClient(settings, credential, policy=policy, write_quota=write_quota, events=events)
        self.client_id = settings.client_id
        self.write_quota = write_quota
        self._extension_names: dict[str, str] = {}  # DirSync's directory extensions: short name -> full name
        self._created: set[str] = set()  # cloud ids created in this run (replication delay)

    @property
    def stats(self):
        return self.graph.stats

    def close(self) -> None:
        self.graph.close()

    # --- reading -----------------------------------------------------------------------------------------
    def verified_domains(self) -> list[str]:
        org = self.graph.get_json("organization", params={"$select": "verifiedDomains"})
        return [d["name"] for o in org.get("value", []) for d in o.get("verifiedDomains", [])]

    @property
    def group_anchor_property(self) -> str:
        """The extension property holding group anchors; registered on the app if it is not yet."""
        return self._extension(ANCHOR_EXTENSION, "Group", "group anchor property", GroupAnchorError, ANCHOR_FIX)

    def _extension(self, name: str, target: str, what: str, error: type[CloudError], fix: str) -> str:
        """The full name of one of DirSync's directory extensions, registered on its app if it is not yet."""
        if name in self._extension_names:
            return self._extension_names[name]
        app = f"applications(appId='{self.client_id}')/extensionProperties"
        full = self._find_extension(app, name, what, error, fix)
        if full is None:
            response = self.graph.request("POST", app, json={
                "name": name, "dataType": "String", "targetObjects": [target]})
            # 400 ObjectConflict: another DirSync instance registered it meanwhile; read it back.
            full = (response.json()["name"] if response.status_code == 201
                    else self._find_extension(app, name, what, error, fix))
            if full is None:
                code, message = error_of(response.json())
                raise error(f"DirSync could not register its {what} on app {self.client_id}: "
                            f"{response.status_code} {code}: {message}", fix=fix)
        self._extension_names[name] = full
        return full

    def _find_extension(self, url: str, name: str, what: str, error: type[CloudError], fix: str) -> str | None:
        response = self.graph.request("GET", url)
        if response.status_code != 200:
            code, message = error_of(response.json())
            text = f"DirSync cannot read its {what} on app {self.client_id}: {response.status_code} {code}: {message}"
            if response.status_code in (400, 403, 404):  # not the app's owner, no such app, a refused query
                raise error(text, fix=fix)
            raise CloudError(text)
        suffix = "_" + name
        return next((e["name"] for e in response.json().get("value", []) if e["name"].endswith(suffix)), None)

    # --- the active server's marker (engine/guard.py) --------------------------------------------------
    def _marker_property(self) -> str:
        return self._extension(ACTIVE_EXTENSION, "Application", "active-server marker", ActiveServerUnknownError,
                               ACTIVE_FIX)

    def active_server(self) -> ActiveServer | None:
        prop = self._marker_property()
        response = self.graph.request("GET", f"applications(appId='{self.client_id}')",
                                      params={"$select": f"id,{prop}"})
        if response.status_code != 200:
            code, message = error_of(response.json())
            raise ActiveServerUnknownError(f"DirSync cannot read the active-server marker on app {self.client_id}: "
                                           f"{response.status_code} {code}: {message}", fix=ACTIVE_FIX)
        return parse_marker(response.json().get(prop))

    def mark_active(self, server: ActiveServer) -> None:
        prop = self._marker_property()
        response = self.graph.request("PATCH", f"applications(appId='{self.client_id}')",
                                      json={prop: marker_text(server)})
        if response.status_code >= 300:
            code, message = error_of(response.json() if response.content else {})
            raise ActiveServerUnknownError(f"DirSync cannot write the active-server marker on app "
                                           f"{self.client_id}: {response.status_code} {code}: {message}",
                                           fix=ACTIVE_FIX)

    def _anchor_field(self, kind: CloudKind) -> str:
        return "onPremisesImmutableId" if kind == "user" else self.group_anchor_property

    def _object(self, kind: CloudKind, item: dict) -> CloudObject:
        return CloudObject(cloud_id=item["id"], kind=kind, anchor=item.get(self._anchor_field(kind)),
                           user_principal_name=item.get("userPrincipalName"))

    def members(self, group_id: str) -> set[str]:
        """https://learn.microsoft.com/graph/api/group-list-members (GroupMember.Read.All is in Group.ReadWrite.All)."""
        return {item["id"] for item in self.graph.pages(f"groups/{group_id}/members",
                                                        params={"$select": "id", "$top": "999"})}

    def find_by_anchors(self, kind: CloudKind, anchors: Iterable[str],
                        properties: Iterable[str] = ()) -> dict[str, CloudObject]:
        """Live objects and those in deleted items (restorable until purged); a live one wins. Deleted items
        take the query parameters of the resource named by the cast
        (https://learn.microsoft.com/graph/api/directory-deleteditems-list), so the same filter serves both.
        `properties` are read in the same query, so an adoption can write only what differs."""
        wanted = list(dict.fromkeys(anchors))
        if not wanted:
            return {}
        prop = self._anchor_field(kind)
        read = list(dict.fromkeys(properties))
        select = ",".join(dict.fromkeys(["id", prop, *(["userPrincipalName"] if kind == "user" else []), *read]))
        parts = []
        for i in range(0, len(wanted), FILTER_IN_LIMIT):
            values = [_literal(a) for a in wanted[i:i + FILTER_IN_LIMIT]]
            # `in` is documented for onPremisesImmutableId; for a directory extension only `eq` is
            # (https://learn.microsoft.com/graph/extensibility-overview), so groups use `eq ... or eq ...`.
            text = (f"{prop} in ({','.join(values)})" if kind == "user"
                    else " or ".join(f"{prop} eq {v}" for v in values))
            flt = quote(text, safe="(),'")
            for collection in (COLLECTION[kind], f"directory/deletedItems/microsoft.graph.{kind}"):
                parts.append({"id": str(len(parts)), "method": "GET",
                              "url": f"/{collection}?$filter={flt}&$select={select}&$top=999"})
        found: dict[str, CloudObject] = {}
        wanted_set = set(wanted)
        answers = self.graph.batch(parts)
        for part in parts:
            answer = answers[part["id"]]
            deleted = "deletedItems" in part["url"]
            if answer["status"] != 200:
                code, message = error_of(answer.get("body"))
                text = f"Looking up {kind}s by anchor failed: {answer['status']} {code}: {message}"
                if kind == "group" and answer["status"] in (400, 403, 404):
                    raise GroupAnchorError(text, fix=ANCHOR_FIX)
                raise CloudError(text)
            for item in answer["body"].get("value", []):
                # The directory compares case-insensitively; anchors are base64, so compare exactly here.
                anchor = item.get(prop)
                if anchor in wanted_set and not (deleted and anchor in found and not found[anchor].deleted):
                    found[anchor] = replace(self._object(kind, item), deleted=deleted,
                                            properties={p: item.get(p) for p in read} if read else None)
        return found

    def find_user_by_upn(self, user_principal_name: str) -> CloudObject | None:
        items = self.graph.get_json("users", params={
            "$filter": f"userPrincipalName eq {_literal(user_principal_name)}",
            "$select": "id,userPrincipalName,onPremisesImmutableId"}).get("value", [])
        return self._object("user", items[0]) if items else None

    # --- writing -----------------------------------------------------------------------------------------
    def _ref(self, cloud_id: str | None) -> str:
        return f"{self.graph.base}/directoryObjects/{cloud_id}"

    def _part(self, op: CloudOp, part_id: str) -> dict:
        ref = self._ref(op.ref_id)
        collection = COLLECTION[op.kind]
        if op.action == CloudAction.create:
            body = dict(op.properties or {})
            if op.kind == "user":
                body.setdefault("onPremisesImmutableId", op.anchor)
                body["passwordProfile"] = {"forceChangePasswordNextSignIn": True, "password": random_password()}
            else:
                body = {"mailEnabled": False, "securityEnabled": True, **body, self.group_anchor_property: op.anchor}
                if op.members:
                    body["members@odata.bind"] = [self._ref(m) for m in op.members]
            return {"id": part_id, "method": "POST", "url": f"/{collection}", "body": body}
        target = f"/{collection}/{op.cloud_id}"
        parts = {
            CloudAction.restore: ("POST", f"/directory/deletedItems/{op.cloud_id}/restore", None),
            CloudAction.update: ("PATCH", target, dict(op.properties or {})),
            CloudAction.delete: ("DELETE", target, None),
            CloudAction.add_member: ("POST", f"{target}/members/$ref", {"@odata.id": ref}),
            CloudAction.remove_member: ("DELETE", f"{target}/members/{op.ref_id}/$ref", None),
            CloudAction.set_manager: ("PUT", f"{target}/manager/$ref", {"@odata.id": ref}),
            CloudAction.remove_manager: ("DELETE", f"{target}/manager/$ref", None),
        }
        method, url, body = parts[op.action]
        part = {"id": part_id, "method": method, "url": url}
        if body is not None:
            part["body"] = body
        return part

    def apply(self, ops: Iterable[CloudOp]) -> Iterator[CloudResult]:
        """Yields each result as soon as the $batch request that settles it is answered, so that the engine
        commits it and shows progress while the writes go on (and the waits before the next $batch:
        GraphClient.batches). Lazy: the writes are sent as the caller iterates, and a caller that stops (a
        cancel, an outage) stops them. The results that need a second
        look (a group create whose answer was lost, a create that met its own earlier attempt, a reference
        that met the replication delay) come after the rest."""
        ops_by_id = {str(i): op for i, op in enumerate(ops)}
        chunks = self._member_chunks(ops_by_id)
        combined = {i for members in chunks.values() for i in members}
        # Each request is made as it is sent, and only its results are kept once it is answered.
        sent = chain((self._part(op, i) for i, op in ops_by_id.items() if i not in combined),
                     (self._members_part(c, [ops_by_id[i] for i in members]) for c, members in chunks.items()))
        once = frozenset(i for i, op in ops_by_id.items() if op.action == CloudAction.create and op.kind == "group")
        later: dict[str, dict] = {}
        again: list[str] = []  # members of a refused combined write, and group creates refused for a member
        original: dict[str, CloudOp] = {}  # a group create sent again without its members -> the op given

        def given(results: dict[str, CloudResult]) -> Iterator[CloudResult]:
            self._note_created(results)
            for i, result in self._update_restored(results).items():
                yield replace(result, op=original[i]) if i in original else result

        for answers in self.graph.batches(sent, send_once=once):
            yield from given(self._ready(answers, ops_by_id, chunks, once, later, again))
        for i in again:
            if ops_by_id[i].members:
                original[i] = ops_by_id[i]
                ops_by_id[i] = replace(ops_by_id[i], members=())
        for answers in self.graph.batches((self._part(ops_by_id[i], i) for i in again), send_once=once):
            yield from given(self._ready(answers, ops_by_id, {}, once, later, []))
        ops_later = {i: ops_by_id[i] for i in later}
        answers = self._create_groups_once(ops_later, later)
        results = self._settle_conflicts({i: self._result(op, answers[i]) for i, op in ops_later.items()},
                                         answers)
        self._note_created(results)
        yield from given(self._retry_references(ops_later, results))

    def _ready(self, answers: dict[str, dict], ops: dict[str, CloudOp], chunks: dict[str, list[str]],
               once: frozenset[str], later: dict[str, dict], again: list[str]) -> dict[str, CloudResult]:
        """The results that `answers` settle. Those that need a second look go to `later`; the ops of a
        combined write refused as a whole, and the group creates refused for a member, go to `again`."""
        ready: dict[str, CloudResult] = {}
        for i, answer in answers.items():
            if i in chunks:
                if answer["status"] in (400, 404):
                    again.extend(chunks[i])
                else:  # done, or throttled or failed for all alike
                    ready.update({j: self._result(ops[j], answer) for j in chunks[i]})
                continue
            result = self._result(ops[i], answer)
            if ops[i].members and result.outcome in (Outcome.failed, Outcome.not_found) and (
                    result.outcome == Outcome.not_found or REPLICATION_MESSAGE in result.message):
                again.append(i)
            elif ("uncertain" in answer and i in once and not result.ok) or self._second_look(result):
                later[i] = answer
            else:
                ready[i] = result
        return ready

    @staticmethod
    def _member_chunks(ops: dict[str, CloudOp]) -> dict[str, list[str]]:
        """Part id -> the ids of the members it adds to one group, MEMBERS_PER_WRITE at most; a member
        alone keeps its own write."""
        by_group: dict[str | None, list[str]] = {}
        for i, op in ops.items():
            if op.action == CloudAction.add_member:
                by_group.setdefault(op.cloud_id, []).append(i)
        chunks = [members[k:k + MEMBERS_PER_WRITE] for members in by_group.values()
                  for k in range(0, len(members), MEMBERS_PER_WRITE)]
        return {f"members-{n}": chunk for n, chunk in enumerate(c for c in chunks if len(c) > 1)}

    def _members_part(self, part_id: str, ops: list[CloudOp]) -> dict:
        return {"id": part_id, "method": "PATCH", "url": f"/groups/{ops[0].cloud_id}",
                "body": {"members@odata.bind": [self._ref(op.ref_id) for op in ops]}}

    def _note_created(self, results: dict[str, CloudResult]) -> None:
        self._created.update(r.cloud_id for r in results.values() if r.outcome == Outcome.created and r.cloud_id)

    def _second_look(self, r: CloudResult) -> bool:
        return (r.outcome == Outcome.conflict and r.op.action == CloudAction.create) or self._delayed(r)

    def _delayed(self, r: CloudResult) -> bool:
        """A reference that may have met the replication delay of an object created in this run."""
        return (r.op.action in REFERENCES and bool({r.op.cloud_id, r.op.ref_id} & self._created)
                and (r.outcome == Outcome.not_found
                     or (r.outcome == Outcome.failed and REPLICATION_MESSAGE in r.message)))

    def _update_restored(self, results: dict[str, CloudResult]) -> dict[str, CloudResult]:
        """A restored object then gets the properties the plan gave it (the restore itself takes no body)."""
        restored = {i: r for i, r in results.items() if r.op.action == CloudAction.restore
                    and r.outcome == Outcome.restored and r.op.properties}
        if not restored:
            return results
        updates = {i: replace(r.op, action=CloudAction.update) for i, r in restored.items()}
        answers = self.graph.batch([self._part(op, i) for i, op in updates.items()])
        for i, result in restored.items():
            update = self._result(updates[i], answers[i])
            results[i] = result if update.ok else replace(update, op=result.op)
        return results

    def _create_groups_once(self, ops: dict[str, CloudOp], answers: dict[str, dict]) -> dict[str, dict]:
        """The answers, where a group create that may have been done is looked up before it is sent again."""
        once = frozenset(i for i, op in ops.items() if op.action == CloudAction.create and op.kind == "group")
        answers = dict(answers)
        for _ in range(self.graph.policy.max_attempts):
            lost = [i for i in once if "uncertain" in answers[i] and not 200 <= answers[i]["status"] < 300]
            if not lost:
                break
            found = self._find_created("group", {ops[i].anchor for i in lost},
                                       max(answers[i]["uncertain"] for i in lost))
            for i in lost:
                if ops[i].anchor in found:
                    answers[i] = {"status": 201, "body": {"id": found[ops[i].anchor].cloud_id}, "recovered": True}
            again = [i for i in lost if not answers[i].get("recovered")]
            if again:
                answers.update(self.graph.batch([self._part(ops[i], i) for i in again],
                                                send_once=frozenset(again)))
        return answers

    def _find_created(self, kind: CloudKind, anchors: set[str], since: float) -> dict[str, CloudObject]:
        """The objects of `anchors` in the cloud, looked for until the replication window has passed since
        `since` (the monotonic time of the failure after which they may have been created)."""
        deadline = since + self.graph.policy.replication_window
        found: dict[str, CloudObject] = {}
        attempt = 0
        while True:
            # An object in deleted items is not one this create made.
            found.update({a: o for a, o in self.find_by_anchors(kind, anchors - found.keys()).items()
                          if not o.deleted})
            remaining = deadline - time.monotonic()
            if len(found) == len(anchors) or remaining <= 0:
                return found
            attempt += 1
            self.graph.pause(attempt, f"{len(anchors) - len(found)} {kind}s whose create may be done are not "
                             "seen yet (replication delay)", remaining)

    def _settle_conflicts(self, results: dict[str, CloudResult], answers: dict[str, dict]) -> dict[str, CloudResult]:
        """A create that conflicts with an object holding the same anchor met its own earlier attempt, in
        this run (then it may not be seen yet) or in an earlier one."""
        for kind in ("user", "group"):
            conflicts = {i: r for i, r in results.items() if r.outcome == Outcome.conflict
                         and r.op.action == CloudAction.create and r.op.kind == kind}
            if not conflicts:
                continue
            retried = [answers[i]["uncertain"] for i in conflicts if "uncertain" in answers[i]]
            since = max(retried) if retried else time.monotonic() - self.graph.policy.replication_window
            existing = self._find_created(kind, {r.op.anchor for r in conflicts.values()}, since)
            for i, r in conflicts.items():
                if r.op.anchor in existing:
                    results[i] = CloudResult(r.op, Outcome.created, existing[r.op.anchor].cloud_id,
                                             recovered="uncertain" in answers[i])
        return results

    def _retry_references(self, ops: dict[str, CloudOp], results: dict[str, CloudResult]) -> dict[str, CloudResult]:
        """References that met the replication delay of an object created in this run, sent again with
        backoff until they are done or the replication window has passed."""
        deadline = time.monotonic() + self.graph.policy.replication_window
        attempt = 0
        while True:
            waiting = [i for i, r in results.items() if self._delayed(r)]
            remaining = deadline - time.monotonic()
            if not waiting or remaining <= 0:
                return results
            attempt += 1
            self.graph.pause(attempt, f"{len(waiting)} references to objects just created are not seen yet "
                             "(replication delay)", remaining)
            answers = self.graph.batch([self._part(ops[i], i) for i in waiting])
            results.update({i: self._result(ops[i], answers[i]) for i in waiting})

    @staticmethod
    def _result(op: CloudOp, answer: dict) -> CloudResult:
        status, body = answer["status"], answer.get("body")
        if 200 <= status < 300:
            outcome = {CloudAction.create: Outcome.created, CloudAction.restore: Outcome.restored,
                       CloudAction.delete: Outcome.deleted}.get(op.action, Outcome.updated)
            cloud_id = body.get("id") if op.action == CloudAction.create and isinstance(body, dict) else op.cloud_id
            # A create is done as a whole: the group has every member it was sent with.
            return CloudResult(op, outcome, cloud_id, recovered=bool(answer.get("recovered")), members=op.members)
        code, message = error_of(body)
        details = body.get("error", {}).get("details", []) if isinstance(body, dict) else []
        if status == 400 and any(d.get("code") == "ObjectConflict" for d in details):
            return CloudResult(op, Outcome.conflict, op.cloud_id, code, message)
        if op.action == CloudAction.add_member and status == 400 and "already exist" in message:
            return CloudResult(op, Outcome.updated, op.cloud_id)  # the member is there: the wanted state holds
        if status == 404:
            return CloudResult(op, Outcome.not_found, op.cloud_id, code, message)
        if status == 429:
            return CloudResult(op, Outcome.throttled, op.cloud_id, code, message)
        return CloudResult(op, Outcome.failed, op.cloud_id, code or str(status), message)
