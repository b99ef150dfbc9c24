"""The PyPI facade: one object (``vault.pypi``) for every PyPI route.

Access rules: reading a repository needs ``read`` on it (or the repository is public), uploading
needs ``write``. Reading through a virtual repository needs ``read`` on the virtual repository
and sees only the members the caller may read too: a virtual repository never widens access.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from ...errors import (
    InvalidInputError,
    NotFoundError,
    RepositoryNotFoundError,
    UnsupportedOperationError,
    UpstreamError,
    VaultError,
)
from ...ids import Sha256
from ...storage.meta import RepositoryStore
from ...storage.packages import PackageStore
from ...storage.records import BlobInfo, RepositoryRecord
from ..audit import AuditLog
from ..cache_quota import QUOTA_SETTINGS
from ..content import ContentStore
from ..governance.gate import Gate
from ..governance.subject import Subject
from ..identity import AccessPolicy, Action, Principal
from ..observer import NO_OBSERVER, Observer
from ..repositories import check_settings
from ..streaming import StreamThrough
from ..upstream_proxy import PROXY_SETTINGS
from .local import LocalIndex, UploadSession
from .models import DistFile, FileSource, ProjectPage
from .names import parse_filename, validate_filename, validate_project_name
from .ports import PypiUpstream
from .remote import PypiOptions, RemoteIndex, credentials_out_of_url, validate_upstream_url

PYPI_KINDS = ("pypi-local", "pypi-remote", "pypi-virtual")
_CONFIG_KEYS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "pypi-local": {},
    "pypi-remote": {
        "upstream": str,
        "upstream_username": str,
        "upstream_password": str,
        "ttl_seconds": (int, float),
        "negative_ttl_seconds": (int, float),
        "timeout_seconds": (int, float),
        "offline": bool,
        **PROXY_SETTINGS,
        **QUOTA_SETTINGS,
    },
    "pypi-virtual": {"members": list, "dependency_confusion_guard": bool},
}


class PypiService:
    observer: Observer = NO_OBSERVER

    def __init__(
        self,
        *,
        meta: RepositoryStore,
        packages: PackageStore,
        content: ContentStore,
        access: AccessPolicy,
        audit: AuditLog,
        upstream: PypiUpstream | None,
        options: PypiOptions | None = None,
        gate: Gate | None = None,
        streams: StreamThrough | None = None,
        clock: Callable[[], float] = time.time,
        reveal: Callable[[str], str] = str,
    ) -> None:
        """``reveal``: the plain value of a stored secret setting (core/secrets.py)."""
        self.options = options or PypiOptions()
        self._gate = gate
        self._meta = meta
        self._packages = packages
        self._content = content
        self._access = access
        self._audit = audit
        self._upstream = upstream
        self.local = LocalIndex(packages, content, audit, clock)
        self.remote = RemoteIndex(
            packages,
            content,
            upstream,
            self.options,
            streams or StreamThrough(content),
            clock,
            reveal=reveal,
        )

    async def aclose(self) -> None:
        if self._upstream is not None:
            await self._upstream.aclose()

    def close(self) -> None:
        self._packages.close()

    # -- configuration --
    def validate_config(self, kind: str, config: dict[str, Any]) -> dict[str, Any]:
        """Check a PyPI repository's ``config`` before it is stored (or used).

        Raises:
            InvalidInputError: unknown keys, wrong types, a non-http(s) upstream, members that
                do not exist or are not pypi-local/pypi-remote repositories.
        """
        allowed = _CONFIG_KEYS.get(kind)
        if allowed is None:
            return config
        check_settings(kind, config, allowed)
        if kind == "pypi-remote":
            validate_upstream_url(config.get("upstream"))
            config = credentials_out_of_url(config)
        if kind == "pypi-virtual":
            members = config.get("members")
            if not isinstance(members, list) or not members:
                raise InvalidInputError(
                    "A pypi-virtual repository needs a non-empty 'members' list."
                )
            if len(set(map(str, members))) != len(members):
                raise InvalidInputError("'members' lists a repository twice.")
            for key in members:
                record = self._meta.get_repository(str(key))
                if record is None or record.kind not in ("pypi-local", "pypi-remote"):
                    raise InvalidInputError(
                        f"Member {str(key)[:80]!r} is not an existing pypi-local or pypi-remote "
                        "repository."
                    )
        return config

    def _repo(self, who: Principal, key: str, action: Action) -> RepositoryRecord:
        record = self._meta.get_repository(key)
        if record is None or record.kind not in PYPI_KINDS:
            raise RepositoryNotFoundError(f"PyPI repository '{key[:80]}' does not exist.")
        self._access.require(who, action, key)
        try:
            self.validate_config(record.kind, record.config)
        except InvalidInputError as exc:
            raise InvalidInputError(f"Repository '{key}' is misconfigured: {exc.message}") from None
        return record

    def _members(self, who: Principal | None, virtual: RepositoryRecord) -> list[RepositoryRecord]:
        """The members ``who`` may read, in order (checked on every read: access may change);
        every member when ``who`` is None."""
        out = []
        for key in virtual.config["members"]:
            record = self._meta.get_repository(str(key))
            if record is not None and (who is None or self._access.allows(who, "read", record.key)):
                out.append(record)
        return out

    # -- reading --
    async def index(self, who: Principal, key: str) -> list[str]:
        """Normalized project names: local files, cached remote pages (never the upstream list)."""
        repo = self._repo(who, key, "read")
        repos = self._members(who, repo) if repo.kind == "pypi-virtual" else [repo]
        names: set[str] = set()
        for r in repos:
            names.update(self._packages.list_projects(r.key))
        return sorted(names)

    async def project(self, who: Principal, key: str, project: str) -> ProjectPage:
        """The page of a normalized project name.

        Raises:
            RepositoryNotFoundError, AuthenticationError, PermissionDeniedError,
            NotFoundError (no such project), OfflineModeError, UpstreamUnavailableError.
        """
        repo = self._repo(who, key, "read")
        if validate_project_name(project) != project:
            raise InvalidInputError(f"Project names must be normalized (PEP 503): {project!r}.")
        return await self._page(who, repo, project)

    async def _page(self, who: Principal, repo: RepositoryRecord, project: str) -> ProjectPage:
        if repo.kind == "pypi-local":
            page = self.local.page(repo, project)
            if page is None:
                raise NotFoundError(f"Project '{project}' does not exist in '{repo.key}'.")
            return page
        if repo.kind == "pypi-remote":
            return await self.remote.page(repo, project)
        return await self._virtual_page(who, repo, project)

    async def _virtual_page(
        self, who: Principal, repo: RepositoryRecord, project: str
    ) -> ProjectPage:
        members = self._members(who, repo)
        guard = bool(repo.config.get("dependency_confusion_guard", True))
        # Dependency-confusion guard: a project that exists in a local member is never taken
        # from a remote one, so a public package cannot shadow a private name — also for a
        # caller who cannot read that local member (who then gets nothing, not the impostor).
        local_owned = guard and any(
            m.kind == "pypi-local" and self._packages.has_project(m.key, project)
            for m in self._members(None, repo)
        )
        files: dict[str, DistFile] = {}
        notices: list[str] = []
        failure: UpstreamError | None = None
        found = False
        for member in members:
            if local_owned and member.kind != "pypi-local":
                continue
            try:
                page = await self._page(who, member, project)
            except NotFoundError:
                continue
            except UpstreamError as exc:
                failure = failure or exc
                continue
            found = True
            if page.notice:
                notices.append(f"{member.key}: {page.notice}")
            for f in page.files:
                files.setdefault(f.filename, f)  # the first member in order wins
        if not found:
            if failure is not None:
                raise failure
            raise NotFoundError(f"Project '{project}' does not exist in '{repo.key}'.")
        ordered = tuple(sorted(files.values(), key=lambda f: f.filename))
        return ProjectPage(name=project, files=ordered, notice="; ".join(notices) or None)

    async def _locate(
        self, who: Principal, repo: RepositoryRecord, sha256: str, filename: str
    ) -> RepositoryRecord:
        """The repository that serves a file: ``repo`` itself, or the virtual's chosen member."""
        validate_filename(filename)
        if repo.kind != "pypi-virtual":
            return repo
        page = await self._virtual_page(who, repo, parse_filename(filename).name)
        for f in page.files:
            if f.filename == filename and f.sha256 == sha256:
                member = self._meta.get_repository(f.repository)
                if member is not None:
                    return member
        raise NotFoundError(f"'{filename}' is not available in '{repo.key}'.")

    async def open_file(
        self,
        who: Principal,
        key: str,
        sha256: Sha256,
        filename: str,
        *,
        stream: bool,
        count_download: bool,
    ) -> FileSource:
        """A distribution file, from storage or streamed through from the upstream.

        ``stream=False`` waits until a cold file is cached (for HEAD and Range requests).

        Raises:
            NotFoundError, AuthenticationError, PermissionDeniedError, OfflineModeError,
            UpstreamUnavailableError.
        """
        repo = self._repo(who, key, "read")
        source_repo = await self._locate(who, repo, sha256, filename)
        subject = Subject(key, source_repo, "package", filename, sha256)

        async def admit(info: BlobInfo) -> None:
            await self._admit(who, subject, filename, info.sha256, info)

        if source_repo.kind == "pypi-remote":
            source = await self.remote.open_file(
                source_repo, sha256, filename, stream=stream, admit=admit
            )
        else:
            record = self._packages.get_file(source_repo.key, filename)
            if record is None or record.sha256 != sha256:
                raise NotFoundError(f"'{filename}' with sha256 {sha256} is not in '{key}'.")
            blob = self._content.require(sha256)
            source = FileSource(filename, sha256, blob.size, blob=blob, cache="local")
        if source_repo.kind == "pypi-remote":
            self.observer.cache_lookup(source_repo.key, source.cache == "hit")
        if source.blob is not None:
            await self._admit(who, subject, filename, sha256, source.blob)
        if count_download:
            self._audit.record(
                who,
                "pypi.file.download",
                repository=key,
                subject=filename,
                sha256=sha256,
                source=source_repo.key,
                cache=source.cache,
            )
        return source

    async def metadata(self, who: Principal, key: str, sha256: Sha256, filename: str) -> BlobInfo:
        """The PEP 658 core metadata of a file (``<file URL>.metadata``).

        Raises:
            NotFoundError, AuthenticationError, PermissionDeniedError, OfflineModeError,
            UpstreamUnavailableError.
        """
        repo = self._repo(who, key, "read")
        source_repo = await self._locate(who, repo, sha256, filename)
        if source_repo.kind == "pypi-remote":
            blob = await self.remote.metadata(source_repo, sha256, filename)
        else:
            record = self._packages.get_file(source_repo.key, filename)
            if record is None or record.sha256 != sha256 or record.metadata_sha256 is None:
                raise NotFoundError(f"No core metadata is available for '{filename}'.")
            blob = self._content.require(Sha256(record.metadata_sha256))
        # pip and uv read .metadata first: a block here stops them with the reason printed.
        file_blob = self._content.known(sha256)
        await self._admit(
            who, Subject(key, source_repo, "package", filename, sha256), filename, sha256, file_blob
        )
        return blob

    async def _admit(
        self,
        who: Principal,
        subject: Subject,
        filename: str,
        sha256: str,
        blob: BlobInfo | None,
    ) -> None:
        """Apply policy to a distribution: licence from its core metadata, scan of its bytes
        when they are stored (scanned now if never). Raises PolicyError to block."""
        if self._gate is None:
            return
        metadata = await self._metadata_text(subject.source, filename, sha256)
        scan = await self._gate.scan_async(blob.sha256, filename) if blob is not None else None
        # Core metadata is up to 4 MiB of untrusted headers: parsed off the event loop.
        decision = await asyncio.to_thread(
            self._gate.package_decision, subject, filename, sha256, metadata, scan
        )
        self._gate.enforce(who, subject, "", decision)

    async def _metadata_text(
        self, repo: RepositoryRecord, filename: str, sha256: str
    ) -> str | None:
        """Core metadata of a file, if the vault has it or its upstream offers it."""
        try:
            if repo.kind == "pypi-remote":
                blob = await self.remote.metadata(repo, sha256, filename)
            else:
                record = self._packages.get_file(repo.key, filename)
                if record is None or record.metadata_sha256 is None:
                    return None
                blob = self._content.require(Sha256(record.metadata_sha256))
        except VaultError:
            return None
        if blob.size > 4 << 20:
            return None
        with self._content.blobs.open_reader(blob.sha256) as f:
            return f.read().decode("utf-8", "replace")

    # -- uploads --
    def begin_upload(self, who: Principal, key: str) -> UploadSession:
        """Check the upload may happen before its body is read.

        Raises:
            RepositoryNotFoundError, AuthenticationError, PermissionDeniedError,
            UnsupportedOperationError (not a pypi-local repository).
        """
        repo = self._repo(who, key, "write")
        if repo.kind != "pypi-local":
            raise UnsupportedOperationError(
                f"'{key}' is a {repo.kind} repository; uploads go to a pypi-local repository."
            )
        return UploadSession(repo, who, self._content, self.options.upload_max_bytes)

    def finish_upload(self, session: UploadSession) -> tuple[str, bool]:
        """Store the uploaded file; ``(filename, created)``. See LocalIndex.finish_upload."""
        try:
            record, created = self.local.finish_upload(session)
        finally:
            session.abort()
        return record.filename, created
