"""Stream-through with single flight: one upstream transfer per file, read by every client while
it is written.

The first request for an uncached file starts a *flight*: a task that streams the upstream body
into a blob writer. Every client of that file — the first and any that arrive meanwhile — reads the
bytes from the writer's partial file as they land, so the first bytes go out long before the
transfer ends and N concurrent misses cause exactly one upstream download.

The last byte of the file is held back until the flight verified the content (digest and size)
and published the blob. A transfer that breaks or fails verification therefore never hands any
client a complete-looking file: the client's connection is cut short and it reports an error, and
nothing enters the cache.

Across replicas (several processes on one metadata store and blob store), a flight first takes
the lease ``fetch:<key>`` (:mod:`.leases`). A replica that finds it taken waits for the holder to
publish the blob and then serves the stored copy, judged by the gate like a fresh transfer; if
the holder dies, its lease expires and a waiting replica takes over. A follower that waited
``Leases.wait_seconds`` without a result fetches the file itself, because its client (whose read
timeout is 10 s for huggingface_hub) receives nothing while it waits. On a shared blob folder the
waiting replica streams the holder's partial file instead (:mod:`.replica_follow`, through
``StreamThrough.follower``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from ..errors import StorageError, UpstreamError, UpstreamUnavailableError, VaultError
from ..ids import Sha256
from ..storage.blobs import BlobStore, BlobWriter
from ..storage.ingest import Digest, IngestPipeline, PipelineAbortedError, ReadInto
from ..storage.records import BlobInfo
from .content import ContentStore
from .leases import Leases, optional

log = logging.getLogger(__name__)


class Flight:
    """One upstream transfer in progress."""

    def __init__(self, key: str, size: int | None, writer: BlobWriter, blobs: BlobStore) -> None:
        self.key = key
        self._blobs = blobs
        self.size = size
        """Expected length; None until the upstream announces it (or never, if it does not)."""
        self.writer = writer
        self.written = 0
        self.verified: BlobInfo | None = None
        """Set once the content checked out (and passed the gate): the last byte may go out."""
        self.result: BlobInfo | None = None
        """Set once the blob is published in the store."""
        self.error: VaultError | None = None
        self.adopted = False
        """True when another replica transferred the content: the stored blob is read."""
        self.started_at = time.time()
        self.subjects: list[tuple[str, str]] = []
        """(repository, path) of each file this transfer serves, for the activity view."""
        loop = asyncio.get_running_loop()
        self.started: asyncio.Future[None] = loop.create_future()
        self._progress = asyncio.Event()
        self.follow_partial: Callable[[], BinaryIO] | None = None
        """Set while another replica writes the bytes (:mod:`.replica_follow`): opens its file."""

    async def write(self, chunk: bytes) -> None:
        # Hashing and writing run in a worker thread (hashlib releases the GIL), so a cold
        # transfer does not hold the event loop that every other request shares.
        await asyncio.to_thread(self.writer.write, chunk)
        self.written += len(chunk)
        self._notify()

    async def ingest(self, read_into: ReadInto, digests: Sequence[Digest] = ()) -> None:
        """Receive the whole body through a pipeline (:mod:`..storage.ingest`): the upstream's
        reading thread fills reusable buffers, sha256 (and ``digests``) and the file write run in
        two more threads, and waiting clients see the file grow, all off the event loop.

        Raises:
            What ``read_into`` raises (the upstream failed), or StorageError (writing failed).
        """
        loop = asyncio.get_running_loop()
        pending = threading.Event()  # a wake-up of the loop is on its way

        def advance() -> None:  # on the loop
            pending.clear()
            self._advance(pipeline.stored)

        def stored(total: int) -> None:  # in the storing thread
            # One wake-up at a time: each costs the storing thread a trip for the GIL (6 ms
            # per piece in a profile of a loaded machine), and the loop reads the latest total.
            if not pending.is_set():
                pending.set()
                with contextlib.suppress(RuntimeError):  # the loop closed: nobody is reading
                    loop.call_soon_threadsafe(advance)

        pipeline = IngestPipeline(self.writer, digests=digests, on_stored=stored)
        try:
            await read_into(pipeline)
            total = await asyncio.to_thread(pipeline.finish)
        except BaseException as exc:
            # Waits for the piece in hand (milliseconds): the caller then aborts the writer.
            pipeline.abort(wait=10.0)
            if pipeline.error is not None and isinstance(exc, PipelineAbortedError | VaultError):
                # The reader stopped because a stage failed: that failure is the cause.
                cause = pipeline.error
                raise (
                    cause if isinstance(cause, VaultError) else StorageError(str(cause))
                ) from None
            raise
        self._advance(total)

    def _advance(self, total: int) -> None:
        if total > self.written:
            self.written = total
            self._notify()

    def release(self, info: BlobInfo) -> None:
        """The content is verified (and judged): clients may have the last byte now, before the
        blob is made durable and published, which a client does not need to wait for."""
        self.verified = info
        self._notify()

    async def publish(
        self, content: ContentStore, expected_sha256: str | None, expected_size: int | None
    ) -> BlobInfo:
        """Verify and publish what was written (the final fsync runs off the event loop too)."""
        return await asyncio.to_thread(content.finish, self.writer, expected_sha256, expected_size)

    def adopt(self, info: BlobInfo) -> None:
        """Another replica stored (and the gate admitted) the content: serve the stored blob."""
        self.writer.abort()
        self.adopted = True
        self.size = self.written = info.size
        self.verified = info
        self.mark_started()
        self._notify()

    def advance(self, written: int) -> None:
        """Another replica's partial file grew to ``written`` bytes (:mod:`.replica_follow`)."""
        self.written = written
        self._notify()

    def _notify(self) -> None:
        event, self._progress = self._progress, asyncio.Event()
        event.set()

    def mark_started(self) -> None:
        if not self.started.done():
            self.started.set_result(None)

    async def wait(self) -> BlobInfo:
        """The stored blob, once published. Raises the transfer's error otherwise."""
        while True:
            progress = self._progress
            if self.error is not None:
                raise self.error
            if self.result is not None:
                return self.result
            await progress.wait()

    def finish(self, result: BlobInfo | None, error: VaultError | None) -> None:
        self.result, self.error = result, error
        if result is not None and self.verified is None:
            self.verified = result
        if not self.started.done():
            if error is not None:
                self.started.set_exception(error)
            else:
                self.started.set_result(None)
        self._notify()

    async def read(self, start: int, end: int | None, chunk_size: int) -> AsyncIterator[bytes]:
        """Bytes ``[start, end)`` (``end=None``: to the end) as they are written; the final byte
        only once verified.

        Raises:
            UpstreamError: the transfer failed or did not verify (the client must be cut off).
        """
        reader = await self.open()
        with reader:
            async for offset, length in self.regions(start, end):
                reader.seek(offset)
                while length > 0:
                    data = reader.read(min(chunk_size, length))
                    if not data:
                        raise UpstreamUnavailableError("The cached copy vanished mid-read.")
                    length -= len(data)
                    yield data

    async def regions(self, start: int, end: int | None) -> AsyncIterator[tuple[int, int]]:
        """``(offset, length)`` of each stretch of ``[start, end)`` as it becomes final in the file
        :meth:`open` returns (so a caller may hand it to the kernel); the final byte only once
        verified. Raises like :meth:`read`."""
        pos = start
        while end is None or pos < end:
            progress = self._progress
            verified = self.verified is not None
            if self.error is not None and not verified:
                raise self.error
            if verified and end is None:
                end = self.written
                continue
            held_back = self.written - 1 if self.size is None else self.size - 1
            available = self.written if verified else min(self.written, held_back)
            if pos < available:
                stop = available if end is None else min(available, end)
                yield pos, stop - pos
                pos = stop
            elif verified:
                raise UpstreamUnavailableError(
                    f"Upstream transfer ended at {self.written} of {self.size} bytes."
                )
            else:
                await progress.wait()

    async def open(self) -> BinaryIO:
        """The partial file; once it has been published (renamed), the stored blob."""
        if self.adopted and self.verified is not None:
            return self._blobs.open_reader(self.verified.sha256)
        if self.follow_partial is not None:
            return self.follow_partial()
        try:
            return self.writer.open_partial()
        except FileNotFoundError:
            # Published (or abandoned) between join and open: wait for the outcome.
            info = await self.wait()
            return self._blobs.open_reader(info.sha256)


Fetch = Callable[[Flight], Awaitable[BlobInfo]]
Stored = Callable[[], BlobInfo | None]
"""A quick lookup: the blob, once some replica published the content (and what it indexes)."""
Admit = Callable[[BlobInfo], Awaitable[None]]
"""The gate on a blob another replica stored; raises PolicyError to refuse it."""


async def adopt_stored(flight: Flight, info: BlobInfo, admit: Admit | None) -> BlobInfo:
    """Serve ``info``, which another replica stored, once the gate admitted it."""
    if admit is not None:  # judged before any (further) byte, as a cached file would be
        await admit(info)
    flight.adopt(info)
    return info


class FollowerHook(Protocol):
    """Fetch under the replica-wide lease, or follow the transfer of the replica holding it."""

    async def fetch_once(
        self, flight: Flight, fetch: Fetch, stored: Stored, admit: Admit | None
    ) -> BlobInfo: ...


class StreamThrough:
    """The flights in progress in this process, by content key."""

    def __init__(self, content: ContentStore, leases: Leases | None = None) -> None:
        self._content = content
        self._leases = leases
        self.follower: FollowerHook | None = None
        """Replaces the wait for another replica's transfer (:mod:`.replica_follow`)."""
        self._flights: dict[str, Flight] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.transfers_started = 0
        self.on_finish: list[Callable[[Flight], None]] = []
        """Called with each flight once its task ended (the activity view keeps failures)."""

    @property
    def leases(self) -> Leases | None:
        """The replica-wide leases (None: this process is alone with its stores)."""
        return self._leases

    def snapshot(self) -> list[Flight]:
        """The flights in progress now (for reading their progress; do not act on them)."""
        return list(self._flights.values())

    def join(
        self,
        key: str,
        size: int | None,
        fetch: Fetch,
        subject: tuple[str, str] | None = None,
        *,
        stored: Stored | None = None,
        admit: Admit | None = None,
    ) -> Flight:
        """The flight for ``key``, started with ``fetch`` if none is running. ``subject``
        (repository, path) labels it in the activity view. With ``stored``, the transfer is
        single flight across replicas too (``admit`` judges a blob another replica stored)."""
        flight = self._flights.get(key)
        if flight is not None:
            if subject is not None and subject not in flight.subjects:
                flight.subjects.append(subject)
            return flight
        flight = Flight(key, size, self._content.writer(), self._content.blobs)
        self._flights[key] = flight
        self.transfers_started += 1
        task = asyncio.create_task(self._run(flight, fetch, stored, admit))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if subject is not None:
            flight.subjects.append(subject)
        if self.on_finish:
            task.add_done_callback(lambda _task: [listen(flight) for listen in self.on_finish])
        return flight

    async def _run(
        self, flight: Flight, fetch: Fetch, stored: Stored | None, admit: Admit | None
    ) -> None:
        try:
            info = await self._fetch_once(flight, fetch, stored, admit)
        except BaseException as exc:
            flight.writer.abort()
            error = (
                exc
                if isinstance(exc, VaultError)
                else UpstreamUnavailableError(
                    f"The upstream transfer failed ({type(exc).__name__}); nothing was cached."
                )
            )
            log.warning("Stream-through of %s failed, nothing cached: %s", flight.key, error)
            flight.finish(None, error)
            if isinstance(exc, asyncio.CancelledError):
                raise
        else:
            flight.finish(info, None)
        finally:
            self._flights.pop(flight.key, None)

    async def _fetch_once(
        self, flight: Flight, fetch: Fetch, stored: Stored | None, admit: Admit | None
    ) -> BlobInfo:
        """Fetch under the replica-wide lease, or serve what the replica holding it stores."""
        if self._leases is None or stored is None:
            return await fetch(flight)
        if self.follower is not None:  # streams another replica's partial file (shared folder)
            return await self.follower.fetch_once(flight, fetch, stored, admit)
        turn = await self._leases.follow(f"fetch:{flight.key}", stored)
        if turn.result is not None:
            return await adopt_stored(flight, turn.result, admit)
        with optional(turn.lease):  # renewed while the transfer runs
            return await fetch(flight)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task


@dataclass
class LocalRegions:
    """A body as stretches of a local file, for the kernel to copy to a socket (``sendfile``)."""

    file: BinaryIO
    regions: AsyncIterator[tuple[int, int]]
    """``(offset, length)`` in order; raises mid-way like :meth:`ContentStream.chunks`."""

    async def aclose(self) -> None:
        closer = getattr(self.regions, "aclose", None)
        if closer is not None:
            await closer()
        self.file.close()


def _has_descriptor(file: BinaryIO) -> bool:
    try:
        file.fileno()
    except (OSError, ValueError):  # io.UnsupportedOperation is both
        return False
    return True


class ContentStream:
    """A file's bytes, opened before any response header is sent (so errors stay clean)."""

    def __init__(self, blobs: BlobStore, sha256: Sha256 | None, flight: Flight | None) -> None:
        self._blobs = blobs
        self._sha256 = sha256
        self._flight = flight

    @property
    def cached(self) -> bool:
        return self._flight is None

    async def local_regions(self, start: int, end: int) -> LocalRegions | None:
        """``[start, end)`` as stretches of a local file (a stored blob on disk, or the partial
        file of a stream-through), or None when the bytes are not in one (an object store).

        Raises:
            StorageError: the stored blob is shorter than recorded (before anything is sent).
        """
        if self._flight is not None:
            file = await self._flight.open()
            if not _has_descriptor(file):
                file.close()
                return None
            return LocalRegions(file, self._flight.regions(start, end))
        assert self._sha256 is not None
        if self._blobs.reads_wait_on_network:
            return None
        file = self._blobs.open_reader(self._sha256)
        if not _has_descriptor(file):
            file.close()
            return None
        if os.fstat(file.fileno()).st_size < end:  # never pad or pretend
            file.close()
            raise StorageError(f"blob {self._sha256} is truncated in storage")

        async def whole() -> AsyncIterator[tuple[int, int]]:
            yield start, end - start

        return LocalRegions(file, whole())

    async def chunks(self, start: int, end: int, chunk_size: int) -> AsyncIterator[bytes]:
        """Raises UpstreamError mid-stream when a stream-through fails (cut the client off)."""
        if self._flight is not None:
            async for chunk in self._flight.read(start, end, chunk_size):
                yield chunk
            return
        assert self._sha256 is not None
        source = self._blobs.iter_range(self._sha256, start, end, chunk_size)
        in_thread = self._blobs.reads_wait_on_network
        try:
            remaining = end - start
            while remaining > 0:
                chunk = (
                    await asyncio.to_thread(next, source, b"") if in_thread else next(source, b"")
                )
                if not chunk:  # the stored blob is shorter than recorded: never pad or pretend
                    raise StorageError(f"blob {self._sha256} is truncated in storage")
                remaining -= len(chunk)
                yield chunk
        finally:
            source.close()


__all__ = ["ContentStream", "Flight", "LocalRegions", "StreamThrough", "UpstreamError"]
