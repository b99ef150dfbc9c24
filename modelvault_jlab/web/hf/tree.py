"""A Hub repo's files at a revision: ``tree`` listings and ``paths-info``."""

from __future__ import annotations

from typing import Any

from ...core.hub.refs import Resolved
from ...core.hub.tree import TreeEntry
from ...errors import (
    InvalidInputError,
)
from ...protocols import hf as wire
from ..base import vault_auth
from .base import HfHandler, plural_type


async def tree_json(
    handler: HfHandler, requested: str, resolved: Resolved, entries: list[TreeEntry]
) -> list[dict[str, Any]]:
    """Tree entries with ``xetHash`` for Xet files the judge does not block."""
    files = [e.file for e in entries if e.file is not None]
    xet = await handler.vault.xet_reads.xet_hashes(requested, resolved, files)
    out = [wire.tree_entry(e) for e in entries]
    for item in out:
        if item["path"] in xet and item["type"] == "file":
            item["xetHash"] = xet[item["path"]]
    return out


class TreeHandler(HfHandler):
    """``GET /api/{T}/{ns}/{name}/tree/{rev}[/{path}]``, paged with an absolute ``Link``."""

    @vault_auth
    async def get(
        self, repository: str, types: str, ns: str, name: str, rev: str, path: str | None = None
    ) -> None:
        ref = self.hub_ref(repository, plural_type(types), ns, name)
        resolved = await self.vault.hub.resolve(self.principal, ref, rev)
        limit = self.int_arg("limit", 1000)
        page = self.vault.hub.tree(
            resolved,
            path or "",
            recursive=self.flag("recursive"),
            cursor=self.get_argument("cursor", None),
            limit=limit,
        )
        if page.next_cursor:
            url = self.same_url_with(cursor=page.next_cursor)
            self.set_header("Link", f'<{url}>; rel="next"')
        self.write_json(await tree_json(self, ref.repository, resolved, page.entries))


class PathsInfoHandler(HfHandler):
    """``POST /api/{T}/{ns}/{name}/paths-info/{rev}`` (form or JSON ``paths``)."""

    actions = {"POST": "read"}

    @vault_auth
    async def post(self, repository: str, types: str, ns: str, name: str, rev: str) -> None:
        ref = self.hub_ref(repository, plural_type(types), ns, name)
        resolved = await self.vault.hub.resolve(self.principal, ref, rev)
        paths = self.get_body_arguments("paths")
        if not paths and self.request.headers.get("Content-Type", "").startswith(
            "application/json"
        ):
            body = self.json_body()
            paths = body.get("paths", []) if isinstance(body, dict) else []
        if len(paths) > 10_000:
            raise InvalidInputError("At most 10000 paths per request.")
        entries = self.vault.hub.paths_info(resolved, [str(p) for p in paths])
        self.write_json(await tree_json(self, ref.repository, resolved, entries))
