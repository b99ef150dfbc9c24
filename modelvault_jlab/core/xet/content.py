"""Xet files as blobs: :class:`XetBlobStore` serves a registered Xet file's sha256 by
reconstructing it from the stored xorbs, so every reader of blobs (the resolve bridge with
Range, the scanner, bundles, mirrors) works for Xet files unchanged.

Readers are :mod:`.assemble`'s: seekable (a seek maps the offset to a term, then to a chunk of
that term's xorb), one chunk (at most 128 KiB) decompressed at a time, so memory stays bounded
whatever the file size; ranges stream sequentially.
Writers, deletion and presigned URLs go to the real store (a Xet file has no object to presign).
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import BinaryIO

from ...errors import BlobNotFoundError
from ...ids import Sha256
from ...storage.blobs import BlobStore, BlobWriter
from ...storage.meta import XetStore
from ...storage.records import BlobInfo, XetFileRecord
from .assemble import iter_file, open_terms


class XetBlobStore(BlobStore):
    """The real store, plus registered Xet files readable by their sha256."""

    def __init__(self, inner: BlobStore, xet: XetStore) -> None:
        self.inner = inner
        self._xet = xet
        self.reads_wait_on_network = inner.reads_wait_on_network

    def virtual(self, sha256: Sha256) -> XetFileRecord | None:
        """The Xet file whose content is ``sha256``, unless the real store holds the bytes.
        The registry (one indexed query) is asked first: most blobs are not Xet files, and on
        an object store ``exists`` is a network round trip."""
        record = self._xet.xet_file_for_sha256(sha256)
        if record is None or self.inner.exists(sha256):
            return None
        return record

    # -- reading --
    def exists(self, sha256: Sha256) -> bool:
        return self.inner.exists(sha256) or self._xet.xet_file_for_sha256(sha256) is not None

    def size(self, sha256: Sha256) -> int:
        try:
            return self.inner.size(sha256)
        except BlobNotFoundError:
            record = self._xet.xet_file_for_sha256(sha256)
            if record is None:
                raise
            return record.size

    def open_reader(self, sha256: Sha256) -> BinaryIO:
        try:
            return self.inner.open_reader(sha256)
        except BlobNotFoundError:
            record = self._xet.xet_file_for_sha256(sha256)
            if record is None:
                raise
            return open_terms(self._xet, self.inner, record.terms)

    def iter_range(
        self, sha256: Sha256, start: int, end: int, chunk_size: int
    ) -> Generator[bytes, None, None]:
        record = self.virtual(sha256)
        if record is None:
            yield from self.inner.iter_range(sha256, start, end, chunk_size)
            return
        # Sequential: decoded chunk by chunk (≤ 128 KiB), regrouped into ``chunk_size`` pieces.
        buffer = bytearray()
        for piece in iter_file(self._xet, self.inner, record.terms, start, end):
            buffer += piece
            if len(buffer) >= chunk_size:
                yield bytes(buffer)
                buffer.clear()
        if buffer:
            yield bytes(buffer)

    def presigned_url(self, sha256: Sha256, expires_seconds: int) -> str | None:
        if self.virtual(sha256) is not None:
            return None  # a Xet file: no object to presign, it is served reconstructed
        return self.inner.presigned_url(sha256, expires_seconds)

    # -- writing: the real store --
    def open_writer(self, expected_sha256: Sha256 | None = None) -> BlobWriter:
        return self.inner.open_writer(expected_sha256)

    def delete(self, sha256: Sha256) -> None:
        self.inner.delete(sha256)

    def cleanup_incomplete(self) -> int:
        return self.inner.cleanup_incomplete()

    def close(self) -> None:
        self.inner.close()

    def put_bytes(self, data: bytes) -> BlobInfo:
        return self.inner.put_bytes(data)

    def put_many(self, values: Sequence[bytes]) -> list[BlobInfo]:
        return self.inner.put_many(values)
