"""GraphTarget: the engine's Target (engine/ports.py) on Microsoft Graph.

Users are known by onPremisesImmutableId (the sourceAnchor). Groups have no such property in Graph, so
their anchor lives in a directory extension property registered on DirSync's own app,
extension_{appIdWithoutHyphens}_dirSyncAnchor (https://learn.microsoft.com/graph/extensibility-overview),
created on first use. With Application.ReadWrite.OwnedBy the app must own its own registration to read or
register it; when that (or the lookup) is refused, GroupAnchorError says why and how to fix it, and the run
syncs the users without the groups (docs/administrator-guide.md).

A create whose answer was lost (a reset connection, a 5xx after the write) is sent again and meets
ObjectConflict; the writer then looks the anchor up, and if the object is there it is the one DirSync
created: the result is "created", never a duplicate and never a false conflict.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import replace
from typing import Iterable, Iterator
from urllib.parse import quote

from ..engine.ports import CloudKind, CloudObject, CloudOp, CloudResult
from ..errors import CloudError, GroupAnchorError
from ..events import Events
from ..vocabulary import CloudAction, Outcome
from .graph import DOCUMENTED_WRITE_QUOTA, GraphClient, RetryPolicy, error_of

ANCHOR_EXTENSION = "dirSyncAnchor"
ANCHOR_FIX = ("Make DirSync's app an owner of its own app registration (Entra admin center > App registrations > "
              "DirSync > Owners: add the DirSync enterprise application; or POST /applications/{id}/owners/$ref "
              "with its service principal), or grant it Application.ReadWrite.All; the next run syncs the groups.")
FILTER_IN_LIMIT = 15  # values in one `in (...)` (https://learn.microsoft.com/graph/filter-query-parameter)
COLLECTION = {"user": "users", "group": "groups"}


def random_password(length: int = 24) -> str:
    """A strong initial password (all four character classes); it is sent once and kept nowhere."""
    classes = [string.ascii_lowercase, string.ascii_uppercase, string.digits, "!#$%&()*+,-./:;<=>?@[]^_{|}~"]
    chars = [secrets.choice(c) for c in classes]
    chars += [secrets.choice("".join(classes)) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class GraphTarget:
    """Target on Microsoft Graph. `credential` is the client secret or the certificate's private key
    (PEM), per settings.credential_type; `write_quota` is (writes, seconds) for the app+tenant pair."""

    def __init__(self, settings, credential: str, *, policy: RetryPolicy | None = None,
                 write_quota: tuple[int, float] = DOCUMENTED_WRITE_QUOTA, events: Events | None = None):
        self.graph = GraphClient(settings, credential, policy=policy, write_quota=write_quota, events=events)
        self.client_id = settings.client_id
        self._anchor_property: str | None = None

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
        if self._anchor_property is not None:
            return self._anchor_property
        app = f"applications(appId='{self.client_id}')/extensionProperties"
        name = self._find_extension(app)
        if name is None:
            response = self.graph.request("POST", app, json={
                "name": ANCHOR_EXTENSION, "dataType": "String", "targetObjects": ["Group"]})
            # 400 ObjectConflict: another DirSync instance registered it meanwhile; read it back.
            name = response.json()["name"] if response.status_code == 201 else self._find_extension(app)
            if name is None:
                code, message = error_of(response.json())
                raise GroupAnchorError(f"DirSync could not register its group anchor property on app "
                                       f"{self.client_id}: {response.status_code} {code}: {message}",
                                       fix=ANCHOR_FIX)
        self._anchor_property = name
        return name

    def _find_extension(self, url: str) -> str | None:
        response = self.graph.request("GET", url)
        if response.status_code != 200:
            code, message = error_of(response.json())
            text = (f"DirSync cannot read its group anchor property on app {self.client_id}: "
                    f"{response.status_code} {code}: {message}")
            if response.status_code in (400, 403, 404):  # not the app's owner, no such app, a refused query
                raise GroupAnchorError(text, fix=ANCHOR_FIX)
            raise CloudError(text)
        suffix = "_" + ANCHOR_EXTENSION
        return next((e["name"] for e in response.json().get("value", []) if e["name"].endswith(suffix)), None)

    def _anchor_field(self, kind: CloudKind) -> str:
        return "onPremisesImmutableId" if kind == "user" else self.group_anchor_property

    def _object(self, kind: CloudKind, item: dict) -> CloudObject:
        return CloudObject(cloud_id=item["id"], kind=kind, anchor=item.get(self._anchor_field(kind)),
                           user_principal_name=item.get("userPrincipalName"))

    def find_by_anchors(self, kind: CloudKind, anchors: Iterable[str]) -> dict[str, CloudObject]:
        """Live objects and those in deleted items (restorable until purged); a live one wins. Deleted items
        take the query parameters of the resource named by the cast
        (https://learn.microsoft.com/graph/api/directory-deleteditems-list), so the same filter serves both."""
        wanted = list(dict.fromkeys(anchors))
        if not wanted:
            return {}
        prop = self._anchor_field(kind)
        select = f"id,{prop}" + (",userPrincipalName" if kind == "user" else "")
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
                    found[anchor] = replace(self._object(kind, item), deleted=deleted)
        return found

    def find_user_by_upn(self, user_principal_name: str) -> CloudObject | None:
        items = self.graph.get_json("users", params={
            "$filter": f"userPrincipalName eq {_literal(user_principal_name)}",
            "$select": "id,userPrincipalName,onPremisesImmutableId"}).get("value", [])
        return self._object("user", items[0]) if items else None

    # --- writing -----------------------------------------------------------------------------------------
    def _part(self, op: CloudOp, part_id: str) -> dict:
        ref = f"{self.graph.base}/directoryObjects/{op.ref_id}"
        collection = COLLECTION[op.kind]
        if op.action == CloudAction.create:
            body = dict(op.properties or {})
            if op.kind == "user":
                body.setdefault("onPremisesImmutableId", op.anchor)
                body["passwordProfile"] = {"forceChangePasswordNextSignIn": True, "password": random_password()}
            else:
                body = {"mailEnabled": False, "securityEnabled": True, **body, self.group_anchor_property: op.anchor}
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
        """Does all the writes before returning (not lazily: the writes happen even if nobody iterates)."""
        ops = list(ops)
        answers = self.graph.batch([self._part(op, str(i)) for i, op in enumerate(ops)])
        results = [self._result(op, answers[str(i)]) for i, op in enumerate(ops)]
        return iter(self._update_restored(self._settle_conflicts(results)))

    def _update_restored(self, results: list[CloudResult]) -> list[CloudResult]:
        """A restored object then gets the properties the plan gave it (the restore itself takes no body)."""
        restored = [(i, r) for i, r in enumerate(results) if r.op.action == CloudAction.restore
                    and r.outcome == Outcome.restored and r.op.properties]
        if not restored:
            return results
        updates = [replace(r.op, action=CloudAction.update) for _, r in restored]
        answers = self.graph.batch([self._part(op, str(n)) for n, op in enumerate(updates)])
        for n, (i, result) in enumerate(restored):
            update = self._result(updates[n], answers[str(n)])
            results[i] = result if update.ok else replace(update, op=result.op)
        return results

    def _settle_conflicts(self, results: list[CloudResult]) -> list[CloudResult]:
        """A create that conflicts with an object holding the same anchor met its own earlier attempt."""
        for kind in ("user", "group"):
            conflicts = [r for r in results if r.outcome == Outcome.conflict and r.op.action == CloudAction.create
                         and r.op.kind == kind]
            existing = self.find_by_anchors(kind, [c.op.anchor for c in conflicts]) if conflicts else {}
            results = [CloudResult(r.op, Outcome.created, existing[r.op.anchor].cloud_id)
                       if r in conflicts and r.op.anchor in existing else r for r in results]
        return results

    @staticmethod
    def _result(op: CloudOp, answer: dict) -> CloudResult:
        status, body = answer["status"], answer.get("body")
        if 200 <= status < 300:
            outcome = {CloudAction.create: Outcome.created, CloudAction.restore: Outcome.restored,
                       CloudAction.delete: Outcome.deleted}.get(op.action, Outcome.updated)
            cloud_id = body.get("id") if op.action == CloudAction.create and isinstance(body, dict) else op.cloud_id
            return CloudResult(op, outcome, cloud_id)
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
