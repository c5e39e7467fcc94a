"""Security groups and their members."""

from __future__ import annotations

import json
import uuid

from ..odata import GraphError, bad_request
from .base import USER_NICK_BAD, Request, Response, now_iso
from .query import QueryOptions

GROUP_NICK_BAD = USER_NICK_BAD | {"."}  # https://learn.microsoft.com/graph/api/group-post-groups
MAX_BIND = 20  # https://learn.microsoft.com/graph/api/group-post-members


class Groups(QueryOptions):
    def list_groups(self, req: Request) -> Response:
        """https://learn.microsoft.com/graph/api/group-list"""
        return self._list(req, "group", "groups")

    def get_group(self, req: Request, oid: str) -> Response:
        """https://learn.microsoft.com/graph/api/group-get"""
        select = self._select(req)
        return self._ok(200, {"@odata.context": self._context("groups", select, entity=True),
                              **self._shape(self._readable(self._row(oid, "group")), select)})

    def _bind_members(self, body: dict) -> list[str]:
        refs = body.pop("members@odata.bind", None) or []
        owners = body.pop("owners@odata.bind", None) or []  # owners are not emulated; accepted so doc examples run
        if not isinstance(refs, list) or not isinstance(owners, list):
            raise bad_request("Invalid value specified for property 'members@odata.bind'.")
        # group-post-groups: "a maximum of 20 relationships, such as owners and members" in one request
        if len(refs) + len(owners) > MAX_BIND:
            raise bad_request(f"The request contains {len(refs) + len(owners)} values for 'members@odata.bind' "
                              f"and 'owners@odata.bind'; at most {MAX_BIND} can be added in one request.")
        ids = [self._ref_id({"r": r}, "r") for r in refs]
        # all-or-nothing: a missing member fails the whole request
        self._referable(*[self._row(member) for member in ids])
        return ids

    def _add_members(self, group_id: str, ids: list[str]) -> None:
        existing = {r[0] for r in self.db.execute(
            f"SELECT member_id FROM members WHERE group_id=? AND member_id IN ({','.join('?' * len(ids))})",
            (group_id, *ids))} if ids else set()
        if existing or len(set(ids)) != len(ids):
            raise bad_request("One or more added object references already exist for the following modified "
                              "properties: 'members'.")
        self.db.executemany("INSERT INTO members VALUES (?, ?)", [(group_id, m) for m in ids])

    def create_group(self, req: Request) -> Response:
        """https://learn.microsoft.com/graph/api/group-post-groups (security groups)"""
        body = self._validate(req.json(), "group", creating=True)
        if body.get("mailEnabled") or "Unified" in (body.get("groupTypes") or []):
            raise bad_request("The local tenant creates security groups only (mailEnabled false, no 'Unified' "
                              "group type).", details=[{"code": "InvalidValue", "target": "mailEnabled"}])
        if not body.get("securityEnabled"):
            raise bad_request("Invalid value specified for property 'securityEnabled' of resource 'Group'.")
        nick = body["mailNickname"]
        if len(nick) > 64 or GROUP_NICK_BAD & set(nick) or not nick.isascii():
            raise bad_request("Invalid value specified for property 'mailNickname' of resource 'Group'.",
                              details=[{"code": "InvalidValue", "target": "mailNickname"}])
        members = self._bind_members(body)
        oid = str(uuid.uuid4())
        data = {"id": oid, "deletedDateTime": None, "classification": None, "createdDateTime": now_iso(),
                "description": None, "groupTypes": [], "mail": None, "onPremisesSyncEnabled": None,
                "proxyAddresses": [], "renewedDateTime": now_iso(), "securityIdentifier": None,
                "visibility": None, **body}
        self._write(oid, "group", data, insert=True)
        self._add_members(oid, members)
        self._replicating(oid)
        return self._ok(201, {"@odata.context": self._context("groups", None, entity=True),
                              **self._shape(self._row(oid, "group"), None)},
                        Location=f"{self.base}/v1.0/groups/{oid}")

    def update_group(self, req: Request, oid: str) -> Response:
        """https://learn.microsoft.com/graph/api/group-update ; members@odata.bind adds up to 20 members"""
        row = self._row(oid, "group")
        body = self._validate(req.json(), "group", creating=False)
        members = self._bind_members(body)
        if members:
            self._referable(row)
        if body.get("mailEnabled") or "Unified" in (body.get("groupTypes") or []):
            raise bad_request("The local tenant keeps groups as security groups only.")
        data = json.loads(row["data"])
        data.update(body)
        self._add_members(row["id"], members)
        self._write(row["id"], "group", data)
        return 204, {}, None

    def delete_group(self, req: Request, oid: str) -> Response:
        """https://learn.microsoft.com/graph/api/group-delete : security groups go to deleted items too (the
        current v1.0 text). The docs are silent on a restored security group's members: the stricter reading,
        it comes back without them (its own memberships in other groups stay, as for users)."""
        row = self._row(oid, "group")
        data = json.loads(row["data"])
        data["deletedDateTime"] = now_iso()
        self.db.execute("DELETE FROM members WHERE group_id=?", (row["id"],))
        self._write(row["id"], "group", data, state="deleted")
        return 204, {}, None

    def list_members(self, req: Request, oid: str) -> Response:
        """https://learn.microsoft.com/graph/api/group-list-members"""
        group = self._row(oid, "group")
        sql = ("SELECT o.* FROM members m JOIN objects o ON o.id=m.member_id "
               "WHERE m.group_id=? AND o.state='active'")
        return self._page(req, sql, [group["id"]], f"{self.meta}#directoryObjects", typed=True)

    def add_member(self, req: Request, oid: str) -> Response:
        """https://learn.microsoft.com/graph/api/group-post-members"""
        group = self._row(oid, "group")
        member = self._row(self._ref_id(req.json()))
        self._referable(group, member)
        self._add_members(group["id"], [member["id"]])
        self._write(group["id"], "group", json.loads(group["data"]))
        return 204, {}, None

    def remove_member(self, req: Request, oid: str, member: str) -> Response:
        """https://learn.microsoft.com/graph/api/group-delete-members"""
        group = self._row(oid, "group")
        if self.db.execute("DELETE FROM members WHERE group_id=? AND member_id=?",
                           (group["id"], member.lower())).rowcount == 0:
            raise GraphError(404, "Request_ResourceNotFound", f"Resource '{member}' does not exist or one of its "
                             "queried reference-property objects are not present.")
        self._write(group["id"], "group", json.loads(group["data"]))
        return 204, {}, None
