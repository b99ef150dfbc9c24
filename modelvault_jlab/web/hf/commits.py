"""Hub commits: history, preupload (regular or LFS per file) and NDJSON commits."""

from __future__ import annotations

import asyncio
import tempfile
from typing import IO, Any

from tornado import web

from ...core.hub.lfs import MAX_BATCH_OBJECTS
from ...errors import (
    InvalidInputError,
)
from ...ids import validate_repo_path
from ...protocols import hf as wire
from ...protocols.hf_commit import parse_commit
from ..base import vault_auth
from .base import HfHandler, plural_type


class CommitsHandler(HfHandler):
    """``GET /api/{T}/{ns}/{name}/commits/{rev}?p=N``, 50 per page like the Hub."""

    page_size = 50
    max_page = 10**9

    @vault_auth
    async def get(self, repository: str, types: str, ns: str, name: str, rev: str) -> None:
        ref = self.hub_ref(repository, plural_type(types), ns, name)
        resolved = await self.vault.hub.resolve(self.principal, ref, rev)
        page = self.int_arg("p", 0)
        if not 0 <= page <= self.max_page:  # the offset must fit SQL's 64-bit integers
            raise InvalidInputError(f"Page numbers run from 0 to {self.max_page}.")
        commits = self.vault.hub.commits(resolved, page * self.page_size, self.page_size + 1)
        if len(commits) > self.page_size:
            self.set_header("Link", f'<{self.same_url_with(p=str(page + 1))}>; rel="next"')
        self.write_json([wire.commit_item(c) for c in commits[: self.page_size]])


# ------------------------------------------------------------------------------------------------
# Uploads
# ------------------------------------------------------------------------------------------------
class PreuploadHandler(HfHandler):
    """Small files travel inline ('regular'); large ones go through Git LFS."""

    @vault_auth
    async def post(self, repository: str, types: str, ns: str, name: str, rev: str) -> None:
        ref = self.hub_ref(repository, plural_type(types), ns, name)
        resolved = await self.vault.hub.resolve(self.principal, ref, rev)
        body = self.json_body()
        files = body.get("files") if isinstance(body, dict) else None
        if not isinstance(files, list):
            raise InvalidInputError("Expected JSON with a 'files' list.")
        if len(files) > MAX_BATCH_OBJECTS:  # huggingface_hub asks about 256 files at a time
            raise InvalidInputError(f"At most {MAX_BATCH_OBJECTS} files per preupload request.")
        limit = self.vault.options.regular_upload_max_bytes
        out = []
        for item in files:
            if not isinstance(item, dict) or not isinstance(item.get("path"), str):
                raise InvalidInputError("Each file needs a 'path'.")
            size = item.get("size", 0)
            mode = "regular" if isinstance(size, int) and size <= limit else "lfs"
            entry: dict[str, Any] = {
                "path": item["path"],
                "uploadMode": mode,
                "shouldIgnore": False,
            }
            oid = (
                self.vault.hub_write.existing_oid(resolved, item["path"])
                if _valid_path(item["path"])
                else None
            )
            if oid:
                entry["oid"] = oid
            out.append(entry)
        self.write_json({"files": out})


def _valid_path(path: str) -> bool:

    try:
        validate_repo_path(path)
    except InvalidInputError:
        return False
    return True


@web.stream_request_body
class CommitHandler(HfHandler):
    """``POST /api/{T}/{ns}/{name}/commit/{rev}``: an NDJSON body, spooled to disk as it arrives.

    Inline (regular) content is decoded line by line into blobs, so memory stays bounded by one
    line however large the commit is.
    """

    max_body_bytes = 4 * 1024**3

    async def prepare_request(self) -> None:
        self.request.connection.set_max_body_size(self.max_body_bytes)  # type: ignore[union-attr]
        self._spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115

    def data_received(self, chunk: bytes) -> None:
        self._spool.write(chunk)

    def on_finish(self) -> None:
        spool = getattr(self, "_spool", None)
        if spool is not None:
            spool.close()

    def on_connection_close(self) -> None:
        self.on_finish()

    @vault_auth
    async def post(self, repository: str, types: str, ns: str, name: str, rev: str) -> None:
        ref = self.hub_ref(repository, plural_type(types), ns, name)
        self._spool.seek(0)
        line_limit = self.vault.options.regular_upload_max_bytes * 4 // 3 + 64 * 1024
        # Decoding, storing and committing run in a worker thread: a commit of thousands of
        # files must not stall every other request on the event loop.
        header, operations = await asyncio.to_thread(
            parse_commit, self._spool, line_limit, self.vault.content.put_many
        )
        result = await asyncio.to_thread(
            self.vault.hub_write.commit,
            self.principal,
            ref,
            rev,
            operations,
            title=str(header.get("summary") or "Commit"),
            message=str(header.get("description") or ""),
            parent_commit=header.get("parentCommit") or None,
            create_pr=self.flag("create_pr"),
        )
        url = self.repo_url(ref)
        body: dict[str, Any] = {
            "success": True,
            "commitOid": result.commit.sha,
            "commitUrl": f"{url}/commit/{result.commit.sha}",
            "commitMessage": result.commit.title,
        }
        if result.pr_number is not None:
            body["pullRequestUrl"] = f"{url}/discussions/{result.pr_number}"
        self.write_json(body)
