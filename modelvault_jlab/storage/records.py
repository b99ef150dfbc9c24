"""The domain's records as the stores keep them: blobs, repositories, Hub repos, commits, refs,
files, tokens, audit events, scan verdicts and waivers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..ids import CommitSha, RepoType, Sha256


@dataclass(frozen=True)
class BlobInfo:
    sha256: Sha256
    size: int


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


# -- Xet storage (core/xet/): xorbs are blobs, a Xet file is a list of terms over xorb chunks --
@dataclass(frozen=True)
class XorbRecord:
    """A verified xorb: its merkle hash (string form) and the blob holding its serialized bytes."""

    xorb_hash: str
    blob_sha256: Sha256
    serialized_len: int
    raw_len: int
    n_chunks: int


@dataclass(frozen=True)
class XorbChunkRecord:
    """Chunk ``index`` of a xorb: uncompressed ``[raw_start, raw_start+raw_len)`` and its
    serialized header+payload ``[ser_start, ser_end)`` inside the xorb blob."""

    index: int
    chunk_hash: str
    raw_start: int
    raw_len: int
    ser_start: int
    ser_end: int


@dataclass(frozen=True)
class XetTermRecord:
    """Chunks ``[start, end)`` of one xorb, ``unpacked`` bytes once decompressed."""

    xorb_hash: str
    start: int
    end: int
    unpacked: int


@dataclass(frozen=True)
class XetFileRecord:
    """A file stored as Xet terms; ``sha256`` was recomputed from the reconstruction."""

    file_hash: str
    sha256: Sha256
    size: int
    terms: tuple[XetTermRecord, ...]


@dataclass(frozen=True)
class UpstreamSegmentRecord:
    """Chunks ``[start, end)`` of an upstream's xorb, held locally as chunks
    ``[local_start, local_start + end - start)`` of the verified local xorb ``xorb_hash``."""

    upstream_xorb: str
    start: int
    end: int
    xorb_hash: str
    local_start: int
