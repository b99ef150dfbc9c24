"""Bundle routes of the JSON API: create, list, show, promote, verify, export, import, BOM, keys
and generic files. Thin: one domain call per verb; archives stream both ways."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

from tornado import web

from ..core.bundles.bom import bundle_bom
from ..core.bundles.transfer import ImportSession, begin_import, export_archive
from ..errors import InvalidInputError, VaultError
from ..storage.blobs import BlobWriter
from ..storage.bundles import GenericFileRecord
from .api import ApiHandler
from .base import vault_auth

MAX_ARCHIVE_BYTES = 16 * 1024**4


def file_json(r: GenericFileRecord) -> dict[str, Any]:
    return {
        "name": r.name,
        "sha256": r.sha256,
        "size": r.size,
        "created_by": r.created_by,
        "created_at": r.created_at,
    }


class BundlesHandler(ApiHandler):
    """``GET bundles?name=&environment=`` lists; ``POST bundles`` creates (201)."""

    @vault_auth
    def get(self) -> None:
        views = self.vault.bundles.list_bundles(
            self.principal, self.get_argument("name", None), self.get_argument("environment", None)
        )
        self.write_json(
            {
                "environments": list(self.vault.bundles.environments),
                "bundles": [
                    {
                        "name": v.record.name,
                        "version": v.record.version,
                        "digest": v.record.digest,
                        "environment": v.environment,
                        "created_by": v.record.created_by,
                        "created_at": v.record.created_at,
                        "origin": v.record.origin,
                    }
                    for v in views
                ],
            }
        )

    @vault_auth
    async def post(self) -> None:
        view = await self.vault.bundles.create(self.principal, self.json_body())
        self.write_json(view.to_json(), status=201)


class BundleHandler(ApiHandler):
    @vault_auth
    def get(self, name: str, version: str) -> None:
        self.write_json(self.vault.bundles.get(self.principal, name, version).to_json())


class BundlePromoteHandler(ApiHandler):
    @vault_auth
    def post(self, name: str, version: str) -> None:
        body = self.json_body()
        target = body.get("to") if isinstance(body, dict) else None
        if not isinstance(target, str):
            raise InvalidInputError('Expected {"to": <environment>}.')
        self.write_json(self.vault.bundles.promote(self.principal, name, version, target).to_json())


class BundleVerifyHandler(ApiHandler):
    @vault_auth
    async def get(self, name: str, version: str) -> None:
        report = await asyncio.to_thread(self.vault.bundles.verify, self.principal, name, version)
        self.write_json(report)


class BundleBomHandler(ApiHandler):
    @vault_auth
    def get(self, name: str, version: str) -> None:
        view = self.vault.bundles.get(self.principal, name, version)
        self.set_header("Content-Type", "application/vnd.cyclonedx+json; version=1.6")
        self.finish(json.dumps(bundle_bom(view.manifest, view.record.digest), indent=1))


async def _aiter(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    # Blob reads come from the page cache, like every download (core/streaming.py).
    for chunk in chunks:
        yield chunk


class BundleArchiveHandler(ApiHandler):
    """The bundle as one tar, streamed from the blob store in chunks."""

    @vault_auth
    async def get(self, name: str, version: str) -> None:
        export = export_archive(
            self.vault.bundles, self.principal, name, version, self.context.download_chunk_bytes
        )
        self.set_header("Content-Type", "application/x-tar")
        self.set_header("Content-Length", str(export.size))
        self.set_header("Content-Disposition", f'attachment; filename="{export.filename}"')
        with self.vault.activity.track(
            "export", ((None, f"{name}@{version}"),), export.size
        ) as progress:
            if not await self.send_chunks(_aiter(progress.counting(export.chunks))):
                progress.fail("The export was cut short: the client left or a blob was unreadable.")


@web.stream_request_body
class BundleImportHandler(ApiHandler):
    """``POST bundles/import?hub_repository=&pypi_repository=&public_key=`` with the archive as
    the body. Verified while it streams; published only once all of it verified.

    Hashing and writing run in a worker thread on batches of ``BATCH_BYTES``, one batch in
    flight while the next is read from the socket (tornado waits for ``data_received``'s future,
    so memory stays bounded by two batches).
    """

    BATCH_BYTES = 1 << 20
    session: ImportSession | None = None
    _error: VaultError | None = None
    _pending: asyncio.Future[None] | None = None

    async def prepare_request(self) -> None:
        self._batch: list[bytes] = []
        self._batched = 0
        self.session = begin_import(
            self.vault.bundles,
            self.principal,
            self.get_argument("hub_repository", None) or None,
            self.get_argument("pypi_repository", None) or None,
            self.get_argument("public_key", None) or None,
        )
        self.request.connection.set_max_body_size(MAX_ARCHIVE_BYTES)  # type: ignore[union-attr]

    def _feed(self, data: bytes) -> None:  # in a worker thread, one batch at a time
        if self.session is None or self._error is not None:
            return
        try:
            self.session.feed(data)
        except VaultError as exc:  # keep reading the body; answer once it ended
            self._error = exc

    async def _submit(self) -> None:
        data = b"".join(self._batch)
        self._batch.clear()
        self._batched = 0
        if self._pending is not None:
            await self._pending
        self._pending = asyncio.ensure_future(asyncio.to_thread(self._feed, data))

    async def data_received(self, chunk: bytes) -> None:  # type: ignore[override]
        self._batch.append(chunk)
        self._batched += len(chunk)
        if self._batched >= self.BATCH_BYTES:
            await self._submit()

    def on_connection_close(self) -> None:
        self._closing = asyncio.ensure_future(self._abort())

    async def _abort(self) -> None:
        if self._pending is not None:
            with contextlib.suppress(Exception):
                await self._pending
        if self.session is not None:
            self.session.abort()

    @vault_auth
    async def post(self) -> None:
        assert self.session is not None
        await self._submit()
        assert self._pending is not None
        await self._pending
        if self._error is not None:
            self.session.abort()
            raise self._error
        view = await asyncio.to_thread(self.session.finish)
        self.write_json(view.to_json(), status=201)


class BundleKeysHandler(ApiHandler):
    """Public keys (own and trusted); POST registers another vault's key as trusted (admin)."""

    @vault_auth
    def get(self) -> None:
        self.write_json(self.vault.bundles.public_keys())

    @vault_auth
    def post(self) -> None:
        self.require_admin()
        body = self.json_body()
        key = body.get("public_key") if isinstance(body, dict) else None
        if not isinstance(key, str):
            raise InvalidInputError('Expected {"public_key": <base64 Ed25519 public key>}.')
        key_id = self.vault.bundles.keys.trust(key)
        self.vault.audit.record(self.principal, "bundle.key.trust", subject=key_id)
        self.write_json({"key_id": key_id}, status=201)


class PackageProjectsHandler(ApiHandler):
    """``GET repositories/{key}/packages``: projects of a pypi repository, for the bundle wizard."""

    @vault_auth
    def get(self, key: str) -> None:
        self.write_json({"projects": self.vault.bundles.package_projects(self.principal, key)})


class PackageFilesHandler(ApiHandler):
    """``GET repositories/{key}/packages/{project}``: its stored files (what a bundle can pin)."""

    @vault_auth
    def get(self, key: str, project: str) -> None:
        files = self.vault.bundles.package_files(self.principal, key, project)
        self.write_json(
            {
                "project": project,
                "files": [
                    {
                        "filename": f.filename,
                        "version": f.version,
                        "sha256": f.sha256,
                        "size": f.size,
                        "requires_python": f.requires_python,
                        "yanked": f.yanked,
                    }
                    for f in files
                ],
            }
        )


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
