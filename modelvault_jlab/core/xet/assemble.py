"""A Xet file's bytes, assembled from its terms' chunks in stored xorbs (blobs).

Two readers share one way of reading a term: the chunks' serialized span is read from the xorb
blob and decoded one chunk at a time, each checked against the length recorded when the xorb was
verified, so memory stays at one read piece plus one chunk (≤ 128 KiB) whatever the file size.

- :func:`iter_file` streams ``[start, end)`` sequentially (sha256 of a new upload, a bridge
  download, a range).
- :class:`TermsReader` is a seekable binary file over the same bytes (the scanner, and every
  ``BlobStore.open_reader`` caller through ``XetBlobStore``).
"""

from __future__ import annotations

import bisect
import io
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import BinaryIO

from ...errors import StorageError
from ...ids import Sha256
from ...storage.blobs import BlobStore
from ...storage.meta import XetStore
from ...storage.records import XetTermRecord, XorbChunkRecord
from .xorb import decode_chunk_view

READ_PIECE_BYTES = 1 << 20
"""Serialized bytes read from a xorb blob at a time."""
_OPEN_XORBS = 4
"""Xorb blobs a :class:`TermsReader` keeps open (a term switches xorbs; seeks come back)."""
_CACHED_TERMS = 8
"""Terms whose chunk lists a :class:`TermsReader` keeps (≤ 8192 small records each)."""


class XetContentError(StorageError):
    """A stored Xet file cannot be assembled: a xorb or chunk it needs is missing or damaged."""

    code = "XetContentMissing"


def term_offsets(terms: Sequence[XetTermRecord]) -> list[int]:
    """Start offset of each term in the file, plus the file size at the end."""
    out = [0]
    for t in terms:
        out.append(out[-1] + t.unpacked)
    return out


def check_term_chunks(term: XetTermRecord, chunks: Sequence[XorbChunkRecord]) -> None:
    """Raise XetContentError unless ``chunks`` are exactly the term's chunk rows (corrupt or
    missing metadata otherwise)."""
    if (
        len(chunks) != term.end - term.start
        or any(c.index != term.start + i for i, c in enumerate(chunks))
        or sum(c.raw_len for c in chunks) != term.unpacked
    ):
        raise XetContentError(
            f"Chunks [{term.start}, {term.end}) of xorb {term.xorb_hash} do not match a term."
        )


class _Terms:
    """Looks up a term's xorb blob and chunk records (the metadata side of both readers)."""

    def __init__(self, meta: XetStore) -> None:
        self._meta = meta
        self._chunks: OrderedDict[int, list[XorbChunkRecord]] = OrderedDict()

    def blob_of(self, term: XetTermRecord) -> Sha256:
        xorb = self._meta.get_xorb(term.xorb_hash)
        if xorb is None:
            raise XetContentError(f"Xorb {term.xorb_hash} of a Xet file is not stored.")
        return xorb.blob_sha256

    def chunks(self, term: XetTermRecord, index: int | None = None) -> list[XorbChunkRecord]:
        """The chunks of a term (cached under ``index``), checked against the term."""
        if index is not None and index in self._chunks:
            self._chunks.move_to_end(index)
            return self._chunks[index]
        chunks = self._meta.xorb_chunks(term.xorb_hash, term.start, term.end)
        check_term_chunks(term, chunks)
        if index is not None:
            self._chunks[index] = chunks
            if len(self._chunks) > _CACHED_TERMS:
                self._chunks.popitem(last=False)
        return chunks


def decoded_chunk(
    serialized: bytes | memoryview, chunk: XorbChunkRecord, xorb_hash: str
) -> bytes | memoryview:
    """One stored chunk's uncompressed bytes, checked against its row (a view into
    ``serialized`` when the chunk was stored uncompressed: no copy)."""
    try:
        raw = decode_chunk_view(serialized)
    except ValueError as exc:
        raise XetContentError(
            f"Chunk {chunk.index} of xorb {xorb_hash} is damaged: {exc}"
        ) from None
    if len(raw) != chunk.raw_len:
        raise XetContentError(f"Chunk {chunk.index} of xorb {xorb_hash} has the wrong length.")
    return raw


def _iter_chunks(
    blobs: BlobStore, blob: Sha256, xorb_hash: str, chunks: Sequence[XorbChunkRecord]
) -> Iterator[bytes]:
    """Decode consecutive chunks of one xorb, reading their serialized span in pieces."""
    if not chunks:
        return
    base = chunks[0].ser_start
    pieces = blobs.iter_range(blob, base, chunks[-1].ser_end, READ_PIECE_BYTES)
    buf = bytearray()
    try:
        for ch in chunks:
            if ch.ser_start != base:
                raise XetContentError(f"Chunks of xorb {xorb_hash} are not contiguous.")
            need = ch.ser_end - base
            while len(buf) < need:
                piece = next(pieces, None)
                if piece is None:
                    raise XetContentError(f"Xorb {xorb_hash} is shorter than its chunks.")
                buf += piece
            serialized = bytes(buf[:need])
            del buf[:need]
            base = ch.ser_end
            yield bytes(decoded_chunk(serialized, ch, xorb_hash))
    finally:
        pieces.close()


def iter_file(
    meta: XetStore,
    blobs: BlobStore,
    terms: Sequence[XetTermRecord],
    start: int = 0,
    end: int | None = None,
) -> Iterator[bytes]:
    """The uncompressed bytes ``[start, end)`` of a file made of ``terms``, in pieces of at most
    one chunk (``end=None``: to the end of the file).

    Raises:
        XetContentError: a xorb is missing or does not hold what the metadata says.
    """
    offsets = term_offsets(terms)
    stop = offsets[-1] if end is None else min(end, offsets[-1])
    if start >= stop:
        return
    lookup = _Terms(meta)
    first = bisect.bisect_right(offsets, start) - 1
    for i in range(first, len(terms)):
        term_start = offsets[i]
        if term_start >= stop:
            return
        term = terms[i]
        chunks = lookup.chunks(term)
        base_raw = chunks[0].raw_start if chunks else 0
        # Skip chunks that end before ``start`` without reading them.
        wanted = [c for c in chunks if term_start + c.raw_start - base_raw + c.raw_len > start]
        wanted = [c for c in wanted if term_start + c.raw_start - base_raw < stop]
        blob = lookup.blob_of(term)
        for ch, raw in zip(wanted, _iter_chunks(blobs, blob, term.xorb_hash, wanted), strict=True):
            at = term_start + ch.raw_start - base_raw
            lo, hi = max(0, start - at), min(len(raw), stop - at)
            yield raw if (lo, hi) == (0, len(raw)) else raw[lo:hi]


class TermsReader(io.RawIOBase):
    """A seekable, read-only binary file over a Xet file's bytes; decodes one chunk per read
    position change and keeps the last decoded chunk. Wrap it in ``io.BufferedReader`` (see
    :func:`open_terms`) for many small reads."""

    def __init__(self, meta: XetStore, blobs: BlobStore, terms: Sequence[XetTermRecord]) -> None:
        super().__init__()
        self._blobs = blobs
        self._terms = list(terms)
        self._offsets = term_offsets(self._terms)
        self._lookup = _Terms(meta)
        self._pos = 0
        self._chunk_at = -1  # file offset of the decoded chunk below
        self._chunk = b""
        self._readers: OrderedDict[Sha256, BinaryIO] = OrderedDict()

    @property
    def size(self) -> int:
        return self._offsets[-1]

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        pos = base + offset
        if pos < 0:
            raise ValueError("negative seek position")
        self._pos = pos
        return pos

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        if self._pos >= self.size or not len(buffer):
            return 0
        if not self._chunk_at <= self._pos < self._chunk_at + len(self._chunk):
            self._load(self._pos)
        lo = self._pos - self._chunk_at
        n = min(len(buffer), len(self._chunk) - lo)
        memoryview(buffer).cast("B")[:n] = self._chunk[lo : lo + n]
        self._pos += n
        return n

    def _load(self, pos: int) -> None:
        i = bisect.bisect_right(self._offsets, pos) - 1
        term = self._terms[i]
        chunks = self._lookup.chunks(term, i)
        base_raw = chunks[0].raw_start
        rel = pos - self._offsets[i]
        j = bisect.bisect_right([c.raw_start - base_raw for c in chunks], rel) - 1
        ch = chunks[j]
        reader = self._reader(self._lookup.blob_of(term))
        reader.seek(ch.ser_start)
        serialized = reader.read(ch.ser_end - ch.ser_start)
        if len(serialized) != ch.ser_end - ch.ser_start:
            raise XetContentError(f"Xorb {term.xorb_hash} is shorter than its chunks.")
        self._chunk = bytes(decoded_chunk(serialized, ch, term.xorb_hash))
        self._chunk_at = self._offsets[i] + ch.raw_start - base_raw

    def _reader(self, blob: Sha256) -> BinaryIO:
        if blob in self._readers:
            self._readers.move_to_end(blob)
            return self._readers[blob]
        reader = self._blobs.open_reader(blob)
        self._readers[blob] = reader
        if len(self._readers) > _OPEN_XORBS:
            self._readers.popitem(last=False)[1].close()
        return reader

    def close(self) -> None:
        for reader in self._readers.values():
            reader.close()
        self._readers.clear()
        super().close()


def open_terms(
    meta: XetStore, blobs: BlobStore, terms: Sequence[XetTermRecord], buffer_size: int = 1 << 16
) -> BinaryIO:
    """A buffered, seekable binary file over a Xet file's bytes (positioned at 0)."""
    return io.BufferedReader(TermsReader(meta, blobs, terms), buffer_size)  # type: ignore[return-value]
