"""Streaming GETs of large upstream files, read by a thread per transfer, with flow control and an
idle timeout.

A cold multi-GB file has to be read, hashed, written and served on the same few cores, so the read
must cost as little as possible. An asyncio HTTP client hands the body over in 64 KiB socket reads,
each a trip through Python (httpx ~3.4 s per GiB here, Tornado's client ~1.3 s); a blocking
``http.client`` read in a thread spends its time in the kernel with the GIL released (~0.35 s per
GiB, like curl). Pieces of up to 4 MiB keep the hand-offs to the event loop and to the hashing
worker few: with 1 MiB pieces a cold GiB cost the vault 2.4 CPU-seconds, with 4 MiB 1.85 (of which
sha256 is 0.9). The thread hands whole pieces to the event loop through a bounded queue:
when the consumer (hashing and writing the cache) falls behind, the thread stops reading and the
socket's flow control does the rest. Pieces grow from 64 KiB while the upstream keeps them full;
when it trickles, whatever has arrived is handed over at once.

Redirects are followed here so that ``Authorization`` never goes to another origin (huggingface.co
sends LFS files to a CDN this way). Every connection, redirects included, goes to an address
:class:`.egress.EgressGuard` checked.
"""

from __future__ import annotations

import asyncio
import collections
import http.client
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from tornado.httputil import HTTPHeaders

from ..core.urls import origin_of
from ..storage.ingest import PieceSink, ReadInto
from .egress import EgressGuard
from .proxy import ProxyRoute
from .tls import SharedTrust

MAX_REDIRECTS = 10
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MIN_PIECE = 64 << 10
# A piece that took longer than this to fill means the upstream trickles: hand smaller ones over.
_SLOW_PIECE_SECONDS = 0.02


class StreamError(Exception):
    """The transfer failed; ``timed_out`` tells a stall from a network or protocol error."""

    def __init__(self, reason: str, *, timed_out: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.timed_out = timed_out


class _AbortedError(Exception):
    """Raised in the reading thread once the consumer has gone away."""


@dataclass(frozen=True)
class StreamedResponse:
    """The final response (after redirects): status, headers and the body as it arrives."""

    url: str
    status: int
    reason: str
    headers: Mapping[str, str]
    chunks: AsyncIterator[bytes]
    into: ReadInto
    """The other way to consume the body (use one of the two): the reading thread reads it
    straight into the sink's buffers; returns once every byte was committed there."""


_Head = tuple[str, int, str, HTTPHeaders]


class _Transfer:
    """One GET: the reading thread's side (``run``) and the event loop's side (``head``, ``take``).

    The queue between them holds at most ``limit`` bytes (plus one piece); the thread waits on
    ``_space`` while it is full, and wakes a waiting consumer through the loop.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        url: str,
        headers: Mapping[str, str],
        timeout: float,
        *,
        limit: int,
        piece_bytes: int,
        trust: Callable[[], ssl.SSLContext],
        guard: EgressGuard,
        proxy: ProxyRoute | None = None,
    ) -> None:
        self._loop = loop
        self._guard = guard
        self._proxy = proxy
        """The remote's own proxy setting: every request of this transfer goes through it."""
        self._url = url
        self._headers = dict(headers)
        self._timeout = timeout
        self._limit = limit
        self._piece_bytes = piece_bytes
        self._trust = trust
        self._lock = threading.Lock()
        self._space = threading.Condition(self._lock)
        self._items: collections.deque[bytes] = collections.deque()
        self._queued = 0
        self._end: tuple[StreamError | None] | None = None
        self._aborted = False
        self._connection: http.client.HTTPConnection | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._chosen = threading.Event()
        """Set once the consumer picked ``take`` or ``into`` (or went away): then the body is read."""
        self._sink: PieceSink | None = None
        self.head: asyncio.Future[_Head] = loop.create_future()
        self.ended: asyncio.Future[None] = loop.create_future()
        """Resolved once the thread has closed the connection and returned."""

    # -- the reading thread ------------------------------------------------------------------

    def run(self) -> None:
        try:
            response = self._follow_redirects()
            self._chosen.wait()
            if self._aborted:
                raise _AbortedError
            if self._sink is not None:
                self._read_into(response, self._sink)
            else:
                self._read_body(response)
        except _AbortedError:
            self._end_with(StreamError("transfer aborted"))
        except StreamError as exc:
            self._end_with(exc)
        except BaseException as exc:
            self._end_with(_failure(exc))
        else:
            self._end_with(None)
        finally:
            self._close_connection()
            self._call_soon(_resolve, self.ended)

    def _follow_redirects(self) -> http.client.HTTPResponse:
        url, headers = self._url, self._headers
        for _ in range(MAX_REDIRECTS + 1):
            response = self._exchange(url, headers)
            location = response.headers.get("Location")
            if response.status not in _REDIRECTS or not location:
                self._call_soon(self._set_head, (url, response.status, response.reason, response))
                return response
            self._close_connection()
            target = urljoin(url, location)
            if origin_of(target) != origin_of(url):
                # Credentials are for the upstream, not for wherever it redirects to.
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            url = target
        raise StreamError(f"more than {MAX_REDIRECTS} redirects")

    def _exchange(self, url: str, headers: Mapping[str, str]) -> http.client.HTTPResponse:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise StreamError(f"cannot fetch {parts.scheme or 'a relative'} URL")
        connection: http.client.HTTPConnection
        proxy = self._proxy
        if proxy is None and self._guard.proxies is not None:
            proxy = self._guard.proxies.route(url)
        if proxy is not None:
            self._guard.check_name(parts.hostname)  # the proxy resolves the name
            connection = proxy.connection(
                parts.scheme,
                parts.hostname,
                parts.port or (443 if parts.scheme == "https" else 80),
                self._timeout,
                self._trust,
                self._guard.create_connection,
            )
        elif parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                parts.hostname, parts.port, timeout=self._timeout, context=self._trust()
            )
        else:
            connection = http.client.HTTPConnection(
                parts.hostname, parts.port, timeout=self._timeout
            )
        with self._lock:
            if self._aborted:
                raise _AbortedError
            self._connection = connection
        target = parts.path or "/"
        if parts.query:
            target += f"?{parts.query}"
        try:
            if proxy is None:
                # Connected here, to a checked address; http.client then uses this socket.
                connection.sock = self._connect(parts.scheme, parts.hostname, parts.port)
            else:
                connection.connect()  # to the proxy (a checked address); CONNECT for https
                if parts.scheme == "http":  # a plain request goes to the proxy in absolute form
                    target, headers = url, {**headers, **proxy.authorization()}
            connection.request("GET", target, headers=dict(headers))
            return connection.getresponse()
        except TimeoutError:
            raise StreamError(f"no response for {self._timeout:g}s", timed_out=True) from None

    def _connect(self, scheme: str, host: str, port: int | None) -> socket.socket:
        default = 443 if scheme == "https" else 80
        sock = self._guard.create_connection((host, port or default), self._timeout)
        if scheme != "https":
            return sock
        try:
            return self._trust().wrap_socket(sock, server_hostname=host)
        except BaseException:
            sock.close()
            raise

    def _read_body(self, response: http.client.HTTPResponse) -> None:
        piece, whole = _MIN_PIECE, False
        while True:
            started = time.monotonic()
            try:
                # read() fills the whole piece (nothing to coalesce later); read1() hands over
                # what has arrived, for an upstream that trickles.
                data = response.read(piece) if whole else response.read1(piece)
            except TimeoutError:
                raise StreamError(f"no data for {self._timeout:g}s", timed_out=True) from None
            if not data:
                if response.length:  # http.client ends a short fixed-length body silently
                    raise StreamError(
                        f"connection closed with {response.length} bytes of the body missing"
                    )
                return
            self._put(data)
            if time.monotonic() - started >= _SLOW_PIECE_SECONDS:
                if piece > _MIN_PIECE:  # bytes waited too long in a piece: smaller pieces
                    piece //= 2
                else:  # a trickle: hand over whatever arrives
                    whole = False
            elif whole:
                piece = min(piece * 2, self._piece_bytes)
            elif len(data) == piece:  # the upstream keeps up: read whole pieces
                whole = True

    def _read_into(self, response: http.client.HTTPResponse, sink: PieceSink) -> None:
        """Like :meth:`_read_body`, but into the sink's reusable buffers: a fast upstream fills
        whole buffers with ``readinto`` (no copy, no new object); a trickle is handed on as it
        arrives (``read1``, copied: small and slow by definition)."""
        piece, whole = _MIN_PIECE, False
        while True:
            buffer = sink.acquire()
            started = time.monotonic()
            try:
                if whole:
                    n = response.readinto(buffer[: min(piece, len(buffer))])
                else:
                    data = response.read1(min(piece, len(buffer)))
                    n = len(data)
                    buffer[:n] = data
            except TimeoutError:
                sink.commit(0)
                raise StreamError(f"no data for {self._timeout:g}s", timed_out=True) from None
            except BaseException:
                sink.commit(0)
                raise
            sink.commit(n)
            if not n:
                if response.length:  # http.client ends a short fixed-length body silently
                    raise StreamError(
                        f"connection closed with {response.length} bytes of the body missing"
                    )
                return
            if self._aborted:
                raise _AbortedError
            if time.monotonic() - started >= _SLOW_PIECE_SECONDS:
                if piece > _MIN_PIECE:
                    piece //= 2
                else:
                    whole = False
            elif whole:
                piece = min(piece * 2, len(buffer))
            elif n == piece:
                whole = True

    def _put(self, data: bytes) -> None:
        with self._lock:
            while self._queued >= self._limit and not self._aborted:
                self._space.wait()
            if self._aborted:
                raise _AbortedError
            self._items.append(data)
            self._queued += len(data)
            waiter, self._waiter = self._waiter, None
        if waiter is not None:
            self._call_soon(_resolve, waiter)

    def _end_with(self, error: StreamError | None) -> None:
        with self._lock:
            self._end = (error,)
            waiter, self._waiter = self._waiter, None
        if waiter is not None:
            self._call_soon(_resolve, waiter)
        self._call_soon(self._fail_head, error or StreamError("connection closed before headers"))

    def _call_soon(self, callback: Callable[..., object], *args: object) -> None:
        with suppress(RuntimeError):  # the loop is closed: nobody is listening any more
            self._loop.call_soon_threadsafe(callback, *args)

    def _close_connection(self) -> None:
        with self._lock:
            connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    # -- the event loop ----------------------------------------------------------------------

    def _set_head(self, head: tuple[str, int, str, http.client.HTTPResponse]) -> None:
        if self.head.done():
            return
        url, status, reason, response = head
        parsed = HTTPHeaders()
        for name, value in response.headers.items():
            parsed.add(name, value)
        self.head.set_result((url, status, reason, parsed))

    def _fail_head(self, error: StreamError) -> None:
        if not self.head.done():
            self.head.set_exception(error)

    async def into(self, sink: PieceSink) -> None:
        """Have the reading thread read the whole body into ``sink``.

        Raises:
            StreamError: the transfer failed (what reached the sink is a prefix of the body).
        """
        with self._lock:
            if self._chosen.is_set():
                raise RuntimeError("the body is already being consumed")
            self._sink = sink
        self._chosen.set()
        while True:
            with self._lock:
                if self._end is not None:
                    if self._end[0] is not None:
                        raise self._end[0]
                    return
                waiter = self._waiter = self._loop.create_future()
            await waiter

    async def take(self, idle_timeout: float) -> bytes | None:
        """The next piece of the body; None at its end."""
        self._chosen.set()
        while True:
            with self._lock:
                if self._items:
                    item = self._items.popleft()
                    self._queued -= len(item)
                    self._space.notify()
                    return item
                if self._end is not None:
                    if self._end[0] is not None:
                        raise self._end[0]
                    return None
                waiter = self._waiter = self._loop.create_future()
            try:
                # The socket's own timeout catches a stall; this only guards a lost wake-up.
                await asyncio.wait_for(waiter, idle_timeout + 5.0)
            except TimeoutError:
                raise StreamError(f"no data for {idle_timeout:g}s", timed_out=True) from None

    def abort(self) -> None:
        """Stop reading: a blocked read or wait in the thread ends and the socket is closed."""
        with self._lock:
            self._aborted = True
            self._chosen.set()
            self._items.clear()
            self._queued = 0
            self._space.notify_all()
            connection = self._connection
        sock = getattr(connection, "sock", None) if connection is not None else None
        if sock is not None:
            with suppress(OSError):
                sock.shutdown(2)  # wakes a recv blocked in the thread at once


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class HttpStreamer:
    """Streaming GETs for one process; connections are not pooled (one per transfer), and at most
    ``max_clients`` transfers read at once (the others wait for a slot)."""

    def __init__(
        self,
        *,
        user_agent: str = "modelvault",
        max_clients: int = 256,
        buffer_bytes: int = 16 << 20,
        piece_bytes: int = 4 << 20,
        trust: Callable[[], ssl.SSLContext] | None = None,
        guard: EgressGuard | None = None,
    ) -> None:
        self._user_agent = user_agent
        self._guard = guard or EgressGuard()
        self._buffer_bytes = buffer_bytes
        self._piece_bytes = max(piece_bytes, _MIN_PIECE)
        self._slots = threading.BoundedSemaphore(max_clients)
        self._trust = trust or SharedTrust()
        self._live: set[_Transfer] = set()

    @asynccontextmanager
    async def get(
        self,
        url: str,
        headers: Mapping[str, str],
        *,
        timeout: float,
        proxy: ProxyRoute | None = None,
    ) -> AsyncIterator[StreamedResponse]:
        """GET ``url``; ``timeout`` bounds the connect, the wait for headers and every stall.
        ``proxy``: the remote's own proxy (else the server-wide choice for the URL).

        Raises:
            StreamError: connection, protocol or timeout failure, or too many redirects.
        """
        transfer = _Transfer(
            asyncio.get_running_loop(),
            url,
            {"User-Agent": self._user_agent, **headers},
            timeout,
            limit=self._buffer_bytes,
            piece_bytes=self._piece_bytes,
            trust=self._trust,
            guard=self._guard,
            proxy=proxy,
        )
        self._live.add(transfer)
        thread = threading.Thread(
            target=self._run, args=(transfer,), name="modelvault-upstream-read", daemon=True
        )
        thread.start()
        try:
            final_url, status, reason, parsed = await transfer.head
            yield StreamedResponse(
                final_url, status, reason, parsed, self._body(transfer, timeout), transfer.into
            )
        finally:
            self._live.discard(transfer)
            transfer.abort()
            if not transfer.ended.done():
                # The socket was shut down, so the thread ends at once.
                with suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(transfer.ended), 5.0)

    def _run(self, transfer: _Transfer) -> None:
        with self._slots:
            transfer.run()

    @staticmethod
    async def _body(transfer: _Transfer, timeout: float) -> AsyncIterator[bytes]:
        while True:
            piece = await transfer.take(timeout)
            if piece is None:
                return
            yield piece

    def close(self) -> None:
        for transfer in list(self._live):
            transfer.abort()
        self._live.clear()


def _failure(exc: BaseException) -> StreamError:
    if isinstance(exc, StreamError):
        return exc
    if isinstance(exc, TimeoutError):
        return StreamError("timed out", timed_out=True)
    if isinstance(exc, http.client.IncompleteRead):
        return StreamError(
            f"connection closed after {len(exc.partial)} bytes of a piece, "
            f"{exc.expected} more expected"
        )
    text = str(exc).splitlines()[0][:160] if str(exc) else ""
    name = type(exc).__name__
    return StreamError(f"{name}: {text}" if text else name)


__all__ = ["HttpStreamer", "StreamError", "StreamedResponse"]
