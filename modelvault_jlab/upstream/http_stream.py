"""Streaming GETs of large upstream files, with flow control and an idle timeout.

httpx hands a large body over in ~32-64 KiB pieces through several layers of async machinery;
on a cold multi-GB transfer that alone cost 3-4 s per GiB here (bench/README.md). Tornado's own
HTTP/1.1 client reads the socket directly and lets the body callback return an awaitable, which
gives backpressure: when the consumer (hashing and writing the cache) falls behind, the socket
is simply not read. This module wraps it in a pull interface (``async for chunk in chunks``) that
coalesces what has arrived into pieces of up to ``piece_bytes``.

Redirects are followed here rather than by Tornado so that ``Authorization`` never goes to
another origin (huggingface.co sends LFS files to a CDN this way).
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from tornado.httpclient import HTTPRequest, HTTPResponse
from tornado.httputil import HTTPHeaders, parse_response_start_line
from tornado.simple_httpclient import SimpleAsyncHTTPClient

MAX_REDIRECTS = 10
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# No overall deadline: a multi-GB transfer may take long; stalls are caught by the idle timeout.
_NO_DEADLINE = 365 * 24 * 3600.0


class StreamError(Exception):
    """The transfer failed; ``timed_out`` tells a stall from a network or protocol error."""

    def __init__(self, reason: str, *, timed_out: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.timed_out = timed_out


class _AbortedError(Exception):
    """Raised inside Tornado's body callback once the consumer has gone away."""


class _Channel:
    """A byte queue between Tornado's body callback (producer) and one consumer.

    The producer waits while more than ``limit`` bytes are queued; the consumer takes everything
    queued (up to a piece size) at once. A waiting consumer is woken once ``wake_bytes`` are
    queued, or when data has been trickling in for ``WAKE_AFTER`` seconds, not for every 64 KiB
    socket read: a wake-up per read cost about as much as the read itself (1 s per GiB here).
    """

    WAKE_AFTER = 0.02

    def __init__(self, limit: int, wake_bytes: int) -> None:
        self._items: collections.deque[bytes] = collections.deque()
        self._queued = 0
        self._limit = limit
        self._wake_bytes = wake_bytes
        self._waiting_since = 0.0
        self._end: tuple[BaseException | None] | None = None
        self._aborted = False
        self._reader: asyncio.Future[None] | None = None
        self._writer: asyncio.Future[None] | None = None

    @staticmethod
    def _wake(waiter: asyncio.Future[None] | None) -> None:
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def put(self, chunk: bytes) -> Awaitable[None] | None:
        if self._aborted:
            raise _AbortedError
        self._items.append(chunk)
        self._queued += len(chunk)
        reader = self._reader
        if reader is not None and not reader.done():
            loop = asyncio.get_running_loop()
            if self._queued >= self._wake_bytes or (
                loop.time() - self._waiting_since >= self.WAKE_AFTER
            ):
                reader.set_result(None)
        if self._queued < self._limit:
            return None
        self._writer = asyncio.get_running_loop().create_future()
        return self._writer

    def finish(self, error: BaseException | None) -> None:
        if self._end is None:
            self._end = (error,)
        self._wake(self._reader)

    def abort(self) -> None:
        self._aborted = True
        self._items.clear()
        self._queued = 0
        self._wake(self._writer)

    async def take(self, piece_bytes: int, idle_timeout: float) -> bytes | None:
        """Up to ``piece_bytes`` of what has arrived; None at the end of the body."""
        while not self._items:
            if self._end is not None:
                if self._end[0] is not None:
                    raise self._end[0]
                return None
            loop = asyncio.get_running_loop()
            self._reader = loop.create_future()
            self._waiting_since = loop.time()
            try:
                await asyncio.wait_for(self._reader, idle_timeout)
            except TimeoutError:
                if self._items:  # a trickle below the wake-up threshold: not a stall
                    break
                raise StreamError(f"no data for {idle_timeout:g}s", timed_out=True) from None
        parts: list[bytes] = []
        taken = 0
        while self._items and taken < piece_bytes:
            item = self._items.popleft()
            parts.append(item)
            taken += len(item)
        self._queued -= taken
        if self._queued < self._limit:
            self._wake(self._writer)
        return parts[0] if len(parts) == 1 else b"".join(parts)


@dataclass(frozen=True)
class StreamedResponse:
    """The final response (after redirects): status, headers and the body as it arrives."""

    url: str
    status: int
    reason: str
    headers: Mapping[str, str]
    chunks: AsyncIterator[bytes]


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


class HttpStreamer:
    """Streaming GETs for one process; connections are not pooled (one per transfer)."""

    def __init__(
        self,
        *,
        user_agent: str = "modelvault",
        max_clients: int = 256,
        buffer_bytes: int = 8 << 20,
        piece_bytes: int = 1 << 20,
    ) -> None:
        self._user_agent = user_agent
        self._buffer_bytes = buffer_bytes
        self._piece_bytes = piece_bytes
        self._max_clients = max_clients
        self._client: SimpleAsyncHTTPClient | None = None

    def _http(self) -> SimpleAsyncHTTPClient:
        if self._client is None:
            # force_instance: never share (or close) the IOLoop-wide singleton of the host app.
            self._client = SimpleAsyncHTTPClient(
                force_instance=True,
                max_clients=self._max_clients,
                max_body_size=1 << 62,  # with a body callback nothing is buffered
            )
        return self._client

    @asynccontextmanager
    async def get(
        self, url: str, headers: Mapping[str, str], *, timeout: float
    ) -> AsyncIterator[StreamedResponse]:
        """GET ``url``; ``timeout`` bounds the connect, the wait for headers and every stall.

        Raises:
            StreamError: connection, protocol or timeout failure, or too many redirects.
        """
        request_headers = {"User-Agent": self._user_agent, **headers}
        for _ in range(MAX_REDIRECTS + 1):
            async with self._exchange(url, request_headers, timeout) as response:
                location = response.headers.get("Location")
                if response.status not in _REDIRECTS or not location:
                    yield response
                    return
            target = urljoin(url, location)
            if _origin(target) != _origin(url):
                # Credentials are for the upstream, not for wherever it redirects to.
                request_headers = {
                    k: v for k, v in request_headers.items() if k.lower() != "authorization"
                }
            url = target
        raise StreamError(f"more than {MAX_REDIRECTS} redirects")

    @asynccontextmanager
    async def _exchange(
        self, url: str, headers: Mapping[str, str], timeout: float
    ) -> AsyncIterator[StreamedResponse]:
        channel = _Channel(self._buffer_bytes, wake_bytes=self._piece_bytes // 4)
        head: asyncio.Future[tuple[int, str, HTTPHeaders]] = (
            asyncio.get_running_loop().create_future()
        )
        lines: list[str] = []

        def on_header(line: str) -> None:
            if line.strip():
                lines.append(line)
                return
            if head.done():
                return
            start = parse_response_start_line(lines[0].rstrip("\r\n"))
            parsed = HTTPHeaders()
            for raw in lines[1:]:
                parsed.parse_line(raw)
            head.set_result((start.code, start.reason, parsed))

        request = HTTPRequest(
            url,
            method="GET",
            headers=dict(headers),
            follow_redirects=False,
            decompress_response=False,
            connect_timeout=timeout,
            request_timeout=_NO_DEADLINE,
            header_callback=on_header,
            streaming_callback=channel.put,
        )
        transfer: asyncio.Future[HTTPResponse] = asyncio.ensure_future(
            self._http().fetch(request, raise_error=False)
        )

        def on_done(done: asyncio.Future[HTTPResponse]) -> None:
            error: BaseException | None = None
            if done.cancelled():
                error = StreamError("transfer cancelled")
            elif done.exception() is not None:
                error = _failure(done.exception())
            elif done.result().code == 599:  # Tornado's code for a failure without a response
                error = _failure(done.result().error)
            channel.finish(error)
            if not head.done():
                head.set_exception(error or StreamError("connection closed before headers"))

        transfer.add_done_callback(on_done)
        try:
            try:
                status, reason, parsed = await asyncio.wait_for(asyncio.shield(head), timeout)
            except TimeoutError:
                raise StreamError(f"no response for {timeout:g}s", timed_out=True) from None
            yield StreamedResponse(url, status, reason, parsed, self._body(channel, timeout))
        finally:
            if not transfer.done():
                # Stop reading: the next body callback raises and Tornado closes the socket.
                channel.abort()
                with suppress(BaseException):
                    await asyncio.wait_for(transfer, 5.0)
            elif not transfer.cancelled():
                transfer.exception()  # retrieved: no "exception was never retrieved" noise
            if not head.done():
                head.cancel()
            elif not head.cancelled():
                head.exception()

    async def _body(self, channel: _Channel, timeout: float) -> AsyncIterator[bytes]:
        while True:
            piece = await channel.take(self._piece_bytes, timeout)
            if piece is None:
                return
            yield piece

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _failure(exc: BaseException | None) -> StreamError:
    if isinstance(exc, StreamError):
        return exc
    text = str(exc).splitlines()[0][:160] if exc is not None and str(exc) else ""
    name = type(exc).__name__ if exc is not None else "error"
    return StreamError(f"{name}: {text}".rstrip(": ") if text else name)


__all__ = ["HttpStreamer", "StreamError", "StreamedResponse"]
