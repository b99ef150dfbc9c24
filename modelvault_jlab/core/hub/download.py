"""The download of one Hub file (``/resolve/``), in the order security requires.

:meth:`HubDownloads.start` is the one call a handler makes. In order:

1. resolve the revision and find the file (404s carry the commit, so clients cache absences);
2. look up the content's sha256 once (a mirrored file's only once cached; on an object store
   that is a ``HEAD`` request, so it runs in a worker thread, never on the event loop);
3. ask the judge (:mod:`..governance.judge`), the one decision point: a blocked file raises
   :class:`~modelvault_jlab.errors.PolicyError` before any header or URL exists;
4. only then offer a presigned redirect for a *cached* file (the URL bypasses the gate).

The result carries the facts the response headers need, the redirect or an opener for the
content stream (opened after the headers are set, before any byte is sent), and the audit step
to run once the file was served.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from ...ids import Sha256
from ...storage.records import FileEntry
from ..content import ContentStore
from ..identity import Principal
from ..streaming import ContentStream
from .judge import Judge
from .read import HubService
from .refs import HubRef, Resolved


@dataclass
class Download:
    """An admitted file: what to answer, how to send it, and how to audit it."""

    resolved: Resolved
    entry: FileEntry
    warnings: list[str]
    """Policy warnings (waived or warn-only violations) for the response."""
    redirect: str | None
    """A presigned URL to answer 302 with, or ``None``: send :meth:`open`'s content."""
    _hub: HubService = field(repr=False)
    _who: Principal = field(repr=False)
    _requested: str = field(repr=False)
    _sha: Sha256 | None = field(repr=False)

    @property
    def immutable(self) -> bool:
        """The revision asked for was the commit itself: the answer never changes."""
        return self.resolved.commit.sha == self.resolved.revision

    @property
    def cache(self) -> str:
        """``hit``/``miss``: a mirrored file served from the cache or not; ``local`` otherwise."""
        if self.resolved.source.kind != "hf-remote":
            return "local"
        return "miss" if self._sha is None else "hit"

    @property
    def filename(self) -> str:
        return self.entry.path.rsplit("/", 1)[-1]

    async def open(self) -> ContentStream:
        """The bytes: from the store, or streamed through from the upstream (scanned before
        their last byte goes out).

        Raises:
            OfflineModeError, UpstreamUnavailableError, EntryNotFoundError: nothing was sent yet.
        """
        return await self._hub.open_content(
            self._who, self._requested, self.resolved, self.entry, self._sha
        )

    def record(self) -> None:
        """Audit the download (once served: a streamed-through file's sha256 is known then)."""
        self._hub.record_download(self._who, self.resolved, self.entry, self._sha, self.cache)


class HubDownloads:
    """Downloads of Hub files (``/resolve/``): resolve, judge, then redirect or stream."""

    def __init__(self, hub: HubService, judge: Judge, content: ContentStore) -> None:
        self._hub = hub
        self._judge = judge
        self._content = content

    async def start(self, who: Principal, ref: HubRef, revision: str | None, path: str) -> Download:
        """Resolve, judge and prepare the download of ``path`` at ``revision``.

        Raises:
            RepoNotFoundError, RevisionNotFoundError, EntryNotFoundError: nothing to serve.
            PolicyError: the judge blocked the file (audited).
            UpstreamError: a mirrored revision could not be resolved.
        """
        resolved = await self._hub.resolve(who, ref, revision)
        entry = self._hub.file(resolved, path)
        sha = await self._content_sha(resolved, entry)
        warnings = await self._judge.admit_content(who, ref.repository, resolved, entry, sha)
        redirect = None if sha is None else self._content.download_url(sha)
        return Download(resolved, entry, warnings, redirect, self._hub, who, ref.repository, sha)

    async def _content_sha(self, resolved: Resolved, entry: FileEntry) -> Sha256 | None:
        if resolved.source.kind != "hf-remote":
            return self._hub.content_sha(resolved, entry)  # recorded with the file: no I/O
        # A mirrored file: its blob is looked up in the store (S3: a blocking HEAD).
        return await asyncio.to_thread(self._hub.content_sha, resolved, entry)
