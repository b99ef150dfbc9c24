"""The Xet write routes: ``xet-write-token``, xorb and shard uploads, dedup queries, telemetry."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, ClassVar

from tornado import web

from ...core.xet.cas import MAX_SHARD_BYTES, XorbUpload
from ...core.xet.xorb import MAX_SERIALIZED_XORB_BYTES
from ...errors import (
    NotFoundError,
    PayloadTooLargeError,
    StorageError,
    TooManyRequestsError,
    VaultError,
)
from ...protocols import hf as wire
from ...protocols.content_length import declared_length
from ...storage.ingest import PipelineAbortedError
from ..base import vault_auth
from ..body_ingest import read_body_into
from ..errors import public_message
from ..hf.base import HfHandler
from .cas import CasHandler, cas_url, send_token

log = logging.getLogger(__name__)

XET_PREFIX = r"(?:default|default-merkledb)"
XET_HASH = r"([0-9a-f]{64})"


class WriteTokenHandler(HfHandler):
    """``GET /api/{type}s/{ns}/{name}/xet-write-token/{rev}[?create_pr=1]`` (Hub token)."""

    actions = {"GET": "write"}

    @vault_auth
    def get(self, repository: str, types: str, ns: str, name: str, rev: str) -> None:
        ref = self.hub_ref(repository, wire.TYPE_FROM_PLURAL[types], ns, name)
        token, exp = self.vault.xet.write_token(
            self.principal, ref, rev, create_pr=self.flag("create_pr")
        )
        send_token(self, token, exp, cas_url(self, repository))


MAX_BUFFERED_BYTES = 1024 * 1024 * 1024
"""Shard bodies this process holds in memory at once, all requests together (xorbs stream);
past it a request is told to retry (429, which hf_xet retries with backoff)."""


class _BodyLimit(CasHandler):
    """A CAS upload: the body is collected up to ``max_bytes`` (a declared or actual larger
    body is refused with 413 before it is buffered), within the process's shared allowance."""

    max_bytes: ClassVar[int] = 0
    buffered: ClassVar[int] = 0
    """Bytes reserved by the uploads in flight in this process (one event loop: no lock)."""
    _reserved = 0

    async def prepare_request(self) -> None:
        declared = declared_length(self.request.headers.get("Content-Length"))
        if declared is not None and declared > self.max_bytes:
            raise PayloadTooLargeError(
                f"The body is larger than {self.max_bytes} bytes.", limit=self.max_bytes
            )
        need = self.max_bytes if declared is None else declared
        if _BodyLimit.buffered + need > MAX_BUFFERED_BYTES:
            raise TooManyRequestsError(
                "Too many uploads in flight on this server; retry shortly.", retry_after=2
            )
        _BodyLimit.buffered += need
        self._reserved = need
        self.request.connection.set_max_body_size(self.max_bytes + 1)  # type: ignore[union-attr]
        self.upload = bytearray()

    def on_finish(self) -> None:
        self._release()

    def on_connection_close(self) -> None:
        self._release()
        super().on_connection_close()

    def _release(self) -> None:
        _BodyLimit.buffered -= self._reserved
        self._reserved = 0
        self.upload = bytearray()

    def data_received(self, chunk: bytes) -> None:
        if self._finished:
            return
        self.upload += chunk
        if len(self.upload) > self.max_bytes:  # chunked, or a lying length
            self.upload = bytearray()
            exc = PayloadTooLargeError(f"The body is larger than {self.max_bytes} bytes.")
            self.send_error(413, exc_info=(type(exc), exc, None))


MAX_XORB_STREAMS = 256
"""Xorb uploads one process receives at once (each holds a small buffer ring and two threads);
past it a request is told to retry (429, which hf_xet retries with backoff)."""
XORB_RING_BUFFERS = 4
XORB_RING_BUFFER_BYTES = 1024 * 1024
"""A xorb upload's ring: 4 MiB of buffers, whatever the xorb's size. Verification makes the hash
stage slower than the socket, so the ring is usually full and each buffer then costs the event
loop a hop to a worker thread (``to_thread(acquire)``, 27 % of the server's GIL time with
256 KiB buffers): 1 MiB buffers make 4x fewer hops (128 MiB upload at load ~20: server CPU
0.90 s vs 1.12 s with 256 KiB)."""


@web.stream_request_body
class XorbHandler(CasHandler):
    """``POST {cas}/v1/xorbs/default/{hash}``: a serialized xorb, streamed to a temp blob and
    verified chunk by chunk as it arrives; published only once its hash verified."""

    scope = "write"
    streams: ClassVar[int] = 0
    """Xorb bodies being received in this process (one event loop: no lock)."""
    xorb: XorbUpload | None = None
    receiving = False
    _counted = False
    _received = 0
    _failed: BaseException | None = None

    async def prepare_request(self) -> None:
        declared = declared_length(self.request.headers.get("Content-Length"))
        if declared is not None and declared > MAX_SERIALIZED_XORB_BYTES:
            raise PayloadTooLargeError(
                f"The body is larger than {MAX_SERIALIZED_XORB_BYTES} bytes.",
                limit=MAX_SERIALIZED_XORB_BYTES,
            )
        if XorbHandler.streams >= MAX_XORB_STREAMS:
            raise TooManyRequestsError(
                "Too many uploads in flight on this server; retry shortly.", retry_after=2
            )
        self.request.connection.set_max_body_size(MAX_SERIALIZED_XORB_BYTES + 1)  # type: ignore[union-attr]
        self.xorb = self.vault.xet.xorb_upload(self.grant, self.path_args[1])
        XorbHandler.streams += 1
        self._counted = True
        if declared is None:
            return  # chunked: through data_received
        self.receiving = True
        try:
            await read_body_into(
                self.request,
                self.xorb.writer,
                declared,
                digests=(self.xorb,),
                buffers=XORB_RING_BUFFERS,
                buffer_bytes=XORB_RING_BUFFER_BYTES,
            )
        except PipelineAbortedError:
            self.xorb.abort()  # only now: the pipeline's threads are done with it
            if self.xorb.error is not None:  # the verifier stopped it: say why
                raise self.xorb.error from None
            raise
        except BaseException:
            self.xorb.abort()
            raise
        finally:
            self.receiving = False

    async def data_received(self, chunk: bytes) -> None:
        """Bodies :func:`read_body_into` does not take (chunked, not HTTP/1)."""
        if self.xorb is None or self._failed is not None or self._finished:
            return
        self._received += len(chunk)
        if self._received > MAX_SERIALIZED_XORB_BYTES:  # chunked: the length shows only now
            self._failed = PayloadTooLargeError(
                f"The body is larger than {MAX_SERIALIZED_XORB_BYTES} bytes."
            )
            return
        try:
            await asyncio.to_thread(self.xorb.write, chunk)
        except VaultError as exc:  # answered once the body is in (post)
            self._failed = exc

    @vault_auth
    async def post(self, repository: str, xorb_hash: str) -> None:
        assert self.xorb is not None
        if self._failed is not None:
            raise self._failed
        inserted = await asyncio.to_thread(self.xorb.finish)
        self.write_json({"was_inserted": inserted})

    def on_connection_close(self) -> None:
        if self.xorb is not None and not self.receiving:
            self.xorb.abort()
        self._release()
        super().on_connection_close()

    def on_finish(self) -> None:
        if self.xorb is not None:
            self.xorb.abort()  # no-op after a successful finish
        self._release()

    def _release(self) -> None:
        if self._counted:
            XorbHandler.streams -= 1
            self._counted = False


class ShardV1Handler(_BodyLimit):
    """``POST {cas}/v1/shards``: ``{"result": 0|1}``, or a 4xx naming what is wrong."""

    scope = "write"
    max_bytes = MAX_SHARD_BYTES

    @vault_auth
    async def post(self, repository: str) -> None:
        outcome = await self.vault.xet.put_shard(self.grant, memoryview(self.upload))
        self.write_json({"result": 1 if outcome.new_files else 0})


class ShardV2Handler(_BodyLimit):
    """``POST {cas}/v2/shards``: NDJSON progress, then ``result`` or a terminal ``error``
    event (hf_xet shows its message)."""

    scope = "write"
    max_bytes = MAX_SHARD_BYTES

    @vault_auth
    async def post(self, repository: str) -> None:
        self.set_header("Content-Type", "application/x-ndjson")

        def event(stage: str, done: int, total: int) -> None:
            if stage == "validating":
                self._event({"type": "validating", "verified": done, "total": total})
            else:
                self._event({"type": "committing", "stage": "syncing" if done else "uploading"})

        try:
            outcome = await self.vault.xet.put_shard(self.grant, memoryview(self.upload), event)
        except Exception as exc:  # headers are sent: the error is the stream's last event
            if not isinstance(exc, VaultError) or isinstance(exc, StorageError):
                log.exception("Shard upload failed")
            self._event({"type": "error", "message": public_message(exc), "retryable": False})
        else:
            self._event({"type": "result", "result": 1 if outcome.new_files else 0})
        self.finish()

    def _event(self, payload: dict[str, Any]) -> None:
        self.write(json.dumps(payload) + "\n")
        self.flush()


class DedupHandler(CasHandler):
    """``GET {cas}/v1/chunks/default/{hash}``: 404 (no dedup), or a dedup shard."""

    @vault_auth
    def get(self, repository: str, chunk_hash: str) -> None:
        shard = self.vault.xet.dedup_query(self.grant, chunk_hash)
        if shard is None:
            raise NotFoundError("No stored chunk to deduplicate against.")
        self.set_header("Content-Type", "application/octet-stream")
        self.finish(shard)


class XorbGrantHandler(CasHandler):
    """``POST {cas}/v1/xorb-grants/...`` (new in hf_xet 1.8): 404 makes the client upload the
    xorb through the xorb route."""

    scope = "write"

    @vault_auth
    def post(self, repository: str, *args: str) -> None:
        raise NotFoundError("Upload grants are not offered: upload the xorb itself.")


@web.stream_request_body
class TelemetryHandler(web.RequestHandler):
    """``POST /v1/telemetry`` at the host root (hf_xet's upload/download summary): accepted and
    dropped, so the client does not log failures. Never reads a credential."""

    def data_received(self, chunk: bytes) -> None:
        pass

    def post(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish("{}")

    def check_xsrf_cookie(self) -> None:
        pass


def routes(hf: str, repo_api: str, seg: str) -> list[tuple[str, type[web.RequestHandler]]]:
    """The write routes, given the route table's Hub prefix, repo API prefix and segment."""
    cas = f"{hf}/cas"
    return [
        (rf"{repo_api}/xet-write-token/{seg}", WriteTokenHandler),
        (rf"{cas}/v1/xorbs/{XET_PREFIX}/{XET_HASH}", XorbHandler),
        (rf"{cas}/v1/xorb-grants/(.*)", XorbGrantHandler),
        (rf"{cas}/v1/shards", ShardV1Handler),
        (rf"{cas}/v2/shards", ShardV2Handler),
        (rf"{cas}/v1/chunks/{XET_PREFIX}/{XET_HASH}", DedupHandler),
    ]
