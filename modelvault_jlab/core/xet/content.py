"""Xet files as blobs: :class:`XetBlobStore` serves a registered Xet file's sha256 by
reconstructing it from the stored xorbs, so every reader of blobs (the resolve bridge with
Range, the scanner, bundles, mirrors) works for Xet files unchanged.

A reader is seekable: a seek maps the offset to a term, then to a chunk of that term's xorb; one
chunk (at most 128 KiB) is decompressed at a time, so memory stays bounded whatever the file size.
Writers, deletion and presigned URLs go to the real store (a Xet file has no object to presign).
"""

from __future__ import annotations

import bisect
import io
from collections.abc import Generator, Sequence
from typing import BinaryIO

from ...errors import BlobNotFoundError, StorageError
from ...ids import Sha256
from ...storage.blobs import BlobStore, BlobWriter
from ...storage.meta import XetStore
from ...storage.records import BlobInfo, XetFileRecord, XorbChunkRecord
from .reconstruction import FileLayout, term_chunks
from .xorb import decode_chunk

READ_AHEAD_BYTES = 1 << 20
"""Serialized bytes read from a xorb at once (consecutive chunks of a term are contiguous)."""


class XetBlobStore(BlobStore):
    """The real store, plus registered Xet files readable by their sha256."""

    def __init__(self, inner: BlobStore, xet: XetStore) -> None:
        self.inner = inner
        self._xet = xet
        self.reads_wait_on_network = inner.reads_wait_on_network

    def virtual(self, sha256: Sha256) -> XetFileRecord | None:
        """The Xet file whose content is ``sha256``, unless the real store holds the bytes."""
        if self.inner.exists(sha256):
            return None
        return self._xet.xet_file_for_sha256(sha256)

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
            return XetFileReader(record, self._xet, self.inner)  # type: ignore[return-value]

    def iter_range(
        self, sha256: Sha256, start: int, end: int, chunk_size: int
    ) -> Generator[bytes, None, None]:
        if self.virtual(sha256) is None:
            yield from self.inner.iter_range(sha256, start, end, chunk_size)
        else:
            yield from super().iter_range(sha256, start, end, chunk_size)

    def presigned_url(self, sha256: Sha256, expires_seconds: int) -> str | None:
        if not self.inner.exists(sha256):
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


class XetFileReader(io.RawIOBase):
    """A seekable reader of a Xet file's bytes, one decompressed chunk in memory at a time."""

    def __init__(self, record: XetFileRecord, xet: XetStore, blobs: BlobStore) -> None:
        super().__init__()
        self._record = record
        self._xet = xet
        self._blobs = blobs
        self._layout = FileLayout(record)
        self._pos = 0
        self._term = -1
        self._rows: Sequence[XorbChunkRecord] = ()
        self._row_starts: list[int] = []
        self._chunk: tuple[str, int, bytes] | None = None  # (xorb, index, raw bytes)
        self._xorb: tuple[str, BinaryIO, int] | None = None  # (xorb, reader, serialized length)
        self._ahead: tuple[int, bytes] = (0, b"")  # serialized bytes read ahead, at offset

    # -- io.RawIOBase --
    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._record.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view) and self._pos < self._record.size:
            data, offset = self._chunk_at(self._pos)
            n = min(len(view) - filled, len(data) - offset)
            view[filled : filled + n] = data[offset : offset + n]
            filled += n
            self._pos += n
        return filled

    def close(self) -> None:
        if self._xorb is not None:
            self._xorb[1].close()
            self._xorb = None
        self._chunk = None
        super().close()

    # -- chunks --
    def _chunk_at(self, pos: int) -> tuple[bytes, int]:
        """The decompressed chunk holding file byte ``pos`` and ``pos``'s offset in it."""
        term_index = self._layout.term_at(pos)
        if term_index != self._term:
            term = self._record.terms[term_index]
            self._rows = term_chunks(self._xet.xorb_chunks, term)
            base = self._rows[0].raw_start
            self._row_starts = [r.raw_start - base for r in self._rows]
            self._term = term_index
        in_term = pos - self._layout.offsets[term_index]
        row = self._rows[bisect.bisect_right(self._row_starts, in_term) - 1]
        offset = in_term - (row.raw_start - self._rows[0].raw_start)
        xorb = self._record.terms[term_index].xorb_hash
        if self._chunk is None or self._chunk[:2] != (xorb, row.index):
            raw = decode_chunk(self._serialized(xorb, row))
            if len(raw) != row.raw_len:
                raise StorageError(f"Xorb {xorb} chunk {row.index} has the wrong length.")
            self._chunk = (xorb, row.index, raw)
        return self._chunk[2], offset

    def _serialized(self, xorb: str, row: XorbChunkRecord) -> bytes:
        """Serialized bytes ``[ser_start, ser_end)`` of a chunk, read ahead up to 1 MiB."""
        if self._xorb is None or self._xorb[0] != xorb:
            record = self._xet.get_xorb(xorb)
            if record is None:
                raise StorageError(f"Xorb {xorb} of a registered Xet file is missing.")
            if self._xorb is not None:
                self._xorb[1].close()
            self._xorb = (xorb, self._blobs.open_reader(record.blob_sha256), record.serialized_len)
            self._ahead = (0, b"")
        at, data = self._ahead
        if not (at <= row.ser_start and row.ser_end <= at + len(data)):
            length = max(row.ser_end - row.ser_start, READ_AHEAD_BYTES)
            length = min(length, self._xorb[2] - row.ser_start)
            reader = self._xorb[1]
            reader.seek(row.ser_start)
            data = _read_exactly(reader, length)
            if len(data) < row.ser_end - row.ser_start:
                raise StorageError(f"Xorb {xorb} is truncated in storage.")
            self._ahead = at, data = row.ser_start, data
        return data[row.ser_start - at : row.ser_end - at]


def _read_exactly(reader: BinaryIO, length: int) -> bytes:
    parts = []
    while length > 0:
        part = reader.read(length)
        if not part:
            break
        parts.append(part)
        length -= len(part)
    return b"".join(parts)
