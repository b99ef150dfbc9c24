"""Request bodies read straight into an ingest pipeline (:mod:`..storage.ingest`).

Tornado hands a streamed body to ``data_received`` in 64 KiB pieces, each read into a fresh
buffer, copied into ``bytes`` and passed through a coroutine: about a quarter of an upload's
server time went there. Here the connection's own stream reads the body with ``read_into``
straight into the pipeline's reusable 1 MiB buffers (the kernel copies once, no object per piece),
while sha256 and the file write run in the pipeline's threads.

This runs in a handler's ``prepare`` (after the request is authorised, before Tornado reads the
body). Afterwards the request's ``Content-Length`` is set to what is left unread (0 once all was
read), which is what Tornado's HTTP/1 connection then reads and discards before the response: the
connection stays in step with the client whatever happened. Bodies this does not cover (chunked,
content-encoded, not HTTP/1) return False and take Tornado's path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from tornado.http1connection import HTTP1Connection
from tornado.httputil import HTTPServerRequest
from tornado.iostream import IOStream

from ..storage.blobs import BlobWriter
from ..storage.ingest import (
    DEFAULT_BUFFER_BYTES,
    DEFAULT_BUFFERS,
    Digest,
    IngestPipeline,
)


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
        return False
    if headers.get("Expect", "").lower() == "100-continue":
        stream.write(b"HTTP/1.1 100 (Continue)\r\n\r\n")  # as Tornado would, before the body
        del headers["Expect"]
    pipeline = IngestPipeline(writer, digests=digests, buffers=buffers, buffer_bytes=buffer_bytes)
    remaining = length
    try:
        while remaining > 0:
            buffer = pipeline.try_acquire()
            if buffer is None:  # every buffer is in flight: wait off the loop
                buffer = await asyncio.to_thread(pipeline.acquire)
            view = buffer[: min(len(buffer), remaining)]
            try:
                await stream.read_into(view)  # type: ignore[arg-type]  # any writable buffer
            except BaseException:
                pipeline.commit(0)
                raise
            pipeline.commit(len(view))
            remaining -= len(view)
        await asyncio.to_thread(pipeline.finish)
    except BaseException:
        pipeline.abort(wait=10.0)
        raise
    finally:
        headers["Content-Length"] = str(remaining)
    return True


__all__ = ["read_body_into"]
