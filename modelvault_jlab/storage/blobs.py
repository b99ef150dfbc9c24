"""The content-addressed ``BlobStore`` interface and its writer.

Blobs and metadata (:mod:`.meta`) are separate so that a deployment can put blobs on S3 and
metadata on PostgreSQL independently. Domain services depend only on these ABCs; the composition
root (``modelvault_jlab.bootstrap``) picks the implementations.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Generator, Sequence
from types import TracebackType
from typing import BinaryIO, Self

from ..errors import DigestMismatchError, SizeMismatchError
from ..ids import Sha256
from .records import BlobInfo


class BlobWriter(ABC):
    """Receives a blob as a stream of chunks, hashing as it goes.

    Nothing becomes visible until :meth:`commit` has verified the digest and size, made the bytes
    durable and published them atomically. Leaving the context manager without a commit (an
    exception, a dropped connection) discards everything written.

    ``expected_sha256``, when the caller knows it up front (an LFS upload, a mirrored LFS file),
    is checked at commit like an ``expected_sha256`` given there, and lets a store write straight
    to the blob's final place (S3: a multipart upload that stays invisible until completed).
    """

    def __init__(self, expected_sha256: Sha256 | None = None) -> None:
        self._hash = hashlib.sha256()
        self.bytes_written = 0
        self.expected_sha256 = expected_sha256

    def write(self, data: bytes | memoryview) -> None:
        self.hash_piece(data)
        self.store_piece(data)

    # A pipeline (:mod:`.ingest`) runs the two halves of ``write`` in different threads, in order.
    def hash_piece(self, data: bytes | memoryview) -> None:
        self._hash.update(data)

    def store_piece(self, data: bytes | memoryview) -> None:
        self.bytes_written += len(data)
        self._write(data)

    @property
    def sha256(self) -> Sha256:
        return Sha256(self._hash.hexdigest())

    @abstractmethod
    def _write(self, data: bytes | memoryview) -> None: ...

    def verify(
        self, expected_sha256: str | None = None, expected_size: int | None = None
    ) -> BlobInfo:
        """Check what was written so far against the expectations, publishing nothing.

        Raises:
            DigestMismatchError, SizeMismatchError.
        """
        sha = self.sha256
        expected_sha256 = expected_sha256 or self.expected_sha256
        if expected_size is not None and self.bytes_written != expected_size:
            raise SizeMismatchError(
                f"Size mismatch: expected {expected_size} bytes, received {self.bytes_written}.",
                expected=expected_size,
                actual=self.bytes_written,
            )
        if expected_sha256 is not None and sha != expected_sha256:
            raise DigestMismatchError(
                f"Digest mismatch: expected sha256 {expected_sha256}, content hashes to {sha}.",
                expected=expected_sha256,
                actual=sha,
            )
        return BlobInfo(sha, self.bytes_written)

    @abstractmethod
    def commit(
        self, expected_sha256: str | None = None, expected_size: int | None = None
    ) -> BlobInfo:
        """Verify and publish the blob.

        Raises:
            DigestMismatchError: the content does not hash to ``expected_sha256``.
            SizeMismatchError: fewer or more bytes than ``expected_size`` arrived.
        """

    @abstractmethod
    def abort(self) -> None:
        """Discard what was written. Idempotent."""

    def open_partial(self) -> BinaryIO:
        """A reader of the bytes written so far (stream-through to other clients).

        The reader stays valid after :meth:`commit`; after :meth:`abort` its reads may fail.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot be read while it is written")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.abort()


class BlobStore(ABC):
    """Immutable blobs addressed by their sha256. Identical content is stored once."""

    reads_wait_on_network = False
    """True when a read may wait on the network (object stores): callers on an event loop then
    read in a worker thread; local files (page cache) are read in place, which is faster."""

    @abstractmethod
    def open_writer(self, expected_sha256: Sha256 | None = None) -> BlobWriter:
        """A writer for a new blob (``expected_sha256``: see :class:`BlobWriter`)."""

    @abstractmethod
    def exists(self, sha256: Sha256) -> bool: ...

    @abstractmethod
    def size(self, sha256: Sha256) -> int:
        """Raises BlobNotFoundError."""

    @abstractmethod
    def open_reader(self, sha256: Sha256) -> BinaryIO:
        """A seekable binary file positioned at 0. Raises BlobNotFoundError."""

    @abstractmethod
    def delete(self, sha256: Sha256) -> None: ...

    @abstractmethod
    def cleanup_incomplete(self) -> int:
        """Remove what interrupted writers left behind; returns how many were removed."""

    def close(self) -> None:  # noqa: B027 - optional hook, most stores hold nothing
        """Release connections and worker threads (a no-op for local files)."""

    def presigned_url(self, sha256: Sha256, expires_seconds: int) -> str | None:
        """A URL that serves the blob without passing through this process, if the store can."""
        return None

    def put_bytes(self, data: bytes) -> BlobInfo:
        """Store a small in-memory value (commit inline content, manifests)."""
        with self.open_writer() as writer:
            writer.write(data)
            return writer.commit()

    def put_many(self, values: Sequence[bytes]) -> list[BlobInfo]:
        """Store many small values; a store may make the batch durable at once (cheaper than one
        flush per value). Override with a more efficient version where the backend allows."""
        return [self.put_bytes(v) for v in values]

    def iter_range(
        self, sha256: Sha256, start: int, end: int, chunk_size: int
    ) -> Generator[bytes, None, None]:
        """Yield bytes ``[start, end)`` in chunks without holding more than one in memory."""
        with self.open_reader(sha256) as f:
            f.seek(start)
            remaining = end - start
            while remaining > 0:
                chunk = f.read(min(chunk_size, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                yield chunk
