"""Storage interfaces: a content-addressed ``BlobStore`` and a transactional ``MetadataStore``.

The two are separate so that a deployment can put blobs on S3 and metadata on PostgreSQL
independently. Domain services depend only on these ABCs; the composition root
(``modelvault_jlab.bootstrap``) picks the implementations.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, BinaryIO, Literal, Self

from ..errors import DigestMismatchError, SizeMismatchError
from ..ids import CommitSha, RepoType, Sha256

# ------------------------------------------------------------------------------------------------
# Blobs
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlobInfo:
    sha256: Sha256
    size: int


class BlobWriter(ABC):
    """Receives a blob as a stream of chunks, hashing as it goes.

    Nothing becomes visible until :meth:`commit` has verified the digest and size, made the bytes
    durable and published them atomically. Leaving the context manager without a commit (an
    exception, a dropped connection) discards everything written.

    ``expected_sha256``, when the caller knows it up front (an LFS upload, a mirrored LFS file),
    is checked at commit like an ``expected_sha256`` given there, and lets a store write straight
    to the blob's final place (S3: a multipart upload that stays invisible until completed).
    """

    def __init__(self, expected_sha256: Sha256 | None = None) -> None:
        self._hash = hashlib.sha256()
        self.bytes_written = 0
        self.expected_sha256 = expected_sha256

    def write(self, data: bytes | memoryview) -> None:
        self._hash.update(data)
        self.bytes_written += len(data)
        self._write(data)

    @property
    def sha256(self) -> Sha256:
        return Sha256(self._hash.hexdigest())

    @abstractmethod
    def _write(self, data: bytes | memoryview) -> None: ...

    def verify(
        self, expected_sha256: str | None = None, expected_size: int | None = None
    ) -> BlobInfo:
        """Check what was written so far against the expectations, publishing nothing.

        Raises:
            DigestMismatchError, SizeMismatchError.
        """
        sha = self.sha256
        expected_sha256 = expected_sha256 or self.expected_sha256
        if expected_size is not None and self.bytes_written != expected_size:
            raise SizeMismatchError(
                f"Size mismatch: expected {expected_size} bytes, received {self.bytes_written}.",
                expected=expected_size,
                actual=self.bytes_written,
            )
        if expected_sha256 is not None and sha != expected_sha256:
            raise DigestMismatchError(
                f"Digest mismatch: expected sha256 {expected_sha256}, content hashes to {sha}.",
                expected=expected_sha256,
                actual=sha,
            )
        return BlobInfo(sha, self.bytes_written)

    @abstractmethod
    def commit(
        self, expected_sha256: str | None = None, expected_size: int | None = None
    ) -> BlobInfo:
        """Verify and publish the blob.

        Raises:
            DigestMismatchError: the content does not hash to ``expected_sha256``.
            SizeMismatchError: fewer or more bytes than ``expected_size`` arrived.
        """

    @abstractmethod
    def abort(self) -> None:
        """Discard what was written. Idempotent."""

    def open_partial(self) -> BinaryIO:
        """A reader of the bytes written so far (stream-through to other clients).

        The reader stays valid after :meth:`commit`; after :meth:`abort` its reads may fail.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot be read while it is written")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.abort()


class BlobStore(ABC):
    """Immutable blobs addressed by their sha256. Identical content is stored once."""

    reads_wait_on_network = False
    """True when a read may wait on the network (object stores): callers on an event loop then
    read in a worker thread; local files (page cache) are read in place, which is faster."""

    @abstractmethod
    def open_writer(self, expected_sha256: Sha256 | None = None) -> BlobWriter:
        """A writer for a new blob (``expected_sha256``: see :class:`BlobWriter`)."""

    @abstractmethod
    def exists(self, sha256: Sha256) -> bool: ...

    @abstractmethod
    def size(self, sha256: Sha256) -> int:
        """Raises BlobNotFoundError."""

    @abstractmethod
    def open_reader(self, sha256: Sha256) -> BinaryIO:
        """A seekable binary file positioned at 0. Raises BlobNotFoundError."""

    @abstractmethod
    def delete(self, sha256: Sha256) -> None: ...

    @abstractmethod
    def cleanup_incomplete(self) -> int:
        """Remove what interrupted writers left behind; returns how many were removed."""

    def close(self) -> None:  # noqa: B027 - optional hook, most stores hold nothing
        """Release connections and worker threads (a no-op for local files)."""

    def presigned_url(self, sha256: Sha256, expires_seconds: int) -> str | None:
        """A URL that serves the blob without passing through this process, if the store can."""
        return None

    def put_bytes(self, data: bytes) -> BlobInfo:
        """Store a small in-memory value (commit inline content, manifests)."""
        with self.open_writer() as writer:
            writer.write(data)
            return writer.commit()

    def put_many(self, values: Sequence[bytes]) -> list[BlobInfo]:
        """Store many small values; a store may make the batch durable at once (cheaper than one
        flush per value). Override with a more efficient version where the backend allows."""
        return [self.put_bytes(v) for v in values]

    def iter_range(
        self, sha256: Sha256, start: int, end: int, chunk_size: int
    ) -> Generator[bytes, None, None]:
        """Yield bytes ``[start, end)`` in chunks without holding more than one in memory."""
        with self.open_reader(sha256) as f:
            f.seek(start)
            remaining = end - start
            while remaining > 0:
                chunk = f.read(min(chunk_size, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                yield chunk


# ------------------------------------------------------------------------------------------------
# Metadata records
# ------------------------------------------------------------------------------------------------

RepositoryKind = Literal[
    "hf-local", "hf-remote", "hf-virtual", "pypi-local", "pypi-remote", "pypi-virtual"
]
REPOSITORY_KINDS: tuple[str, ...] = (
    "hf-local",
    "hf-remote",
    "hf-virtual",
    "pypi-local",
    "pypi-remote",
    "pypi-virtual",
)
RefKind = Literal["branch", "tag", "pr"]


@dataclass(frozen=True)
class RepositoryRecord:
    """A ModelVault repository: one endpoint (``models-local``) holding many Hub repos."""

    key: str
    kind: str
    description: str = ""
    public: bool = False
    config: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0


@dataclass(frozen=True)
class HubRepoRecord:
    """A Hub repo (``org/name`` of one type) inside a repository."""

    id: int
    repository: str
    repo_type: RepoType
    repo_id: str
    private: bool
    created_at: float
    created_by: str


@dataclass(frozen=True)
class CommitRecord:
    sha: CommitSha
    hub_repo: int
    parent: CommitSha | None
    title: str
    message: str
    author: str
    created_at: float


@dataclass(frozen=True)
class FileEntry:
    """A file at a commit. ``git_oid`` is the git blob sha1 (of the LFS pointer for LFS files)."""

    path: str
    sha256: Sha256
    size: int
    git_oid: str
    lfs: bool


@dataclass(frozen=True)
class RefRecord:
    kind: RefKind
    name: str
    commit: CommitSha


@dataclass(frozen=True)
class FileChange:
    """One change a commit applies to its parent's file set."""

    op: Literal["put", "delete_file", "delete_folder"]
    path: str
    entry: FileEntry | None = None


@dataclass(frozen=True)
class TokenRecord:
    id: str
    name: str
    secret_hash: str
    scopes: tuple[str, ...]
    repositories: tuple[str, ...]  # empty: every repository
    created_by: str
    created_at: float
    expires_at: float | None
    revoked_at: float | None
    description: str = ""
    parent_id: str | None = None
    """The token that minted this one (a child: narrower, expiring, revoked with its parent)."""


@dataclass(frozen=True)
class AuditEvent:
    id: int
    ts: float
    actor: str
    token_id: str | None
    action: str
    repository: str | None
    subject: str | None
    detail: dict[str, Any]
    remote_addr: str | None


@dataclass(frozen=True)
class ScanRecord:
    """A scanner's verdict on one blob, kept per sha256 and scanner version."""

    sha256: Sha256
    scanner_version: str
    verdict: str
    report: dict[str, Any]
    scanned_at: float


@dataclass(frozen=True)
class WaiverRecord:
    """An explicit, expiring exception to one policy for one repo (at a commit, or any) or blob."""

    id: int
    policy: str
    repository: str | None
    repo_type: str | None
    repo_id: str | None
    commit: str | None
    sha256: str | None
    justification: str
    created_by: str
    created_at: float
    expires_at: float
    revoked_at: float | None


@dataclass(frozen=True)
class AuditQuery:
    actor: str | None = None
    action: str | None = None
    repository: str | None = None
    subject_prefix: str | None = None
    before_id: int | None = None
    limit: int = 100


# ------------------------------------------------------------------------------------------------
# Metadata store
# ------------------------------------------------------------------------------------------------


class MetadataStore(ABC):
    """Repositories, Hub repos, commits, refs, file entries, blobs, tokens and audit events.

    Every method is atomic. Refs are the only mutable state of a Hub repo and move by
    compare-and-swap, so two writers committing on the same parent never both win.
    """

    # -- lifecycle --
    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def get_setting(self, name: str) -> str | None: ...

    @abstractmethod
    def set_setting_if_absent(self, name: str, value: str) -> str:
        """Store ``value`` unless a value exists; return the value in force (first writer wins)."""

    # -- repositories --
    @abstractmethod
    def create_repository(self, record: RepositoryRecord) -> RepositoryRecord:
        """Raises RepoExistsError when the key is taken."""

    @abstractmethod
    def update_repository(self, record: RepositoryRecord) -> RepositoryRecord: ...

    @abstractmethod
    def get_repository(self, key: str) -> RepositoryRecord | None: ...

    @abstractmethod
    def list_repositories(self) -> list[RepositoryRecord]: ...

    @abstractmethod
    def delete_repository(self, key: str) -> bool: ...

    # -- hub repos --
    @abstractmethod
    def create_hub_repo(
        self,
        repository: str,
        repo_type: RepoType,
        repo_id: str,
        private: bool,
        created_by: str,
        initial_commit: CommitRecord | None,
    ) -> HubRepoRecord:
        """Create the repo with ``initial_commit`` on branch ``main`` (a mirror starts with no
        commit). Raises RepoExistsError."""

    @abstractmethod
    def get_hub_repo(
        self, repository: str, repo_type: RepoType, repo_id: str
    ) -> HubRepoRecord | None: ...

    @abstractmethod
    def list_hub_repos(
        self, repository: str, repo_type: RepoType | None, after: str | None, limit: int
    ) -> list[HubRepoRecord]: ...

    @abstractmethod
    def update_hub_repo(self, repo: HubRepoRecord, *, private: bool) -> HubRepoRecord: ...

    @abstractmethod
    def delete_hub_repo(self, hub_repo: int) -> None: ...

    # -- commits and refs --
    @abstractmethod
    def commit(
        self,
        commit: CommitRecord,
        changes: Sequence[FileChange],
        ref_kind: RefKind,
        ref_name: str,
        expected_head: CommitSha | None,
    ) -> None:
        """Record ``commit`` (its files = parent's files + ``changes``) and move the ref to it.

        ``expected_head`` is the commit the ref must still point to (``None``: the ref must not
        exist yet). Raises WriteConflictError when it moved, EntryNotFoundError for a deletion of a
        path that does not exist, InvalidFilenameError when a file would shadow a folder.
        """

    @abstractmethod
    def get_commit(self, hub_repo: int, sha: CommitSha) -> CommitRecord | None: ...

    @abstractmethod
    def list_commits(
        self, hub_repo: int, head: CommitSha, offset: int, limit: int
    ) -> list[CommitRecord]:
        """The history reachable from ``head``, newest first."""

    @abstractmethod
    def get_ref(self, hub_repo: int, kind: RefKind, name: str) -> RefRecord | None: ...

    @abstractmethod
    def list_refs(self, hub_repo: int) -> list[RefRecord]: ...

    @abstractmethod
    def set_ref(
        self, hub_repo: int, kind: RefKind, name: str, commit: CommitSha, expected: CommitSha | None
    ) -> None:
        """Compare-and-swap a ref; ``expected=None`` creates it. Raises RefExistsError/WriteConflictError."""

    @abstractmethod
    def delete_ref(self, hub_repo: int, kind: RefKind, name: str) -> bool: ...

    @abstractmethod
    def next_pr_number(self, hub_repo: int) -> int: ...

    # -- mirrors of upstream repos --
    @abstractmethod
    def mirror_commit(self, commit: CommitRecord, files: Sequence[FileEntry]) -> None:
        """Record an upstream commit and its files as they are; a no-op if it is known."""

    @abstractmethod
    def get_remote_ref(self, hub_repo: int, revision: str) -> tuple[CommitSha, float] | None:
        """The commit an upstream revision name resolved to, and when that was learned."""

    @abstractmethod
    def set_remote_ref(
        self, hub_repo: int, revision: str, commit: CommitSha, fetched_at: float
    ) -> None: ...

    @abstractmethod
    def list_remote_refs(self, hub_repo: int) -> list[tuple[str, CommitSha]]: ...

    @abstractmethod
    def get_git_object(self, git_oid: str) -> Sha256 | None:
        """The sha256 of cached content whose git blob id is ``git_oid`` (regular mirrored files)."""

    @abstractmethod
    def put_git_object(self, git_oid: str, sha256: Sha256) -> None: ...

    # -- files at a commit --
    @abstractmethod
    def get_file(self, hub_repo: int, commit: CommitSha, path: str) -> FileEntry | None: ...

    @abstractmethod
    def list_files(
        self, hub_repo: int, commit: CommitSha, prefix: str, after: str | None, limit: int
    ) -> list[FileEntry]:
        """Files under ``prefix`` (``""`` or ``"dir/"``) in path order, strictly after ``after``."""

    @abstractmethod
    def has_folder(self, hub_repo: int, commit: CommitSha, folder: str) -> bool: ...

    @abstractmethod
    def count_files(self, hub_repo: int, commit: CommitSha) -> int: ...

    # -- blobs registry --
    def register_blob(self, info: BlobInfo) -> None:
        self.register_blobs([info])

    @abstractmethod
    def register_blobs(self, infos: Sequence[BlobInfo]) -> None:
        """Make stored blobs referencable by commits (idempotent)."""

    @abstractmethod
    def get_blob(self, sha256: Sha256) -> BlobInfo | None: ...

    @abstractmethod
    def add_repository_blob(self, repository: str, sha256: Sha256) -> None:
        """Record that ``sha256``'s bytes were uploaded into ``repository`` (idempotent)."""

    @abstractmethod
    def blob_repositories(self, sha256: Sha256, limit: int = 1000) -> list[str]:
        """The repositories holding ``sha256``: uploaded into one, or a file of a commit of one
        of its Hub repos (at most ``limit``)."""

    # -- governance --
    @abstractmethod
    def set_setting(self, name: str, value: str) -> None: ...

    @abstractmethod
    def get_scan(self, sha256: Sha256) -> ScanRecord | None: ...

    @abstractmethod
    def put_scan(self, record: ScanRecord) -> None: ...

    @abstractmethod
    def list_scans(self, verdicts: Sequence[str], limit: int) -> list[ScanRecord]: ...

    @abstractmethod
    def stale_scans(self, scanner_version: str, limit: int) -> list[Sha256]:
        """Blobs scanned by another scanner version (to re-scan after an upgrade)."""

    @abstractmethod
    def create_waiver(self, record: WaiverRecord) -> WaiverRecord: ...

    @abstractmethod
    def list_waivers(self, include_inactive: bool, now: float) -> list[WaiverRecord]: ...

    @abstractmethod
    def revoke_waiver(self, waiver_id: int, when: float) -> bool: ...

    # -- tokens --
    @abstractmethod
    def create_token(self, record: TokenRecord) -> None: ...

    @abstractmethod
    def get_token(self, token_id: str) -> TokenRecord | None: ...

    @abstractmethod
    def list_tokens(self) -> list[TokenRecord]: ...

    @abstractmethod
    def revoke_token(self, token_id: str, when: float) -> bool:
        """Revoke the token and the tokens it minted; False if none was active."""

    # -- audit --
    @abstractmethod
    def append_audit(
        self,
        *,
        ts: float,
        actor: str,
        token_id: str | None,
        action: str,
        repository: str | None,
        subject: str | None,
        detail: dict[str, Any],
        remote_addr: str | None,
    ) -> int: ...

    @abstractmethod
    def query_audit(self, query: AuditQuery) -> list[AuditEvent]: ...

    # -- leases (coordination between replicas sharing this store) --
    @abstractmethod
    def acquire_lease(self, name: str, holder: str, ttl_seconds: float) -> bool:
        """Take the lease ``name`` for ``ttl_seconds`` if it is free, expired or already ours.

        Atomic across processes: of several replicas racing for a free lease exactly one gets
        ``True``. Acquiring a lease one already holds renews it. Expiry is judged by the
        database's clock, so replicas on hosts with skewed clocks still agree.
        """

    @abstractmethod
    def renew_lease(self, name: str, holder: str, ttl_seconds: float) -> bool:
        """Extend a lease ``holder`` still holds; ``False`` if it expired or was never held
        (the caller must then stop the guarded work and :meth:`acquire_lease` again)."""

    @abstractmethod
    def release_lease(self, name: str, holder: str) -> None:
        """Give the lease up now; does nothing unless ``holder`` holds it."""
