"""Export a bundle to an archive and import one into this vault (an air-gapped site).

Import is two-phase. While the archive streams in, blobs are verified and written into the blob
store *unregistered*: content nobody can reference (a commit or package needs a registered blob),
so an interrupted import shows nothing. Only after the whole archive verified (signature against
trusted keys, promotion chain, every digest and size, nothing missing or extra) are the blobs
registered and the Hub commits, tags, package files and finally the bundle record written. Blobs
an aborted import brought in are deleted again.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ...errors import (
    ConflictError,
    IntegrityError,
    InvalidInputError,
    RepoExistsError,
    VaultError,
)
from ...ids import CommitSha, RepoType, Sha256
from ...storage.bundles import GenericFileRecord, PromotionRecord
from ...storage.packages import PackageFileRecord
from ...storage.records import BlobInfo, CommitRecord, FileEntry
from ..identity import Principal
from .archive import ArchiveReader, BlobSink, VerifiedBundle, archive_size, export_chunks
from .errors import BundleExistsError
from .manifest import BundleManifest, FileComponent, HubComponent, PackageComponent
from .service import BundleService, BundleView, bundle_tag
from .signing import Signature, decode_public_key, key_id_of


@dataclass(frozen=True)
class Export:
    filename: str
    size: int
    chunks: Iterator[bytes]


def export_archive(
    service: BundleService, who: Principal, name: str, version: str, chunk_size: int = 1 << 20
) -> Export:
    """The bundle's archive as chunks, with its exact size. Raises BundleNotFoundError,
    BlobNotFoundError (a pinned blob lost from storage: found before anything is sent)."""
    record = service.record_for_export(who, name, version)
    manifest = BundleManifest.from_dict(json.loads(record.manifest))
    blobs = manifest.blobs()
    for sha in blobs:
        service.content.require(Sha256(sha))
    promotions = service.promotion_entries(record)
    chunks = export_chunks(
        record.manifest,
        record.signature,
        promotions,
        blobs,
        service.content.blobs,
        record.created_at,
        chunk_size,
    )
    service.audit.record(who, "bundle.export", subject=f"{name}@{version}", digest=record.digest)
    size = archive_size(record.manifest, record.signature, promotions, blobs)
    return Export(f"{name}-{version}.mvbundle.tar", size, chunks)


class ImportSession:
    """One import in progress: feed the archive's bytes, then :meth:`finish` (or :meth:`abort`)."""

    def __init__(
        self,
        service: BundleService,
        who: Principal,
        hub_repository: str | None,
        pypi_repository: str | None,
        public_key: str | None = None,
    ) -> None:
        self._svc = service
        self._who = who
        self._hub_repository = hub_repository
        self._pypi_repository = pypi_repository
        extra: dict[str, bytes] = {}
        if public_key:
            raw = decode_public_key(public_key)
            extra[key_id_of(raw)] = raw
        self._extra = extra
        self._new_blobs: list[str] = []
        self.reader = ArchiveReader(self._verify, self._sink_for)
        self._done = False

    def _verify(self, data: bytes, sig: Signature) -> None:
        self._svc.keys.verify(data, sig, self._extra)

    def _sink_for(self, sha: str, size: int) -> BlobSink:
        if self._svc.meta.get_blob(Sha256(sha)) is None:
            self._new_blobs.append(sha)
        return self._svc.content.writer()

    def feed(self, data: bytes | memoryview) -> None:
        self.reader.feed(data)

    def abort(self) -> None:
        """Drop everything this import brought in (idempotent)."""
        if self._done:
            return
        self._done = True
        self.reader.abort()
        for sha in self._new_blobs:
            if self._svc.meta.get_blob(Sha256(sha)) is None and not self._svc.pinned(sha):
                with contextlib.suppress(OSError, VaultError):
                    self._svc.content.blobs.delete(Sha256(sha))

    def finish(self) -> BundleView:
        """Publish the verified bundle. Raises ArchiveInvalidError, SignatureInvalidError,
        UntrustedKeyError, BundleExistsError, ConflictError; nothing is published then."""
        try:
            verified = self.reader.finish()
            self._check(verified)
            view = self._publish(verified)
        except BaseException:
            self.abort()
            raise
        self._done = True
        return view

    # -- publishing --
    def _check(self, v: VerifiedBundle) -> None:
        svc, m = self._svc, v.manifest
        if svc.store.get_bundle(m.name, m.version) is not None:
            raise BundleExistsError(
                f"Bundle {m.name} {m.version} exists in this vault.", name=m.name, version=m.version
            )
        for sha in m.blobs():  # a concurrent cleanup of unregistered bytes would show here
            if not svc.content.blobs.exists(Sha256(sha)):
                raise IntegrityError(f"Blob {sha} vanished during the import; retry it.")
        tag = bundle_tag(m.name, m.version)
        for c in m.components:
            if isinstance(c, HubComponent):
                if self._hub_repository is None:
                    raise InvalidInputError(
                        "The bundle has Hub repos: name a target hf-local repository."
                    )
                repo = svc.meta.get_hub_repo(self._hub_repository, _rt(c), c.repo_id)
                if repo is None:
                    continue
                commit = svc.meta.get_commit(repo.id, CommitSha(c.commit))
                if commit is not None and _files_of(svc, repo.id, c.commit) != _entries(c):
                    raise ConflictError(
                        f"{c.repo_type} {c.repo_id} has commit {c.commit} with other files."
                    )
                ref = svc.meta.get_ref(repo.id, "tag", tag)
                if ref is not None and ref.commit != c.commit:
                    raise ConflictError(f"Tag {tag} of {c.repo_id} points to another commit.")
            elif isinstance(c, PackageComponent):
                if self._pypi_repository is None:
                    raise InvalidInputError(
                        "The bundle has packages: name a target pypi-local repository."
                    )
                existing = svc.packages.get_file(self._pypi_repository, c.filename)
                if existing is not None and existing.sha256 != c.sha256:
                    raise ConflictError(
                        f"{c.filename} exists in '{self._pypi_repository}' with other content."
                    )

    def _publish(self, v: VerifiedBundle) -> BundleView:
        svc, m, who = self._svc, v.manifest, self._who
        for sha, size in m.blobs().items():
            svc.meta.register_blob(BlobInfo(Sha256(sha), size))
        tag = bundle_tag(m.name, m.version)
        now = svc.clock()
        for c in m.components:
            if isinstance(c, HubComponent):
                assert self._hub_repository is not None
                self._publish_hub(c, tag)
            elif isinstance(c, PackageComponent):
                assert self._pypi_repository is not None
                svc.packages.add_file(
                    PackageFileRecord(
                        repository=self._pypi_repository,
                        project=c.project,
                        filename=c.filename,
                        version=c.version,
                        sha256=c.sha256,
                        size=c.size,
                        requires_python=c.requires_python,
                        yanked=None,
                        upload_time=now,
                        metadata_sha256=c.metadata_sha256,
                        uploaded_by=who.name,
                        origin="upload",
                        display_name=c.display_name,
                    )
                )
            elif isinstance(c, FileComponent) and svc.store.get_file(c.name) is None:
                svc.store.put_file(GenericFileRecord(c.name, c.sha256, c.size, who.name, now))
        promotions = [
            PromotionRecord(0, seq, str(json.loads(p)["to"]), p, s)
            for seq, (p, s) in enumerate(v.promotions)
        ]
        record = svc._seal(m, v.manifest_bytes, v.signature, "import", promotions)
        svc.audit.record(
            who,
            "bundle.import",
            subject=f"{m.name}@{m.version}",
            digest=record.digest,
            key_id=v.signature.key_id,
            hub_repository=self._hub_repository,
            pypi_repository=self._pypi_repository,
        )
        return svc._view(record)

    def _publish_hub(self, c: HubComponent, tag: str) -> None:
        svc = self._svc
        key = self._hub_repository
        assert key is not None
        repo = svc.meta.get_hub_repo(key, _rt(c), c.repo_id)
        if repo is None:
            with contextlib.suppress(RepoExistsError):
                svc.meta.create_hub_repo(key, _rt(c), c.repo_id, True, self._who.name, None)
            repo = svc.meta.get_hub_repo(key, _rt(c), c.repo_id)
            assert repo is not None
        svc.meta.mirror_commit(
            CommitRecord(CommitSha(c.commit), repo.id, None, c.title, "", c.author, c.committed_at),
            [FileEntry(f.path, Sha256(f.sha256), f.size, f.git_oid, f.lfs) for f in c.files],
        )
        for kind, name in (("tag", tag), ("branch", "main")):
            if svc.meta.get_ref(repo.id, kind, name) is None:  # type: ignore[arg-type]
                with contextlib.suppress(ConflictError):
                    svc.meta.set_ref(repo.id, kind, name, CommitSha(c.commit), None)  # type: ignore[arg-type]


def _rt(c: HubComponent) -> RepoType:
    return c.repo_type  # type: ignore[return-value]


def _entries(c: HubComponent) -> list[tuple[Any, ...]]:
    return sorted((f.path, f.sha256, f.size, f.git_oid, f.lfs) for f in c.files)


def _files_of(svc: BundleService, repo_id: int, commit: str) -> list[tuple[Any, ...]]:
    out = []
    after: str | None = None
    while True:
        page = svc.meta.list_files(repo_id, CommitSha(commit), "", after, 1000)
        out += [(e.path, e.sha256, e.size, e.git_oid, e.lfs) for e in page]
        if len(page) < 1000:
            return sorted(out)
        after = page[-1].path


def begin_import(
    service: BundleService,
    who: Principal,
    hub_repository: str | None,
    pypi_repository: str | None,
    public_key: str | None = None,
) -> ImportSession:
    """Check the caller and targets before any byte is read. Raises PermissionDeniedError,
    InvalidInputError (a target that is not hf-local / pypi-local)."""
    service.access.require(who, "admin", None)
    for key, kind in ((hub_repository, "hf-local"), (pypi_repository, "pypi-local")):
        if key is None:
            continue
        record = service.meta.get_repository(key)
        if record is None or record.kind != kind:
            raise InvalidInputError(
                f"Import target '{key[:80]}' is not an existing {kind} repository."
            )
    return ImportSession(service, who, hub_repository, pypi_repository, public_key)
