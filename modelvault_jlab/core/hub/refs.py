"""Hub refs: where a repo lives (:class:`HubRef`), a revision resolved to a commit
(:class:`Resolved`), revision names and the reserved ``bundle/`` namespace."""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import InvalidRevisionError
from ...ids import RepoId, RepositoryKey, RepoType, pr_number, validate_repo_id, validate_repo_type
from ...storage.records import CommitRecord, HubRepoRecord, RefKind, RepositoryRecord

DEFAULT_BRANCH = "main"
BUNDLE_REF_PREFIX = "bundle/"
"""Refs under this prefix are release-bundle pins (tags set by the bundle service only)."""


def is_bundle_ref(name: str) -> bool:
    return name.startswith(BUNDLE_REF_PREFIX)


@dataclass(frozen=True)
class HubRef:
    """Where a Hub repo lives: repository key, type and ``namespace/name``.

    ``repository`` (the vault's key, e.g. ``models``) and ``repo_id`` (the Hub's id, e.g.
    ``acme/bert``) are both strings on the wire; their NewTypes keep them apart from here on.
    """

    repository: RepositoryKey
    repo_type: RepoType
    repo_id: RepoId

    @classmethod
    def parse(cls, repository: str, repo_type: str | None, repo_id: str) -> HubRef:
        # the key is checked where the repository is looked up (unknown keys answer 404 there)
        return cls(
            RepositoryKey(repository), validate_repo_type(repo_type), validate_repo_id(repo_id)
        )


@dataclass(frozen=True)
class Resolved:
    """A revision resolved to a commit of a repo (of a member, for a virtual repository)."""

    repo: HubRepoRecord
    commit: CommitRecord
    revision: str
    source: RepositoryRecord
    """The repository that holds the repo: hf-local, or hf-remote for a mirrored one."""
    warning: str | None = None
    """Set when the answer comes from cache because the upstream could not be asked."""


def ref_of(rev: str) -> tuple[RefKind, str]:
    number = pr_number(rev)
    if number is not None:
        return "pr", str(number)
    if rev.startswith("refs/heads/"):
        return "branch", rev[len("refs/heads/") :]
    if rev.startswith("refs/tags/"):
        return "tag", rev[len("refs/tags/") :]
    if rev.startswith("refs/"):
        raise InvalidRevisionError(f"Unsupported ref {rev!r}.")
    return "branch", rev


def subject_of_ref(ref: HubRef) -> str:
    return f"{ref.repo_type}s/{ref.repo_id}"


def subject_of_repo(repo: HubRepoRecord) -> str:
    return f"{repo.repo_type}s/{repo.repo_id}"
