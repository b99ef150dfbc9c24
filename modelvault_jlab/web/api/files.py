"""Generic files (bundle components that are neither Hub repos nor packages): list, upload."""

from __future__ import annotations

from typing import Any

from tornado import web

from ...storage.blobs import BlobWriter
from ...storage.bundles import GenericFileRecord
from ..base import vault_auth
from .base import ApiHandler
from .bundles import MAX_ARCHIVE_BYTES


def file_json(r: GenericFileRecord) -> dict[str, Any]:
    return {
        "name": r.name,
        "sha256": r.sha256,
        "size": r.size,
        "created_by": r.created_by,
        "created_at": r.created_at,
    }


class FilesHandler(ApiHandler):
    @vault_auth
    def get(self) -> None:
        self.write_json({"files": [file_json(r) for r in self.vault.bundles.files(self.principal)]})


@web.stream_request_body
class FileHandler(ApiHandler):
    """``PUT files/{name}``: a generic file streamed into the blob store (``X-Sha256`` checks
    it when sent)."""

    writer: BlobWriter | None = None

    async def prepare_request(self) -> None:
        if self.request.method == "PUT":
            self.writer = self.vault.bundles.begin_file(self.principal, self.path_args[0])
            self.request.connection.set_max_body_size(MAX_ARCHIVE_BYTES)  # type: ignore[union-attr]

    def data_received(self, chunk: bytes) -> None:
        if self.writer is not None:
            self.writer.write(chunk)

    def on_connection_close(self) -> None:
        if self.writer is not None:
            self.writer.abort()

    @vault_auth
    def put(self, name: str) -> None:
        assert self.writer is not None
        try:
            record = self.vault.bundles.finish_file(
                self.principal, name, self.writer, self.request.headers.get("X-Sha256") or None
            )
        finally:
            self.writer.abort()
        self.write_json(file_json(record), status=201)
