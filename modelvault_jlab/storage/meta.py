"""The metadata stores, one per role, all over one database (``storage/sql/``).

Each method is atomic. A domain service depends on the roles it uses; :class:`MetadataStore` is
all of them at once, as one backend implements them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from ..ids import CommitSha, RepoType, Sha256
from .records import (
    AuditEvent,
    AuditQuery,
    BlobInfo,
    CommitRecord,
    FileChange,
    FileEntry,
    HubRepoRecord,
    RefKind,
    RefRecord,
    RepositoryRecord,
    ScanRecord,
    TokenRecord,
    UpstreamSegmentRecord,
    WaiverRecord,
    XetFileRecord,
    XorbChunkRecord,
    XorbRecord,
)


class SettingsStore(ABC):
    """Named settings: the policy epoch and policies, secrets' keys (first writer wins)."""

    @abstractmethod
    def get_setting(self, name: str) -> str | None: ...

    @abstractmethod
    def set_setting_if_absent(self, name: str, value: str) -> str:
        """Store ``value`` unless a value exists; return the value in force (first writer wins)."""

    @abstractmethod
    def set_setting(self, name: str, value: str) -> None: ...


class RepositoryStore(ABC):
    """ModelVault repositories and the Hub repos inside them."""

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


class HubStore(ABC):
    """Commits, refs, files at a commit, mirrors' remote refs and git objects, and the blob registry.

    Refs are the only mutable state of a Hub repo and move by compare-and-swap, so two writers
    committing on the same parent never both win."""

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
    def file_with_sha256(
        self, hub_repo: int, commit: CommitSha, sha256: Sha256
    ) -> FileEntry | None:
        """A file of the commit whose content is ``sha256`` (the first by path), or None: whether
        content is reachable from a commit, without listing its tree (Xet reconstructions)."""

    @abstractmethod
    def count_files(self, hub_repo: int, commit: CommitSha) -> int: ...

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


class GovernanceStore(ABC):
    """Scan verdicts per blob and waivers."""

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


class TokenStore(ABC):
    """API tokens (hashed secrets only)."""

    @abstractmethod
    def create_token(self, record: TokenRecord) -> None: ...

    @abstractmethod
    def get_token(self, token_id: str) -> TokenRecord | None: ...

    @abstractmethod
    def list_tokens(self) -> list[TokenRecord]: ...

    @abstractmethod
    def revoke_token(self, token_id: str, when: float) -> bool:
        """Revoke the token and the tokens it minted; False if none was active."""


class AuditStore(ABC):
    """The append-only audit log."""

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


class LeaseStore(ABC):
    """Leases: coordination between replicas sharing this store."""

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


class XetStore(ABC):
    """Xet storage: verified xorbs (each a blob) with their chunks, and files stored as terms.

    Hashes are Xet hash strings (``core.xet.hashing.hash_to_string``). Repositories recorded
    here are where a xorb or a file was uploaded: dedup answers and commit trust are scoped by
    them.
    """

    @abstractmethod
    def put_xorb(
        self, xorb: XorbRecord, chunks: Sequence[XorbChunkRecord], repository: str
    ) -> bool:
        """Record a verified xorb and its chunks (idempotent) and that it was uploaded into
        ``repository``; True if this call inserted the xorb."""

    @abstractmethod
    def get_xorb(self, xorb_hash: str) -> XorbRecord | None: ...

    @abstractmethod
    def xorb_uploaded_to(self, xorb_hash: str, repository: str) -> bool:
        """Whether the xorb's bytes were uploaded (and verified) into ``repository``."""

    @abstractmethod
    def xorb_chunks(
        self, xorb_hash: str, start: int = 0, end: int | None = None
    ) -> list[XorbChunkRecord]:
        """Chunks ``[start, end)`` of a xorb in order (``end=None``: to the last)."""

    @abstractmethod
    def put_xet_file(self, record: XetFileRecord, repository: str) -> None:
        """Record a verified file (idempotent) and that it was uploaded into ``repository``."""

    @abstractmethod
    def xet_file(self, file_hash: str) -> XetFileRecord | None: ...

    @abstractmethod
    def xet_file_for_sha256(self, sha256: Sha256) -> XetFileRecord | None:
        """A Xet file with this content (the first recorded, when chunked several ways)."""

    @abstractmethod
    def xet_file_uploaded_to(self, sha256: Sha256, repository: str) -> bool:
        """Whether a Xet file with this content was uploaded into ``repository``."""

    @abstractmethod
    def dedup_chunk(self, chunk_hash: str, repositories: Sequence[str]) -> tuple[str, int] | None:
        """A stored xorb uploaded into one of ``repositories`` holding this chunk: (xorb hash,
        chunk index); ``None`` when there is none (or no repository is given)."""

    @abstractmethod
    def sibling_xorbs(self, xorb_hash: str, repository: str, limit: int) -> list[str]:
        """The xorbs, other than ``xorb_hash``, of the Xet files registered in ``repository``
        that use ``xorb_hash``, uploaded into that repository: at most ``limit``, in file order."""


class XetUpstreamStore(ABC):
    """The Xet remote cache (``core/xet/remote.py``): chunk ranges of an upstream's xorbs that an
    hf-remote repository holds as chunks of local, verified xorbs."""

    @abstractmethod
    def put_upstream_segments(
        self, repository: str, segments: Sequence[UpstreamSegmentRecord]
    ) -> None:
        """Record segments (idempotent); their local xorbs are recorded already."""

    @abstractmethod
    def upstream_segments(
        self, repository: str, upstream_xorb: str, start: int, end: int, limit: int
    ) -> list[UpstreamSegmentRecord]:
        """Segments of ``upstream_xorb`` that overlap chunks ``[start, end)``, by start: at
        most ``limit``."""


class MetadataStore(
    SettingsStore,
    RepositoryStore,
    HubStore,
    GovernanceStore,
    TokenStore,
    AuditStore,
    LeaseStore,
    XetStore,
    XetUpstreamStore,
):
    """Every role, implemented by one backend over one database."""

    @abstractmethod
    def close(self) -> None: ...
