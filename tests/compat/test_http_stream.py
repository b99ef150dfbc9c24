"""The streaming upstream reader against real local servers: redirects, credentials, stalls."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import tornado.iostream
import tornado.web
from tornado.httpserver import HTTPServer

from modelvault_jlab.upstream.http_stream import HttpStreamer, StreamError


def _listen(app: tornado.web.Application) -> tuple[HTTPServer, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    server = HTTPServer(app)
    server.add_sockets([sock])
    return server, int(sock.getsockname()[1])


class Echo(tornado.web.RequestHandler):
    def get(self) -> None:
        self.write(f"auth={self.request.headers.get('Authorization', '-')}")


class Redirect(tornado.web.RequestHandler):
    def initialize(self, target: str) -> None:
        self.target = target

    def get(self) -> None:
        self.redirect(self.target, status=302)


class Stall(tornado.web.RequestHandler):
    async def get(self) -> None:
        self.set_header("Content-Length", "100")
        self.write(b"x" * 10)
        await self.flush()
        await asyncio.sleep(30)


class Big(tornado.web.RequestHandler):
    async def get(self) -> None:
        block = bytes(range(256)) * 4096  # 1 MiB
        self.set_header("Content-Length", str(len(block) * 32))
        for _ in range(32):
            self.write(block)
            await self.flush()


class Short(tornado.web.RequestHandler):
    async def get(self) -> None:
        self.set_header("Content-Length", "100")
        self.write(b"x" * 10)
        await self.flush()
        self.request.connection.close()  # type: ignore[union-attr]


class Trickle(tornado.web.RequestHandler):
    async def get(self) -> None:
        self.set_header("Content-Length", str(3 * 1024))
        for _ in range(3):
            self.write(b"t" * 1024)
            await self.flush()
            await asyncio.sleep(0.2)


class Endless(tornado.web.RequestHandler):
    """Sends until the client goes away; records that it noticed."""

    async def get(self) -> None:
        self.set_header("Content-Length", str(1 << 40))
        block = b"e" * (1 << 20)
        try:
            while True:
                self.write(block)
                await self.flush()
        except tornado.iostream.StreamClosedError:
            ENDLESS_CLOSED.set()


ENDLESS_CLOSED = threading.Event()


@asynccontextmanager
async def servers() -> AsyncIterator[tuple[int, int]]:
    other, other_port = _listen(tornado.web.Application([(r"/echo", Echo)]))
    main, main_port = _listen(
        tornado.web.Application(
            [
                (r"/echo", Echo),
                (r"/same", Redirect, {"target": "/echo"}),
                (r"/cross", Redirect, {"target": f"http://127.0.0.1:{other_port}/echo"}),
                (r"/loop", Redirect, {"target": "/loop"}),
                (r"/stall", Stall),
                (r"/big", Big),
                (r"/short", Short),
                (r"/trickle", Trickle),
                (r"/endless", Endless),
            ]
        )
    )
    yield main_port, other_port
    main.stop()
    other.stop()


async def _body(streamer: HttpStreamer, url: str, headers: dict[str, str]) -> tuple[int, bytes]:
    async with streamer.get(url, headers, timeout=5) as response:
        return response.status, b"".join([c async for c in response.chunks])


def test_credentials_follow_same_origin_redirects_only() -> None:
    asyncio.run(_credentials_follow_same_origin_redirects_only())


async def _credentials_follow_same_origin_redirects_only() -> None:
    async with servers() as (port, _):
        await _redirect_checks(port)


async def _redirect_checks(port: int) -> None:
    streamer = HttpStreamer()
    auth = {"Authorization": "Bearer upstream-secret"}
    try:
        assert await _body(streamer, f"http://127.0.0.1:{port}/same", auth) == (
            200,
            b"auth=Bearer upstream-secret",
        )
        assert await _body(streamer, f"http://127.0.0.1:{port}/cross", auth) == (200, b"auth=-")
        with pytest.raises(StreamError, match="redirects"):
            await _body(streamer, f"http://127.0.0.1:{port}/loop", auth)
    finally:
        streamer.close()


def test_a_stall_times_out_and_a_slow_consumer_bounds_memory() -> None:
    asyncio.run(_stall_and_backpressure())


async def _stall_and_backpressure() -> None:
    async with servers() as (port, _):
        await _stall_checks(port)


async def _stall_checks(port: int) -> None:
    streamer = HttpStreamer(buffer_bytes=1 << 20, piece_bytes=256 << 10)
    try:
        with pytest.raises(StreamError) as info:
            async with streamer.get(f"http://127.0.0.1:{port}/stall", {}, timeout=1) as r:
                async for _ in r.chunks:
                    pass
        assert info.value.timed_out
        received = 0
        async with streamer.get(f"http://127.0.0.1:{port}/big", {}, timeout=5) as r:
            async for piece in r.chunks:
                assert len(piece) <= (256 << 10) + (64 << 10)
                received += len(piece)
                await asyncio.sleep(0.001)  # slower than the socket: backpressure, no pile-up
        assert received == 32 << 20
        with pytest.raises(StreamError):
            await _body(streamer, "http://127.0.0.1:9/nothing-listens", {})
    finally:
        streamer.close()


def test_short_bodies_fail_trickles_flow_and_leaving_early_closes_the_upstream() -> None:
    asyncio.run(_short_trickle_leave())


async def _short_trickle_leave() -> None:
    async with servers() as (port, _):
        streamer = HttpStreamer()
        try:
            # http.client would end a short fixed-length body silently: it must be an error.
            with pytest.raises(StreamError, match="90 bytes of the body missing"):
                await _body(streamer, f"http://127.0.0.1:{port}/short", {})
            # A trickling upstream's bytes are handed over as they arrive, not once 64 KiB are in.
            async with streamer.get(f"http://127.0.0.1:{port}/trickle", {}, timeout=5) as r:
                pieces = [len(c) async for c in r.chunks]
            assert pieces == [1024, 1024, 1024]
            # A consumer that leaves mid-body (a client gone, a policy block) closes the socket.
            ENDLESS_CLOSED.clear()
            async with streamer.get(f"http://127.0.0.1:{port}/endless", {}, timeout=5) as r:
                received = 0
                async for chunk in r.chunks:
                    received += len(chunk)
                    if received > 32 << 20:
                        break
            for _ in range(100):
                if ENDLESS_CLOSED.is_set():
                    break
                await asyncio.sleep(0.05)
            assert ENDLESS_CLOSED.is_set()
        finally:
            streamer.close()
