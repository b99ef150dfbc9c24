"""PyPI endpoints under ``{base_url}modelvault/pypi/{repository}/``.

``simple/`` and ``simple/<project>/`` (PEP 503/691), ``files/<sha256>/<filename>`` (+ ``.metadata``,
PEP 658) and the legacy upload API (``POST`` to the repository URL or ``legacy/``). Errors put the
message in the HTTP reason phrase, which pip, uv and twine print verbatim, plus a body that uv shows
(shared/pypi-protocol.md §4, §6).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from http.client import responses
from typing import Any, ClassVar

from tornado import web

from ..core.identity import Action
from ..core.pypi.local import UploadSession
from ..core.pypi.models import FileSource
from ..core.pypi.names import validate_project_name
from ..errors import InvalidInputError, PayloadTooLargeError, VaultError
from ..ids import validate_sha256
from ..protocols import pypi as wire
from ..protocols.multipart import MultipartParser, PartData, PartEnd, PartStart, boundary_of
from ..storage.ingest import DEFAULT_BUFFER_BYTES
from .base import VaultHandler, vault_auth
from .body_ingest import RawBody, body_length, claim_body

log = logging.getLogger("modelvault.pypi")

MAX_FIELD_BYTES = 1024 * 1024
MAX_FIELDS_BYTES = 8 * 1024 * 1024
MAX_PARTS = 10_000
"""Form parts per upload (twine sends one per classifier; a few hundred at most): empty parts
cost no field bytes but each is kept, so their number is bounded too."""
HEADER_NOTICE = "X-ModelVault-Notice"
HEADER_CACHE = "X-ModelVault-Cache"


def reason_phrase(message: str) -> str:
    """One latin-1 line of at most 200 characters (CR/LF would be a header injection)."""
    one_line = " ".join(message.split())[:200]
    return one_line.encode("latin-1", "replace").decode("latin-1")


class PypiHandler(VaultHandler):
    """PyPI routes: reason phrase + RFC 9457 problem details on errors."""

    actions: ClassVar[dict[str, Action | None]] = {"GET": "read", "HEAD": "read", "POST": "write"}

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        status, message, exc = self.error_details(kwargs)
        self.clear_header("Content-Disposition")
        self.clear_header("Accept-Ranges")
        self.set_status(status, reason=reason_phrase(message) or None)
        if status == 401:
            self.set_header("WWW-Authenticate", 'Basic realm="ModelVault"')
        if self.request.method == "HEAD":
            self.finish()
            return
        self.set_header("Content-Type", "application/problem+json")
        self.finish(
            json.dumps(
                {
                    "type": "about:blank",
                    "title": responses.get(status, "Error"),
                    "status": status,
                    "detail": message,
                    "code": exc.code if isinstance(exc, VaultError) else None,
                }
            )
        )

    def index_root(self, key: str) -> str:
        return f"{self.context.base_url}modelvault/pypi/{key}/simple/"

    def negotiate(self) -> wire.Format:
        fmt = wire.negotiate(self.request.headers.get("Accept"), self.get_argument("format", None))
        if fmt is None:
            raise web.HTTPError(
                406,
                "None of the accepted media types is served; use "
                f"{wire.JSON_TYPE}, {wire.HTML_TYPE} or text/html.",
            )
        return fmt

    def send_page(self, body: str, fmt: wire.Format) -> None:
        etag = '"' + hashlib.sha256(f"{fmt}\n{body}".encode()).hexdigest()[:32] + '"'
        self.set_header("Content-Type", wire.CONTENT_TYPES[fmt])
        self.set_header("Vary", "Accept, Authorization")
        self.set_header("Cache-Control", "private, no-cache")
        self.set_header("ETag", etag)
        if etag in self.request.headers.get("If-None-Match", ""):
            self.set_status(304)
            self.finish()
            return
        self.finish(body)


class SimpleIndexHandler(PypiHandler):
    """``GET simple/``: the projects this repository has (local files and cached pages)."""

    @vault_auth
    async def get(self, key: str) -> None:
        if not self.request.path.endswith("/"):
            self.redirect(self.index_root(key), permanent=True)
            return
        fmt = self.negotiate()
        names = await self.vault.pypi.index(self.principal, key)
        self.send_page(wire.render_index(names, fmt), fmt)


class SimpleProjectHandler(PypiHandler):
    """``GET simple/<project>/``; 301 to the normalized name with a trailing slash."""

    @vault_auth
    async def get(self, key: str, project: str) -> None:
        canonical = validate_project_name(project)
        if canonical != project or not self.request.path.endswith("/"):
            self.redirect(f"{self.index_root(key)}{canonical}/", permanent=True)
            return
        fmt = self.negotiate()
        page = await self.vault.pypi.project(self.principal, key, project)
        if page.notice:
            self.set_header(HEADER_NOTICE, reason_phrase(page.notice))
        self.send_page(wire.render_project(page, fmt), fmt)


class FileHandler(PypiHandler):
    """``GET|HEAD files/<sha256>/<filename>``: blobs with Range; cold files stream through."""

    @vault_auth
    async def head(self, key: str, sha256: str, filename: str) -> None:
        await self._serve(key, sha256, filename, send_body=False)

    @vault_auth
    async def get(self, key: str, sha256: str, filename: str) -> None:
        await self._serve(key, sha256, filename, send_body=True)

    async def _serve(self, key: str, sha256: str, filename: str, *, send_body: bool) -> None:
        ranged = self.request.headers.get("Range")
        source = await self.vault.pypi.open_file(
            self.principal,
            key,
            validate_sha256(sha256),
            filename,
            stream=send_body and not ranged,
            count_download=send_body,
        )
        self.set_header(HEADER_CACHE, source.cache)
        self.set_header("ETag", f'"{source.sha256}"')
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("Cache-Control", "private, max-age=31536000, immutable")
        if source.chunks is not None:
            if source.size is not None:
                self.set_header("Content-Length", str(source.size))
                if source.stream is not None:  # by sendfile from the growing file when it can
                    await self.send_content(source.stream, 0, source.size)
                    return
            await self.send_chunks(source.chunks)
            return
        # A cached file the gate admitted (open_file judged it) may come from the object store;
        # pip and uv follow the redirect and drop credentials on the way to another origin.
        location = self.vault.content.download_url(source.blob.sha256) if source.blob else None
        if location is not None:
            self.set_header("Cache-Control", "private, no-store")
            self.redirect(location, status=302)
            return
        await send_blob(self, source, send_body=send_body)


class MetadataHandler(PypiHandler):
    """``GET|HEAD files/<sha256>/<filename>.metadata`` (PEP 658/714)."""

    @vault_auth
    async def head(self, key: str, sha256: str, filename: str) -> None:
        await self._serve(key, sha256, filename, send_body=False)

    @vault_auth
    async def get(self, key: str, sha256: str, filename: str) -> None:
        await self._serve(key, sha256, filename, send_body=True)

    async def _serve(self, key: str, sha256: str, filename: str, *, send_body: bool) -> None:
        blob = await self.vault.pypi.metadata(
            self.principal, key, validate_sha256(sha256), filename
        )
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("ETag", f'"{blob.sha256}"')
        self.set_header("Cache-Control", "private, max-age=31536000, immutable")
        source = FileSource(f"{filename}.metadata", blob.sha256, blob.size, blob=blob)
        await send_blob(self, source, send_body=send_body)


async def send_blob(handler: PypiHandler, source: FileSource, *, send_body: bool) -> None:
    """Serve a stored blob, honouring a single ``Range`` (uv reads wheel tails this way)."""
    assert source.blob is not None
    size = source.blob.size
    bounds = handler.byte_range(size)
    if bounds is None:
        return
    start, end = bounds
    if not send_body:
        handler.finish()
        return
    await handler.send_content(handler.vault.open_stored(source.blob.sha256), start, end)


@web.stream_request_body
class UploadHandler(PypiHandler):
    """``POST <repository>/`` or ``<repository>/legacy/``: twine / ``uv publish`` uploads.

    The multipart body is parsed as it arrives; the file part streams into a blob writer (never
    held in memory), other fields are kept (bounded). Errors found while receiving are raised
    from :meth:`post`, where they become the response.
    """

    session: UploadSession | None = None

    async def prepare_request(self) -> None:
        self.session = None
        self._field: str | None = None
        self._value = bytearray()
        self._fields_bytes = 0
        self._parts = 0
        self._error: VaultError | None = None
        if self.request.method != "POST":
            return
        self.session = self.vault.pypi.begin_upload(self.principal, self.path_args[0])
        self._parser = MultipartParser(boundary_of(self.request.headers.get("Content-Type", "")))
        limit = self.vault.pypi.options.upload_max_bytes + MAX_FIELDS_BYTES
        self.request.connection.set_max_body_size(limit)  # type: ignore[union-attr]
        length = body_length(self.request)
        if length is not None and length > limit:
            raise PayloadTooLargeError(f"The upload is larger than the limit of {limit} bytes.")
        body = claim_body(self.request, length) if length is not None else None
        if body is not None:
            await self._read_body(body)

    async def _read_body(self, body: RawBody) -> None:
        """The body read by hand in 1 MiB pieces (see web/body_ingest.py), parsed, and the file
        part handed to the session's ingest pipeline (sha256 and write in its threads)."""
        assert self.session is not None
        # At most one pipeline buffer per parsed piece (a piece is never longer than a read).
        buffer = memoryview(bytearray(DEFAULT_BUFFER_BYTES))
        try:
            while body.remaining and self._error is None:
                n = await body.read_into(buffer)
                try:
                    for event in self._parser.feed(buffer[:n]):
                        if isinstance(event, PartData) and self._field is None:
                            if self.session.writer is None:
                                continue
                            if self.session.has_room():
                                self.session.write(event.data)
                            else:  # every buffer in flight: wait off the loop
                                await asyncio.to_thread(self.session.write, event.data)
                        else:
                            self._on_event(event)
                except VaultError as exc:
                    self._error = exc
                    self.session.abort()
        except BaseException:
            self.session.abort()
            raise
        finally:
            body.release()  # whatever is left unread is discarded by Tornado

    def data_received(self, chunk: bytes) -> None:
        if self.session is None or self._error is not None:
            return
        try:
            for event in self._parser.feed(chunk):
                self._on_event(event)
        except VaultError as exc:
            self._error = exc
            self.session.abort()

    def _on_event(self, event: PartStart | PartData | PartEnd) -> None:
        assert self.session is not None
        if isinstance(event, PartStart):
            self._parts += 1
            if self._parts > MAX_PARTS:
                raise InvalidInputError(f"The upload form has more than {MAX_PARTS} parts.")
            if event.filename is not None and event.name == "content":
                self.session.start_file(event.filename)
                self._field = None
            else:
                self._field = event.name
                self._value = bytearray()
        elif isinstance(event, PartData):
            if self._field is None:
                if self.session.writer is not None:
                    self.session.write(event.data)
                return
            self._value += event.data
            self._fields_bytes += len(event.data)
            if len(self._value) > MAX_FIELD_BYTES or self._fields_bytes > MAX_FIELDS_BYTES:
                raise InvalidInputError("The upload form fields are too large.")
        elif self._field is not None:
            text = self._value.decode("utf-8", "replace")
            self.session.fields.setdefault(self._field, []).append(text)
            self._field = None

    def on_connection_close(self) -> None:
        if self.session is not None:
            self.session.abort()

    def on_finish(self) -> None:
        if self.session is not None:
            self.session.abort()  # no-op after a successful upload

    @vault_auth
    async def post(self, key: str) -> None:
        assert self.session is not None
        if self._error is not None:
            raise self._error
        if not self._parser.complete:
            raise InvalidInputError("The multipart body ended early.")
        # Waits for the pipeline, verifies and fsyncs a file of up to GBs: off the event loop.
        filename, created = await asyncio.to_thread(self.vault.pypi.finish_upload, self.session)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(f"{'Stored' if created else 'Already stored (identical)'}: {filename}\n")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        # uv publish prints the body ("Server says: …"), twine the reason phrase: send both.
        status, message, _ = self.error_details(kwargs)
        self.set_status(status, reason=reason_phrase(message) or None)
        if status == 401:
            self.set_header("WWW-Authenticate", 'Basic realm="ModelVault"')
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(message + "\n")
