"""Request bodies read straight into an ingest pipeline (:mod:`..storage.ingest`).

Tornado hands a streamed body to ``data_received`` in 64 KiB pieces, each read into a fresh
buffer, copied into ``bytes`` and passed through a coroutine: about a quarter of an upload's
server time went there. Here the connection's own stream reads the body with ``read_into``
straight into reusable 1 MiB buffers (the kernel copies once, no object per piece), while sha256
and the file write run in the pipeline's threads.

This is the ONE place that relies on Tornado 6's HTTP/1 internals (tests/web/test_body_ingest.py
fails loudly if they change):

* ``HTTP1Connection.stream`` is the connection's ``IOStream`` (an attribute, not documented API);
* a ``@stream_request_body`` handler's ``prepare`` runs before the connection reads the body, and
  the connection then reads as many bytes as the request's ``Content-Length`` header says *at
  that moment* (``HTTP1Connection._read_body``). :meth:`RawBody.release` sets it to what is left
  unread (0 once all was read), so the connection reads and discards the rest before the
  response and stays in step with the client whatever happened.

Bodies this does not cover (chunked, content-encoded, not HTTP/1) get no :class:`RawBody` and
take Tornado's ``data_received`` path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from tornado.http1connection import HTTP1Connection
from tornado.httputil import HTTPServerRequest
from tornado.iostream import IOStream

from ..protocols.content_length import declared_length
from ..storage.blobs import BlobWriter
from ..storage.ingest import (
    DEFAULT_BUFFER_BYTES,
    DEFAULT_BUFFERS,
    Digest,
    IngestPipeline,
)

_DECLARED = "_modelvault_declared_length"


def declared_request_bytes(request: HTTPServerRequest) -> int:
    """The body length the client declared, also once a hand read has rewritten
    ``Content-Length`` to what it left unread for Tornado (see :meth:`RawBody.release`)."""
    declared: int | None = getattr(request, _DECLARED, None)
    if declared is None:
        declared = declared_length(request.headers.get("Content-Length"))
    return declared or 0


class RawBody:
    """A request body claimed from Tornado; read it with :meth:`read_into`, then always
    :meth:`release` (in a ``finally``)."""

    def __init__(self, request: HTTPServerRequest, stream: IOStream, length: int) -> None:
        self._request = request
        self._stream = stream
        self.remaining = length
        setattr(request, _DECLARED, length)  # release() rewrites Content-Length

    async def read_into(self, buffer: memoryview) -> int:
        """Fill ``buffer`` (or what is left of the body, if less); the bytes read.

        Raises:
            StreamClosedError: the client went away before sending them.
        """
        view = buffer[: min(len(buffer), self.remaining)]
        if view:
            await self._stream.read_into(view)  # type: ignore[arg-type]  # any writable buffer
            self.remaining -= len(view)
            # When the socket always has data, read_into completes inline and awaiting it never
            # yields: without this, one fast upload held the event loop for seconds (a probe
            # request waited 2.3 s during a 256 MiB PyPI upload). One loop turn per piece.
            await asyncio.sleep(0)
        return len(view)

    def release(self) -> None:
        """Give the connection back: it reads and discards what is left unread."""
        self._request.headers["Content-Length"] = str(self.remaining)


def claim_body(request: HTTPServerRequest, length: int) -> RawBody | None:
    """The body of ``length`` bytes (as its Content-Length says) to read by hand, or None when
    the request does not qualify (then nothing was read: use ``data_received``). Call from a
    ``@stream_request_body`` handler's ``prepare``."""
    connection = request.connection
    stream = getattr(connection, "stream", None)
    headers = request.headers
    if (
        not isinstance(connection, HTTP1Connection)
        or not isinstance(stream, IOStream)
        or "Transfer-Encoding" in headers
        or "Content-Encoding" in headers
        or headers.get("Content-Length") != str(length)
    ):
        return None
    if headers.get("Expect", "").lower() == "100-continue":
        stream.write(b"HTTP/1.1 100 (Continue)\r\n\r\n")  # as Tornado would, before the body
        del headers["Expect"]
    return RawBody(request, stream, length)


def body_length(request: HTTPServerRequest) -> int | None:
    """The declared Content-Length if it is a plain non-negative number, else None."""
    return declared_length(request.headers.get("Content-Length"))


async def read_body_into(
    request: HTTPServerRequest,
    writer: BlobWriter,
    length: int,
    *,
    digests: Sequence[Digest] = (),
    buffers: int = DEFAULT_BUFFERS,
    buffer_bytes: int = DEFAULT_BUFFER_BYTES,
) -> bool:
    """Read the body (exactly ``length`` bytes, as its Content-Length says) into ``writer``,
    hashed and stored by the time this returns; False (nothing read) when the request does not
    qualify. ``digests`` also see every piece (a failing one stops the read); ``buffers`` and
    ``buffer_bytes`` size the ring (the memory one request holds).

    Raises:
        StreamClosedError: the client went away; StorageError: writing failed. The writer then
        holds a prefix only: the caller aborts it.
    """
    body = claim_body(request, length)
    if body is None:
        return False
    pipeline = IngestPipeline(writer, digests=digests, buffers=buffers, buffer_bytes=buffer_bytes)
    try:
        while body.remaining > 0:
            buffer = pipeline.try_acquire()
            if buffer is None:  # every buffer is in flight: wait off the loop
                buffer = await asyncio.to_thread(pipeline.acquire)
            try:
                n = await body.read_into(buffer)
            except BaseException:
                pipeline.commit(0)
                raise
            pipeline.commit(n)
        await asyncio.to_thread(pipeline.finish)
    except BaseException:
        pipeline.abort(wait=10.0)
        raise
    finally:
        body.release()
    return True


__all__ = ["RawBody", "body_length", "claim_body", "declared_request_bytes", "read_body_into"]
