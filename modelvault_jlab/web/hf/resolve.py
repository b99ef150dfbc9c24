"""``/resolve/``: a Hub file download (``HEAD``/``GET``, ranges), behind the gate."""

from __future__ import annotations

from urllib.parse import quote

from ...core.hub import Resolved
from ...protocols import hf as wire
from ...storage.base import FileEntry
from ..base import vault_auth
from .base import HfHandler, header_text


# ------------------------------------------------------------------------------------------------
# Downloads
# ------------------------------------------------------------------------------------------------
class ResolveHandler(HfHandler):
    """``HEAD``/``GET /{type-prefix}{ns}/{name}/resolve/{rev}/{path}``: metadata and bytes."""

    async def _locate(
        self, repository: str, prefix: str | None, ns: str, name: str, rev: str, path: str
    ) -> tuple[Resolved, FileEntry]:
        ref = self.hub_ref(repository, wire.TYPE_FROM_PREFIX[prefix], ns, name)
        resolved = await self.vault.hub.resolve(self.principal, ref, rev)
        return resolved, self.vault.hub.file(resolved, path)

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
        resolved, entry = await self._locate(repository, prefix, ns, name, rev, path)
        self.warn_if_stale(resolved)
        # Policy first: a blocked file answers 403 + GatedRepo with the reason, HEAD included.
        for warning in await self.vault.judge.admit(self.principal, repository, resolved, entry):
            self.add_header("X-HF-Warning", f"ModelVault policy; {header_text(warning)}")
        size = entry.size
        etag = wire.etag_of(entry)
        self.set_header(wire.HEADER_REPO_COMMIT, resolved.commit.sha)
        self.set_header("ETag", f'"{etag}"')
        self.set_header(wire.HEADER_LINKED_ETAG, f'"{etag}"')
        self.set_header(wire.HEADER_LINKED_SIZE, str(size))
        self.set_header("Content-Type", "application/octet-stream")
        filename = path.rsplit("/", 1)[-1]
        self.set_header(
            "Content-Disposition",
            f"inline; filename*=UTF-8''{quote(filename)}; filename=\"{quote(filename)}\"",
        )
        if resolved.commit.sha == resolved.revision:
            self.set_header("Cache-Control", "private, max-age=31536000, immutable")
        location = self.vault.hub.download_url(resolved, entry)  # only now: the gate admitted it
        if location is not None:
            # Cross-origin: huggingface_hub reads the metadata above from the 3xx itself (HEAD
            # included) and GETs Location without Authorization (shared/hf-protocol.md).
            self.set_header("Cache-Control", "private, no-store")  # the URL expires
            self.clear_header("Content-Disposition")
            self.redirect(location, status=302)
            if send_body:
                self.vault.hub.record_download(self.principal, resolved, entry)
            return
        bounds = self.byte_range(size)
        if bounds is None:
            return
        start, end = bounds
        if not send_body:
            self.finish()
            return
        # Opened before any byte is sent, so upstream errors still get a clean answer.
        content = await self.vault.hub.open(self.principal, repository, resolved, entry)
        if await self.send_content(content, start, end):  # audited once served (sha known then)
            self.vault.hub.record_download(self.principal, resolved, entry)
