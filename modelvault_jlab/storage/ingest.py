"""A blob writer fed through a ring of reusable buffers, with receiving, hashing and storing
overlapping in three threads.

The producer (a thread reading a socket) takes a free buffer with :meth:`IngestPipeline.acquire`,
fills it (``readinto``: no copy, no new object per piece) and hands it on with
:meth:`~IngestPipeline.commit`. A hashing thread runs sha256 (and any extra digests, e.g. a git
blob's sha1) over it, a storing thread writes it to the blob's temp file; the buffer then goes
back to the ring. ``hashlib`` and file writes release the GIL on large buffers, so on two cores
the three stages really run at once, and memory is the ring (``buffers * buffer_bytes``) however
large the file.

Bytes are stored in order, and ``on_stored(total)`` reports the length of the file's final prefix
after each piece (stream-through hands that prefix to waiting clients). A failure in any stage
stops the others: :meth:`acquire` and :meth:`finish` raise it, and nothing is published (the
caller aborts the writer).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import BinaryIO, Protocol

from ..errors import StorageError
from .blobs import BlobWriter

# 1 MiB pieces: a piece is still in the CPU's cache when the next stage reads it. With 4 MiB
# pieces a micro-benchmark (page cache to blob, 512 MiB) spent 1.1-1.8 CPU-s, with 1 MiB or
# 256 KiB 0.7-0.9 s (bench/README.md, "line rate").
DEFAULT_BUFFERS = 8
DEFAULT_BUFFER_BYTES = 1 << 20


class Digest(Protocol):
    def update(self, data: bytes | memoryview, /) -> None: ...


class PieceSink(Protocol):
    """Where a producer puts bytes: take a buffer, fill a prefix of it, commit that prefix."""

    def acquire(self) -> memoryview: ...

    def commit(self, length: int) -> None: ...


ReadInto = Callable[[PieceSink], Awaitable[None]]
"""A body's other way out: its reader fills the sink's buffers; returns once all is committed."""


class PipelineAbortedError(Exception):
    """The pipeline was stopped (its consumer went away, or a stage failed)."""


_Piece = tuple[bytearray, int] | None
"""A buffer and how many of its bytes are data; None ends the stream."""


class IngestPipeline:
    """Receive → hash → store for one blob writer. Use from one producer thread; :meth:`finish`
    or :meth:`abort` exactly once at the end (any thread)."""

    def __init__(
        self,
        writer: BlobWriter,
        *,
        digests: Sequence[Digest] = (),
        on_stored: Callable[[int], None] | None = None,
        buffers: int = DEFAULT_BUFFERS,
        buffer_bytes: int = DEFAULT_BUFFER_BYTES,
    ) -> None:
        self._writer = writer
        self._digests = tuple(digests)
        self._on_stored = on_stored
        self._buffer_bytes = buffer_bytes
        self._free: queue.SimpleQueue[bytearray | None] = queue.SimpleQueue()
        self._allocated = 0
        self._max_buffers = buffers
        self._to_hash: queue.SimpleQueue[_Piece] = queue.SimpleQueue()
        self._to_store: queue.SimpleQueue[_Piece] = queue.SimpleQueue()
        self._current: bytearray | None = None
        self.error: BaseException | None = None
        self._aborted = False
        self.stored = 0
        self._threads = [
            threading.Thread(target=self._hash_loop, name="modelvault-ingest-hash", daemon=True),
            threading.Thread(target=self._store_loop, name="modelvault-ingest-store", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    # -- the producer ----------------------------------------------------------------------------

    def acquire(self) -> memoryview:
        """A free buffer to fill (blocks while every buffer is in flight: backpressure)."""
        if self._current is not None:
            raise RuntimeError("acquire twice without commit")
        buffer: bytearray | None
        if self._allocated < self._max_buffers and self._free.empty():
            buffer = bytearray(self._buffer_bytes)
            self._allocated += 1
        else:
            buffer = self._free.get()
        if buffer is None or self._aborted:
            raise PipelineAbortedError(self._reason())
        self._current = buffer
        return memoryview(buffer)

    def try_acquire(self) -> memoryview | None:
        """A free buffer if one is at hand, else None (never blocks: for an event loop)."""
        if self.has_free():
            return self.acquire()
        return None

    def has_free(self) -> bool:
        """Whether :meth:`acquire` would return at once (an event loop asks before it calls)."""
        return self._allocated < self._max_buffers or not self._free.empty()

    def write(self, data: bytes | memoryview) -> None:
        """Producer side, for bytes that are already in memory (e.g. parsed out of a multipart
        body): copied into ring buffers (one ``memcpy``) and handed on. Blocks while every
        buffer is in flight."""
        view = memoryview(data)
        while view:
            buffer = self.acquire()
            n = min(len(buffer), len(view))
            buffer[:n] = view[:n]
            self.commit(n)
            view = view[n:]

    def commit(self, length: int) -> None:
        """Hand on the first ``length`` bytes of the buffer :meth:`acquire` returned."""
        buffer, self._current = self._current, None
        if buffer is None:
            raise RuntimeError("commit without acquire")
        if length <= 0:
            self._free.put(buffer)
            return
        self._to_hash.put((buffer, length))

    def feed_from(self, reader: BinaryIO) -> int:
        """Producer side: read ``reader`` to its end into the pipeline (blocks); bytes read."""
        total = 0
        while True:
            buffer = self.acquire()
            try:
                n = reader.readinto(buffer) or 0  # type: ignore[attr-defined]  # files have it
            except BaseException:
                self.commit(0)
                raise
            self.commit(n)
            if not n:
                return total
            total += n

    def finish(self) -> int:
        """Wait until every committed byte is hashed and stored; the total. Blocks.

        Raises:
            StorageError (or what a stage raised): a stage failed; nothing may be published.
        """
        self._to_hash.put(None)
        for thread in self._threads:
            thread.join()
        if self.error is not None:
            raise self.error
        if self._aborted:
            raise PipelineAbortedError(self._reason())
        return self.stored

    def abort(self, *, wait: float = 0.0) -> None:
        """Stop every stage; a blocked :meth:`acquire` raises. ``wait``: seconds to wait for the
        stages to stop (they finish at most the piece they are on) — the writer must not be
        aborted (its file closed) while a stage may still use it."""
        self._aborted = True
        self._free.put(None)
        self._to_hash.put(None)
        self._to_store.put(None)
        for thread in self._threads:
            if wait > 0 and thread is not threading.current_thread():
                thread.join(wait)

    # -- the stages --------------------------------------------------------------------------

    def _fail(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc
        self.abort()

    def _reason(self) -> str:
        return f"ingest stopped: {self.error}" if self.error is not None else "ingest aborted"

    def _hash_loop(self) -> None:
        try:
            while (piece := self._to_hash.get()) is not None and not self._aborted:
                buffer, length = piece
                view = memoryview(buffer)[:length]
                self._writer.hash_piece(view)
                for digest in self._digests:
                    digest.update(view)
                self._to_store.put(piece)
        except BaseException as exc:
            self._fail(exc)
        finally:
            self._to_store.put(None)

    def _store_loop(self) -> None:
        try:
            while (piece := self._to_store.get()) is not None and not self._aborted:
                buffer, length = piece
                self._writer.store_piece(memoryview(buffer)[:length])
                self.stored += length
                self._free.put(buffer)
                if self._on_stored is not None:
                    self._on_stored(self.stored)
        except OSError as exc:
            self._fail(StorageError(f"writing the blob failed: {exc.strerror or exc}"))
        except BaseException as exc:
            self._fail(exc)


__all__ = ["Digest", "IngestPipeline", "PieceSink", "PipelineAbortedError", "ReadInto"]
