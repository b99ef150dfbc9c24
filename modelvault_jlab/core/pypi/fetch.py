"""Cold fetches of upstream files: single flight, stream-through, verify-then-publish.

One download per sha256 at a time, whoever asks: the first request (the *leader*) starts a
background task that streams the upstream body into a blob writer and, chunk by chunk, to the
leader's client; concurrent requests for the same file (*followers*) wait for the task and are then
served from the cache. So N concurrent cold requests cause exactly one upstream transfer.

The blob is published only after its sha256 matches the hash the upstream index published. The
last chunk is held back until that check passed: a client whose transfer failed the check (or
broke off) therefore never receives the complete byte count, so it cannot mistake a bad file for a
good one. The task keeps running when the leader's client goes away, so the cache still fills.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ...errors import (
    IntegrityError,
    NotFoundError,
    PolicyError,
    UpstreamError,
    UpstreamUnavailableError,
    VaultError,
)
from ...storage.base import BlobInfo
from ..content import ContentStore
from .models import ChunkStream
from .ports import PypiUpstream

log = logging.getLogger(__name__)

OnStored = Callable[[BlobInfo], None]
Admit = Callable[[BlobInfo], Awaitable[None]]
_END = object()
_QUEUE_CHUNKS = 8  # chunks buffered for a slow leader client before backpressure applies


def _mark_retrieved(fut: asyncio.Future[Any]) -> None:
    # A failed download nobody waited for must not log "exception was never retrieved".
    if not fut.cancelled():
        fut.exception()


class _Flight:
    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.started: asyncio.Future[int | None] = loop.create_future()
        self.done: asyncio.Future[BlobInfo] = loop.create_future()
        self.started.add_done_callback(_mark_retrieved)
        self.done.add_done_callback(_mark_retrieved)
        self.queue: asyncio.Queue[object] | None = None
        self.callbacks: list[OnStored] = []

    async def emit(self, item: object) -> None:
        queue = self.queue
        if queue is not None:
            await queue.put(item)


class FileFetcher:
    """Downloads upstream files into the content store, one flight per sha256."""

    def __init__(self, content: ContentStore, upstream: PypiUpstream | None) -> None:
        self._content = content
        self._upstream = upstream
        self._flights: dict[str, _Flight] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.upstream_downloads = 0
        """Transfers started (for tests and metrics)."""

    def in_flight(self, sha256: str) -> bool:
        return sha256 in self._flights

    async def fetch(
        self,
        *,
        url: str,
        sha256: str,
        size: int | None,
        timeout: float,
        stream: bool,
        on_stored: OnStored,
        admit: Admit | None = None,
    ) -> tuple[BlobInfo | None, int | None, ChunkStream | None]:
        """Return ``(blob, None, None)`` once stored, or ``(None, size, chunks)`` to stream.

        Only the leader of a flight with ``stream=True`` gets chunks; everyone else waits for the
        blob.

        Raises:
            UpstreamError: the transfer failed or did not match the published hash.
        """
        flight = self._flights.get(sha256)
        if flight is not None:
            flight.callbacks.append(on_stored)
            return await asyncio.shield(flight.done), None, None
        if self._upstream is None:
            raise UpstreamUnavailableError("No upstream client is configured on this server.")
        flight = _Flight()
        flight.callbacks.append(on_stored)
        if stream:
            flight.queue = asyncio.Queue(maxsize=_QUEUE_CHUNKS)
        self._flights[sha256] = flight
        self.upstream_downloads += 1
        task = asyncio.create_task(self._run(flight, url, sha256, size, timeout, admit))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if not stream:
            return await asyncio.shield(flight.done), None, None
        announced = await asyncio.shield(flight.started)
        return None, announced, self._consume(flight)

    def _consume(self, flight: _Flight) -> ChunkStream:
        queue = flight.queue
        assert queue is not None

        async def receive() -> bytes | None:
            item = await queue.get()
            if item is _END:
                return None
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, bytes)
            return item

        def detach() -> None:
            # The client is done or gone: stop feeding it, and unblock the task if it waits on
            # a full queue. The download itself goes on and fills the cache.
            flight.queue = None
            while not queue.empty():
                queue.get_nowait()

        return ChunkStream(receive, detach)

    async def _run(
        self,
        flight: _Flight,
        url: str,
        sha256: str,
        size: int | None,
        timeout: float,
        admit: Admit | None,
    ) -> None:
        assert self._upstream is not None
        writer = self._content.writer()
        pending: bytes | None = None
        try:
            async with self._upstream.open_file(url, timeout=timeout) as body:
                announced = body.size if body.size is not None else size
                if size is not None and body.size is not None and body.size != size:
                    raise UpstreamUnavailableError(
                        f"Upstream announced {body.size} bytes for a file its index lists with "
                        f"{size} bytes; nothing was cached."
                    )
                flight.started.set_result(announced)
                async for chunk in body.chunks:
                    if not chunk:
                        continue
                    writer.write(chunk)
                    if pending is not None:
                        await flight.emit(pending)
                    pending = chunk
            info = await asyncio.to_thread(self._content.finish, writer, sha256, announced)
            if admit is not None:
                # Policy decides before the last chunk leaves; a block keeps the blob stored
                # (quarantined) and cuts every client of this transfer off.
                await admit(info)
        except BaseException as exc:
            writer.abort()
            error = _as_upstream_error(exc, sha256)
            log.warning("Upstream download of %s failed, nothing cached: %s", sha256, error)
            if not flight.started.done():
                flight.started.set_exception(error)
            flight.done.set_exception(error)
            await flight.emit(error)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        finally:
            self._flights.pop(sha256, None)
        for callback in flight.callbacks:
            try:
                callback(info)
            except Exception:
                log.exception("Recording cached file %s failed", sha256)
        if pending is not None:
            await flight.emit(pending)
        await flight.emit(_END)
        flight.done.set_result(info)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task


def _as_upstream_error(exc: BaseException, sha256: str) -> VaultError:
    if isinstance(exc, UpstreamError | NotFoundError | PolicyError):
        return exc
    if isinstance(exc, IntegrityError):
        return UpstreamUnavailableError(
            f"The upstream sent content that does not match the sha256 {sha256} its index "
            f"published ({exc.message}); nothing was cached.",
        )
    return UpstreamUnavailableError(
        f"The download of {sha256} from the upstream failed ({type(exc).__name__}); "
        "nothing was cached."
    )
