"""Git LFS endpoints: batch negotiation, verify, and the pre-signed upload URLs (basic and multipart)."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlencode

from tornado import web

from ...core.hub.lfs import MAX_BATCH_OBJECTS, BatchResult
from ...core.hub.refs import HubRef
from ...errors import InvalidInputError
from ...protocols import hf as wire
from ...storage.blobs import BlobWriter
from ..base import vault_auth
from ..body_ingest import read_body_into
from .base import HfHandler

YIELD_EVERY = 4
"""Batch objects answered between two turns of the event loop."""


class LfsBatchHandler(HfHandler):
    """``POST /{tp}{ns}/{name}.git/info/lfs/objects/batch``: which objects to upload, and where."""

    @vault_auth
    async def post(self, repository: str, prefix: str | None, ns: str, name: str) -> None:
        ref = self.hub_ref(repository, wire.TYPE_FROM_PREFIX[prefix], ns, name)
        body = self.json_body()
        if not isinstance(body, dict) or body.get("operation") != "upload":
            raise InvalidInputError("Only the LFS 'upload' operation is supported here.")
        raw = body.get("objects")
        if not isinstance(raw, list) or not raw:
            raise InvalidInputError("Expected a non-empty 'objects' list.")
        if len(raw) > MAX_BATCH_OBJECTS:
            raise InvalidInputError(f"At most {MAX_BATCH_OBJECTS} objects per batch request.")
        objects = [(str(o.get("oid")), o.get("size")) for o in raw if isinstance(o, dict)]
        out: list[str] = []
        transfer = "basic"
        for n, result in enumerate(self.vault.lfs.batch_results(self.principal, ref, objects), 1):
            obj = self._object(ref, result)
            if "header" in obj.get("actions", {}).get("upload", {}):
                transfer = "multipart"
            out.append(json.dumps(obj))
            if n % YIELD_EVERY == 0:
                # a thousand lookups, signatures and up to MAX_PARTS URLs: let others in between
                # (a worker thread would not: it would hold the GIL against the event loop)
                await asyncio.sleep(0)
        self.set_header("Content-Type", "application/vnd.git-lfs+json")
        self.finish(f'{{"transfer": {json.dumps(transfer)}, "objects": [{", ".join(out)}]}}')

    def _object(self, ref: HubRef, r: BatchResult) -> dict[str, Any]:
        obj: dict[str, Any] = {"oid": r.oid, "size": r.size, "authenticated": True}
        if r.grant is None:
            return obj
        g = r.grant
        query = urlencode(
            {"exp": g.expires_at, "sig": g.signature, "ps": g.part_size or 0, "tok": g.token_id}
        )
        href = f"{self.endpoint(ref.repository)}/lfs-objects/{g.oid}/{g.size}"
        verify = f"{self.repo_url(ref)}.git/info/lfs/objects/verify"
        if g.part_size is not None and g.part_count is not None:
            header: dict[str, str] = {"chunk_size": str(g.part_size)}
            for n in range(1, g.part_count + 1):
                header[str(n)] = f"{href}/part/{n}?{query}"
            obj["actions"] = {
                "upload": {"href": f"{href}/complete?{query}", "header": header},
                "verify": {"href": verify},
            }
        else:
            obj["actions"] = {"upload": {"href": f"{href}?{query}"}, "verify": {"href": verify}}
        return obj


class LfsVerifyHandler(HfHandler):
    @vault_auth
    def post(self, repository: str, prefix: str | None, ns: str, name: str) -> None:
        ref = self.hub_ref(repository, wire.TYPE_FROM_PREFIX[prefix], ns, name)
        body = self.json_body()
        size = body.get("size") if isinstance(body, dict) else None
        if not isinstance(size, int) or isinstance(size, bool):
            raise InvalidInputError("Expected JSON with 'oid' and 'size'.")
        self.vault.lfs.verify(self.principal, ref, str(body.get("oid")), body["size"])
        self.write_json({"message": "verified"})


@web.stream_request_body
class LfsObjectHandler(HfHandler):
    """The pre-authorised upload URL: ``PUT`` of one object (or one part of it).

    The body streams into a blob writer; the object becomes visible only once its sha256 and size
    match the grant. A body that ends early, or a dropped connection, leaves nothing behind.
    """

    actions = {"PUT": None, "POST": None}  # the client sends no token: the URL's signature decides
    writer: BlobWriter | None = None
    receiving = False

    async def prepare_request(self) -> None:
        repository, oid, size, part = (
            self.path_args[0],
            self.path_args[1],
            self.path_args[2],
            self.path_args[3],
        )
        self.grant = self.vault.lfs.check_grant(
            repository,
            oid,
            int(size),
            self.int_arg("exp", 0),
            self.get_query_argument("sig", ""),
            self.int_arg("ps", 0) or None,
            self.get_query_argument("tok", ""),
        )
        self.part_number = int(part) if part else None
        self.writer = None
        self.completion = bytearray()
        if self.request.method != "PUT":
            self.request.connection.set_max_body_size(1 << 20)  # type: ignore[union-attr]
            return
        expected = (
            self.vault.lfs.part_bounds(self.grant, self.part_number)
            if self.part_number is not None
            else self.grant.size
        )
        if self.part_number is None and self.grant.part_size is not None:
            raise InvalidInputError("This object must be uploaded in parts.")
        declared = self.request.headers.get("Content-Length")
        if declared is not None and declared != str(expected):
            raise InvalidInputError(
                f"Content-Length {declared} does not match the announced size {expected}."
            )
        self.expected_size = expected
        self.request.connection.set_max_body_size(expected)  # type: ignore[union-attr]
        # A whole object's sha256 is known: the store may write straight to its final place.
        self.writer = self.vault.content.writer(
            self.grant.oid if self.part_number is None else None
        )
        # Received, hashed and written in a pipeline; else through data_received below.
        self.receiving = True
        try:
            await read_body_into(self.request, self.writer, expected)
        except BaseException:
            self.writer.abort()  # only now: the pipeline's threads are done with it
            raise
        finally:
            self.receiving = False

    async def data_received(self, chunk: bytes) -> None:
        if self.writer is not None:
            # Hashing and writing in a worker thread keep the event loop free for other
            # requests; tornado waits for this before reading more (backpressure).
            await asyncio.to_thread(self.writer.write, chunk)
        else:
            self.completion += chunk  # the small JSON of a multipart completion

    def on_connection_close(self) -> None:
        if self.writer is not None and not self.receiving:
            self.writer.abort()

    def on_finish(self) -> None:
        if self.writer is not None:
            self.writer.abort()  # no-op after a successful commit

    @vault_auth
    async def put(self, repository: str, oid: str, size: str, part: str | None = None) -> None:
        assert self.writer is not None
        if self.part_number is not None:
            # Parts are plain (unregistered) blobs named by their sha256; the ETag binds it to
            # this upload.
            part_info = await asyncio.to_thread(self.writer.commit, None, self.expected_size)
            self.set_header("ETag", f'"{self.vault.lfs.part_etag(self.grant, part_info.sha256)}"')
            self.finish()
            return
        # Verifying and the final fsync of a multi-GB object run off the event loop.
        blob = await asyncio.to_thread(
            self.vault.content.finish, self.writer, self.grant.oid, self.grant.size
        )
        self.vault.lfs.finish_upload(self.grant, blob)
        # Scanned on arrival, so the commit that references it finds the verdict ready.
        await self.vault.gate.scan_async(blob.sha256)
        self.finish()

    @vault_auth
    async def post(self, repository: str, oid: str, size: str, part: str | None = None) -> None:
        """Multipart completion: ``{"oid", "parts": [{"partNumber", "etag"}]}``."""
        self.request.body = bytes(self.completion)
        body = self.json_body()
        parts = body.get("parts") if isinstance(body, dict) else None
        if not isinstance(parts, list):
            raise InvalidInputError("Expected JSON with a 'parts' list.")
        pairs = [
            (p["partNumber"], str(p.get("etag", "")))
            for p in parts
            if isinstance(p, dict) and isinstance(p.get("partNumber"), int)
        ]
        # Re-reads, hashes and writes the whole object: off the event loop.
        await asyncio.to_thread(self.vault.lfs.complete_multipart, self.grant, pairs)
        self.write_json({"message": "completed"})
