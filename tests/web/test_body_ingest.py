"""The Tornado internals web/body_ingest.py relies on, checked against the installed Tornado.

``claim_body`` reads a request body by hand from ``HTTP1Connection.stream`` in a handler's
``prepare``, then hands the connection back by rewriting ``Content-Length`` to what is left
unread. If a Tornado release reads the body before ``prepare`` or takes its length from
elsewhere, uploads would hang or desynchronise kept-alive connections: these tests then fail
(fast, with a socket timeout), pointing at that module.
"""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import os
import threading
from collections.abc import Iterator

import pytest
import tornado
from tornado import httpserver, web

from modelvault_jlab.web.body_ingest import body_length, claim_body

WHERE = "web/body_ingest.py relies on Tornado 6's HTTP/1 internals; see its docstring"


@web.stream_request_body
class _Digest(web.RequestHandler):
    """PUT: the sha256 of the body and how it was read; ``?stop=N`` stops reading after N bytes
    and answers 400 once Tornado has read (and dropped) the rest, as the PyPI upload does after
    a bad form part. (An error raised in ``prepare`` itself makes Tornado close the connection
    instead: its usual way with a body it did not read.)"""

    async def prepare(self) -> None:
        self.digest = hashlib.sha256()
        self.how = "tornado"
        self.stopped = False
        length = body_length(self.request)
        body = claim_body(self.request, length) if length is not None else None
        if body is None:
            return
        self.how = "claimed"
        stop = int(self.get_query_argument("stop", "-1"))
        buffer = memoryview(bytearray(64 * 1024))
        read = 0
        try:
            while body.remaining:
                if 0 <= stop <= read:
                    self.stopped = True
                    break
                n = await body.read_into(buffer)
                self.digest.update(buffer[:n])
                read += n
        finally:
            body.release()

    def data_received(self, chunk: bytes) -> None:
        if not self.stopped:
            self.digest.update(chunk)

    def put(self) -> None:
        if self.stopped:
            raise web.HTTPError(400, reason="stopped early")
        self.finish(f"{self.how} {self.digest.hexdigest()}")


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    ready = threading.Event()
    state: dict[str, object] = {}

    def serve() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        server = httpserver.HTTPServer(web.Application([(r"/digest", _Digest)]))
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        server.add_sockets(sockets)
        state["port"], state["loop"] = sockets[0].getsockname()[1], loop
        ready.set()
        loop.run_forever()
        server.stop()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait(10)
    yield int(state["port"])  # type: ignore[call-overload]
    loop = state["loop"]
    assert isinstance(loop, asyncio.AbstractEventLoop)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def _put(conn: http.client.HTTPConnection, body: bytes, query: str = "", **headers: str) -> str:
    conn.request("PUT", f"/digest{query}", body=body, headers=headers)
    response = conn.getresponse()
    text = response.read().decode()
    return f"{response.status} {text}" if response.status != 200 else text


def test_tornado_is_the_major_version_body_ingest_was_written_for() -> None:
    assert tornado.version_info[0] == 6, WHERE


def test_claimed_bodies_keep_a_kept_alive_connection_in_step(port: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    data = [os.urandom(n) for n in (0, 1, 300_000, 3 << 20)]
    try:
        for body in data:
            assert _put(conn, body) == f"claimed {hashlib.sha256(body).hexdigest()}", WHERE
        # a handler that stops part-way: Tornado reads and drops the rest, the next request on
        # the same connection is answered as if nothing happened
        big = os.urandom(2 << 20)
        assert _put(conn, big, "?stop=65536").startswith("400"), WHERE
        assert _put(conn, data[2]) == f"claimed {hashlib.sha256(data[2]).hexdigest()}", WHERE
    except TimeoutError as exc:  # pragma: no cover - only when Tornado changed
        raise AssertionError(WHERE) from exc
    finally:
        conn.close()


def test_chunked_bodies_are_left_to_tornado(port: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = os.urandom(200_000)
    try:
        conn.request("PUT", "/digest", body=iter([body[:1000], body[1000:]]))
        response = conn.getresponse()
        assert response.read().decode() == f"tornado {hashlib.sha256(body).hexdigest()}"
    finally:
        conn.close()
