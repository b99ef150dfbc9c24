"""pypi-local repositories: uploads through the legacy API (twine, ``uv publish``) and their pages.

Release files are immutable: a second upload of a filename with *different* bytes is refused
(409), an identical one is accepted again without change (idempotent, so CI retries succeed).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from packaging.version import InvalidVersion, Version

from ...errors import ConflictError, InvalidInputError, StorageError, VaultError
from ...ids import Sha256, is_sha256
from ...storage.blobs import BlobWriter
from ...storage.ingest import IngestPipeline, PipelineAbortedError
from ...storage.packages import PackageFileRecord, PackageStore
from ...storage.records import RepositoryRecord
from ..audit import AuditLog
from ..content import ContentStore
from ..identity import Principal
from .metadata import (
    CoreMetadata,
    advertisable,
    parse_core_metadata,
    sdist_pkg_info,
    wheel_metadata,
)
from .models import DistFile, ProjectPage
from .names import DistFilename, normalize, parse_filename

log = logging.getLogger(__name__)


@dataclass
class UploadSession:
    """One upload request in progress: the form's file part streams into ``writer``.

    Created by :meth:`PypiService.begin_upload` (after the permission check, before the body
    arrives); always end it with ``finish_upload`` or :meth:`abort`.
    """

    repository: RepositoryRecord
    who: Principal
    content: ContentStore
    max_bytes: int
    filename: str | None = None
    writer: BlobWriter | None = None
    error: VaultError | None = None
    fields: dict[str, list[str]] = field(default_factory=dict)

    pipeline: IngestPipeline | None = None
    received: int = 0

    def start_file(self, filename: str) -> None:
        """Raises InvalidInputError for a second file or an unsafe/unknown filename."""
        if self.writer is not None:
            raise InvalidInputError("Only one file per upload request is supported.")
        parse_filename(filename)
        self.filename = filename
        self.writer = self.content.writer()
        # Hashed and written in the pipeline's threads while the body is still being parsed.
        self.pipeline = IngestPipeline(self.writer)

    def write(self, chunk: bytes | memoryview) -> None:
        """Blocks while the pipeline's buffers are all in flight (see :meth:`has_room`)."""
        assert self.pipeline is not None
        if self.received + len(chunk) > self.max_bytes:
            raise InvalidInputError(f"The file is larger than the limit of {self.max_bytes} bytes.")
        self.received += len(chunk)
        try:
            self.pipeline.write(chunk)
        except PipelineAbortedError as exc:
            error = self.pipeline.error
            raise error if isinstance(error, VaultError) else StorageError(str(exc)) from exc

    def has_room(self) -> bool:
        """Whether :meth:`write` of one buffer's worth would not block."""
        return self.pipeline is None or self.pipeline.has_free()

    def drain(self) -> None:
        """Wait until the file's bytes are hashed and stored (blocks). Raises what a stage
        raised (StorageError)."""
        if self.pipeline is not None:
            self.pipeline.finish()
            self.pipeline = None

    def abort(self) -> None:
        if self.pipeline is not None:
            self.pipeline.abort(wait=10.0)  # its threads are done with the writer after this
            self.pipeline = None
        if self.writer is not None:
            self.writer.abort()


def _same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def _one(fields: dict[str, list[str]], name: str) -> str | None:
    values = fields.get(name)
    return values[0].strip() if values else None


class LocalIndex:
    def __init__(
        self,
        packages: PackageStore,
        content: ContentStore,
        audit: AuditLog,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._packages = packages
        self._content = content
        self._audit = audit
        self._clock = clock

    def page(self, repo: RepositoryRecord, project: str) -> ProjectPage | None:
        records = self._packages.list_files(repo.key, project)
        if not records:
            return None
        return ProjectPage(
            name=project,
            files=tuple(
                DistFile(
                    filename=r.filename,
                    sha256=r.sha256,
                    size=r.size,
                    requires_python=r.requires_python,
                    yanked=r.yanked,
                    upload_time=r.upload_time,
                    metadata_sha256=r.metadata_sha256,
                    version=r.version,
                    repository=repo.key,
                )
                for r in records
            ),
        )

    def finish_upload(self, session: UploadSession) -> tuple[PackageFileRecord, bool]:
        """Validate and store the uploaded file; returns ``(record, created)``.

        Raises:
            InvalidInputError: not a file upload, bad name/version/metadata, unsafe filename.
            DigestMismatchError: the body does not hash to the sent ``sha256_digest``.
            ConflictError: the filename exists with different content.
        """
        if session.error is not None:
            raise session.error
        fields = session.fields
        action = _one(fields, ":action")
        if action != "file_upload":
            raise InvalidInputError(
                f"Unsupported ':action' {action!r}: only 'file_upload' is accepted."
            )
        if session.writer is None or session.filename is None:
            raise InvalidInputError("The upload has no 'content' file part.")
        writer, filename = session.writer, session.filename
        session.drain()
        dist = parse_filename(filename)
        self._check_form(fields, dist)
        sha = writer.sha256
        expected = (_one(fields, "sha256_digest") or "").lower() or None
        if expected is not None and not is_sha256(expected):
            raise InvalidInputError("'sha256_digest' must be 64 hex digits.")
        existing = self._packages.get_file(session.repository.key, filename)
        if existing is not None:
            writer.abort()
            if existing.sha256 != sha:
                raise _conflict(filename, existing.sha256)
            self._audit_upload(session, existing, created=False)
            return existing, False
        was_known = self._content.known(sha) is not None
        info = self._content.finish(writer, expected)
        try:
            meta_bytes, core = self._read_metadata(info.sha256, dist)
        except VaultError:
            if not was_known:  # never keep bytes of a rejected upload
                with contextlib.suppress(OSError, VaultError):
                    self._content.blobs.delete(info.sha256)
            raise
        metadata_sha = (
            self._content.put_bytes(meta_bytes).sha256
            if advertisable(core, dist.packagetype)
            else None
        )
        record = PackageFileRecord(
            repository=session.repository.key,
            project=dist.name,
            filename=filename,
            version=dist.version,
            sha256=info.sha256,
            size=info.size,
            requires_python=core.requires_python or _one(fields, "requires_python") or None,
            yanked=None,
            upload_time=self._clock(),
            metadata_sha256=metadata_sha,
            uploaded_by=session.who.name,
            origin="upload",
            display_name=core.name,
        )
        stored, created = self._packages.add_file(record)
        if stored.sha256 != info.sha256:  # lost a race with a different upload
            raise _conflict(filename, stored.sha256)
        self._audit_upload(session, stored, created=created)
        return stored, created

    @staticmethod
    def _check_form(fields: dict[str, list[str]], dist: DistFilename) -> None:
        name = _one(fields, "name")
        if name is not None and normalize(name) != dist.name:
            raise InvalidInputError(
                f"The form names project {name[:80]!r} but the file is '{dist.filename}'."
            )
        version = _one(fields, "version")
        if version is not None and not _same_version(version, dist.version):
            raise InvalidInputError(
                f"The form names version {version[:40]!r} but the file is '{dist.filename}'."
            )

    def _read_metadata(self, sha256: Sha256, dist: DistFilename) -> tuple[bytes, CoreMetadata]:
        with self._content.blobs.open_reader(sha256) as f:
            if dist.packagetype == "bdist_wheel":
                data = wheel_metadata(f)
            else:
                data = sdist_pkg_info(f, dist.filename)
        core = parse_core_metadata(data)
        if normalize(core.name) != dist.name or not _same_version(core.version, dist.version):
            raise InvalidInputError(
                f"'{dist.filename}' contains metadata for {core.name[:80]} {core.version[:40]}, "
                "which does not match its filename."
            )
        return data, core

    def _audit_upload(
        self, session: UploadSession, record: PackageFileRecord, created: bool
    ) -> None:
        self._audit.record(
            session.who,
            "pypi.file.upload",
            repository=record.repository,
            subject=record.filename,
            project=record.project,
            version=record.version,
            sha256=record.sha256,
            size=record.size,
            idempotent=not created,
        )


def _conflict(filename: str, stored_sha256: str) -> ConflictError:
    return ConflictError(
        f"File already exists: '{filename}' is stored with different content "
        f"(sha256 {stored_sha256[:16]}...); release files are immutable, upload a new version.",
        filename=filename,
    )
