"""The Xet remote cache: chunks fetched from an upstream Xet server, kept by hash so that a later
file of the same hf-remote repository whose reconstruction names the same upstream chunks is
served from local storage, and only the missing chunk ranges are fetched.

Storage unit (see bench/README.md, "Xet remote cache"): the upstream signs fetch URLs for the
byte ranges a file needs, not for whole xorbs, so the unit is the *verified chunk range*. The
chunks a cold fetch receives are packed, in file order, into **local xorbs** (≤ 64 MiB raw,
≤ 8192 chunks, as a client packs them): each is a real xorb, named by the merkle hash of its
chunks, stored as a blob and registered in the existing xorb/chunk tables. So the cached file is
an ordinary Xet file (``xet_files`` over local xorbs): resolve offers ``X-Xet-Hash``, the
reconstruction and fetch URLs, the bridge and GC treat it like an uploaded one. A segment row
maps chunks ``[start, end)`` of an upstream xorb to chunks of a local xorb: that is the lookup a
later reconstruction's terms go through.

Trust: nothing from the upstream names a chunk's hash, so a chunk is proven only as part of its
file: the downloader hashes every chunk (cached ones too) and compares the merkle root with the
file's Xet hash. Only then is anything registered (:meth:`Staging.commit`); until then the local
xorbs are uncommitted blob writers, discarded by :meth:`Staging.abort`. Segments are scoped to
the repository that fetched them: another upstream cannot make this one's cache lie.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from ...ids import Sha256
from ...storage.blobs import BlobWriter
from ...storage.meta import MetadataStore
from ...storage.records import (
    UpstreamSegmentRecord,
    XetFileRecord,
    XetTermRecord,
    XorbChunkRecord,
    XorbRecord,
)
from ..content import ContentStore
from .assemble import iter_file
from .hashing import hash_to_string, merkle_root
from .xorb import MAX_XORB_BYTES, MAX_XORB_CHUNKS

MAX_STAGED_XORBS = 128
"""Local xorbs one cold fetch may stage (≈ 8 GiB of new content; one open blob writer each).
Past it the rest of the file streams through uncached: nothing of the file is registered."""
MAX_SEGMENTS_PER_TERM = 1024
"""Segment rows one term lookup reads: a term covered by more pieces is fetched again."""


class RemoteXetCache:
    """The cached upstream chunks of one hf-remote repository."""

    def __init__(self, meta: MetadataStore, content: ContentStore, repository: str) -> None:
        self._meta = meta
        self._content = content
        self.repository = repository

    def cached(
        self, upstream_xorb: str, start: int, end: int, unpacked: int
    ) -> tuple[XetTermRecord, ...] | None:
        """Local terms that hold exactly chunks ``[start, end)`` of ``upstream_xorb`` with
        ``unpacked`` bytes in all, or None when any chunk is missing (the term is fetched)."""
        segments = self._meta.upstream_segments(
            self.repository, upstream_xorb, start, end, MAX_SEGMENTS_PER_TERM
        )
        terms: list[XetTermRecord] = []
        at = start
        for seg in segments:  # by start: take the piece that continues from ``at``
            if seg.start > at:
                return None  # a gap
            if seg.end <= at:
                continue
            stop = min(end, seg.end)
            lo = seg.local_start + at - seg.start
            chunks = self._meta.xorb_chunks(seg.xorb_hash, lo, lo + stop - at)
            if len(chunks) != stop - at:
                return None  # the local xorb is gone (collected) or short
            terms.append(
                XetTermRecord(seg.xorb_hash, lo, lo + stop - at, sum(c.raw_len for c in chunks))
            )
            at = stop
            if at == end:
                break
        if at != end or sum(t.unpacked for t in terms) != unpacked:
            return None  # the upstream's term says another length: fetch it, and it will fail
        return tuple(terms)

    def read(self, terms: Sequence[XetTermRecord]) -> Iterator[bytes]:
        """The uncompressed chunks of local terms, one chunk at a time."""
        return iter_file(self._meta, self._content.blobs, terms)

    def staging(self) -> Staging:
        return Staging(self)


@dataclass
class _LocalXorb:
    writer: BlobWriter
    chunks: list[tuple[bytes, int, int, int]] = field(default_factory=list)
    """Per chunk: (hash, raw_len, ser_start, ser_end)."""
    raw_len: int = 0
    ser_len: int = 0


@dataclass
class _Run:
    """Consecutive chunks of one upstream xorb in one local xorb (one segment row)."""

    upstream_xorb: str
    start: int
    end: int
    local: int
    local_start: int


class Staging:
    """One cold fetch's new chunks, packed into local xorbs that stay uncommitted blob writers
    until :meth:`commit` (file verified) or :meth:`abort`; and the file's local terms."""

    def __init__(self, cache: RemoteXetCache) -> None:
        self._cache = cache
        self._xorbs: list[_LocalXorb] = []
        self._runs: list[_Run] = []
        self._terms: list[tuple[int | str, int, int, int]] = []
        """(local xorb index while staged, or a stored xorb's hash; start; end; unpacked)."""
        self.full = False
        """More new content than :data:`MAX_STAGED_XORBS` holds: the file is not cached."""

    def use(self, terms: Sequence[XetTermRecord]) -> None:
        """The file continues with already cached chunks."""
        self._terms += [(t.xorb_hash, t.start, t.end, t.unpacked) for t in terms]

    def add(
        self, upstream_xorb: str, index: int, serialized: bytes, digest: bytes, raw: int
    ) -> None:
        """The file continues with chunk ``index`` of ``upstream_xorb``, just fetched (its hash
        is checked with the file's, before :meth:`commit`)."""
        if self.full:
            return
        xorb = self._xorbs[-1] if self._xorbs else None
        if (
            xorb is None
            or xorb.raw_len + raw > MAX_XORB_BYTES
            or len(xorb.chunks) >= MAX_XORB_CHUNKS
        ):
            if len(self._xorbs) >= MAX_STAGED_XORBS:
                self.full = True
                self.abort()
                return
            xorb = _LocalXorb(self._cache._content.writer())
            self._xorbs.append(xorb)
        local, local_index = len(self._xorbs) - 1, len(xorb.chunks)
        xorb.writer.write(serialized)
        xorb.chunks.append((digest, raw, xorb.ser_len, xorb.ser_len + len(serialized)))
        xorb.raw_len += raw
        xorb.ser_len += len(serialized)
        run = self._runs[-1] if self._runs else None
        if (
            run is not None
            and (run.upstream_xorb, run.end, run.local) == (upstream_xorb, index, local)
            and run.local_start + run.end - run.start == local_index
        ):
            run.end += 1
        else:
            self._runs.append(_Run(upstream_xorb, index, index + 1, local, local_index))
        last = self._terms[-1] if self._terms else None
        if last is not None and last[0] == local and last[2] == local_index:
            self._terms[-1] = (local, last[1], local_index + 1, last[3] + raw)
        else:
            self._terms.append((local, local_index, local_index + 1, raw))

    def commit(self, file_hash: str, sha256: Sha256, size: int) -> XetFileRecord | None:
        """Publish the local xorbs, then the segments, then the file (in that order: a crash
        leaves at most unreferenced xorbs, never a file whose chunks are missing). Blocking."""
        if self.full:
            return None
        meta, content, repository = self._cache._meta, self._cache._content, self._cache.repository
        names: list[str] = []
        for xorb in self._xorbs:
            name = hash_to_string(merkle_root([(h, n) for h, n, _, _ in xorb.chunks]))
            info = xorb.writer.commit(None, xorb.ser_len)
            content.reuse(info)  # registered, and checked against a concurrent collection
            raw_start = 0
            rows = []
            for i, (h, n, s0, s1) in enumerate(xorb.chunks):
                rows.append(XorbChunkRecord(i, hash_to_string(h), raw_start, n, s0, s1))
                raw_start += n
            record = XorbRecord(name, info.sha256, xorb.ser_len, xorb.raw_len, len(rows))
            meta.put_xorb(record, rows, repository)
            names.append(name)
        self._xorbs.clear()
        meta.put_upstream_segments(
            repository,
            [
                UpstreamSegmentRecord(
                    r.upstream_xorb, r.start, r.end, names[r.local], r.local_start
                )
                for r in self._runs
            ],
        )
        terms = tuple(
            XetTermRecord(names[x] if isinstance(x, int) else x, a, b, n)
            for x, a, b, n in self._terms
        )
        record_ = XetFileRecord(file_hash, sha256, size, terms)
        meta.put_xet_file(record_, repository)
        return record_

    def abort(self) -> None:
        """Discard every staged xorb (idempotent)."""
        for xorb in self._xorbs:
            xorb.writer.abort()
        self._xorbs.clear()
