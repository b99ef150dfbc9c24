"""A Hub repo's refs: listing, and creating or deleting branches and tags."""

from __future__ import annotations

from ...errors import (
    InvalidInputError,
)
from ...protocols import hf as wire
from ..base import vault_auth
from .base import HfHandler, plural_type


class RefsHandler(HfHandler):
    @vault_auth
    async def get(self, repository: str, types: str, ns: str, name: str) -> None:
        ref = self.hub_ref(repository, plural_type(types), ns, name)
        records = await self.vault.hub.refs(self.principal, ref)
        self.write_json(wire.refs(records, self.flag("include_prs")))


class BranchHandler(HfHandler):
    @vault_auth
    def post(self, repository: str, types: str, ns: str, name: str, branch: str) -> None:
        ref = self.hub_ref(repository, plural_type(types), ns, name)
        body = self.json_body() or {}
        start = body.get("startingPoint") if isinstance(body, dict) else None
        self.vault.hub_write.create_branch(self.principal, ref, branch, start)
        self.write_json({})

    @vault_auth
    def delete(self, repository: str, types: str, ns: str, name: str, branch: str) -> None:
        ref = self.hub_ref(repository, plural_type(types), ns, name)
        self.vault.hub_write.delete_branch(self.principal, ref, branch)
        self.write_json({})


class TagHandler(HfHandler):
    """``POST …/tag/{revision}`` names the revision to tag; ``DELETE …/tag/{tag}`` the tag."""

    @vault_auth
    def post(self, repository: str, types: str, ns: str, name: str, revision: str) -> None:
        ref = self.hub_ref(repository, plural_type(types), ns, name)
        body = self.json_body()
        if not isinstance(body, dict) or not isinstance(body.get("tag"), str):
            raise InvalidInputError("Expected JSON with 'tag'.")
        self.vault.hub_write.create_tag(
            self.principal, ref, revision, body["tag"], str(body.get("message") or "")
        )
        self.write_json({})

    @vault_auth
    def delete(self, repository: str, types: str, ns: str, name: str, tag: str) -> None:
        ref = self.hub_ref(repository, plural_type(types), ns, name)
        self.vault.hub_write.delete_tag(self.principal, ref, tag)
        self.write_json({})
