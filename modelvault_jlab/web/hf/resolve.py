"""``/resolve/``: a Hub file download (``HEAD``/``GET``, ranges), behind the gate."""

from __future__ import annotations

from urllib.parse import quote

from ...protocols import hf as wire
from ..base import vault_auth
from .base import HfHandler, header_text
from .xet_links import xet_headers


# ------------------------------------------------------------------------------------------------
# Downloads
# ------------------------------------------------------------------------------------------------
class ResolveHandler(HfHandler):
    """``HEAD``/``GET /{type-prefix}{ns}/{name}/resolve/{rev}/{path}``: metadata and bytes."""

    @vault_auth
    async def head(self, *args: str) -> None:
        await self._serve(*args, send_body=False)

    @vault_auth
    async def get(self, *args: str) -> None:
        await self._serve(*args, send_body=True)

    async def _serve(
        self,
        repository: str,
        prefix: str | None,
        ns: str,
        name: str,
        rev: str,
        path: str,
        *,
        send_body: bool,
    ) -> None:
        ref = self.hub_ref(repository, wire.TYPE_FROM_PREFIX[prefix], ns, name)
        # Policy first (in core): a blocked file answers 403 + GatedRepo with the reason, HEAD
        # included, before any header or redirect URL exists.
        download = await self.vault.downloads.start(self.principal, ref, rev, path)
        self.warn_if_stale(download.resolved)
        for warning in download.warnings:
            self.add_header("X-HF-Warning", f"ModelVault policy; {header_text(warning)}")
        entry = download.entry
        size = entry.size
        etag = wire.etag_of(entry)
        commit_sha = download.resolved.commit.sha
        self.set_header(wire.HEADER_REPO_COMMIT, commit_sha)
        self.set_header("ETag", f'"{etag}"')
        self.set_header(wire.HEADER_LINKED_ETAG, f'"{etag}"')
        self.set_header(wire.HEADER_LINKED_SIZE, str(size))
        xet_hash = self.vault.xet_reads.xet_hash(entry.sha256) if entry.lfs else None
        if xet_hash is not None:  # admitted above: offer the Xet download (web/xet/read.py)
            xet_headers(self, repository, ref.repo_type, ref.repo_id, commit_sha, xet_hash)
        self.set_header("Content-Type", "application/octet-stream")
        filename = quote(download.filename)
        self.set_header(
            "Content-Disposition", f"inline; filename*=UTF-8''{filename}; filename=\"{filename}\""
        )
        if download.immutable:
            self.set_header("Cache-Control", "private, max-age=31536000, immutable")
        if download.redirect is not None:
            # Cross-origin: huggingface_hub reads the metadata above from the 3xx itself (HEAD
            # included) and GETs Location without Authorization (shared/hf-protocol.md).
            self.set_header("Cache-Control", "private, no-store")  # the URL expires
            self.clear_header("Content-Disposition")
            self.redirect(download.redirect, status=302)
            if send_body:
                download.record()
            return
        bounds = self.byte_range(size)
        if bounds is None:
            return
        start, end = bounds
        if not send_body:
            self.finish()
            return
        # Opened before any byte is sent, so upstream errors still get a clean answer.
        content = await download.open()
        if await self.send_content(content, start, end):  # audited once served (sha known then)
            download.record()
