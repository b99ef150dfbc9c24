"""Identifier kinds and their validators.

Names that reach storage are validated here, once, before any path is built from them. The rules
are deliberately narrower than what a filesystem accepts: anything that could be read as a path trick
(``..``, absolute paths, backslashes, NUL, control characters, percent-encoded dots surviving a
decode) is rejected with a precise message.
"""

from __future__ import annotations

import re
from typing import Literal, NewType, get_args

from .errors import (
    InvalidDigestError,
    InvalidFilenameError,
    InvalidRepoIdError,
    InvalidRepositoryKeyError,
    InvalidRevisionError,
)

RepositoryKey = NewType("RepositoryKey", str)
"""A ModelVault repository key such as ``models-local`` (Artifactory's repo key)."""
RepoId = NewType("RepoId", str)
"""A Hub repo id, always ``namespace/name``."""
Revision = NewType("Revision", str)
"""A branch, tag, ``refs/pr/N`` or full commit sha, as a client sent it."""
CommitSha = NewType("CommitSha", str)
"""40 lowercase hex characters."""
Sha256 = NewType("Sha256", str)
"""64 lowercase hex characters."""
RepoFilePath = NewType("RepoFilePath", str)
"""A relative, ``/``-separated path inside a Hub repo."""

RepoType = Literal["model", "dataset", "space"]
REPO_TYPES: tuple[str, ...] = get_args(RepoType)

MAX_PATH_LENGTH = 1024
MAX_SEGMENT_LENGTH = 255
MAX_NAME_LENGTH = 96

_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_REF_RE = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")
_PR_RE = re.compile(r"^refs/pr/([1-9][0-9]{0,8})$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def validate_repository_key(key: str) -> RepositoryKey:
    if not _KEY_RE.match(key):
        raise InvalidRepositoryKeyError(
            f"Invalid repository key {key[:80]!r}: use 1-63 lowercase letters, digits, '.', '_' "
            "or '-', starting with a letter or digit."
        )
    return RepositoryKey(key)


def _validate_name_part(part: str, what: str, repo_id: str) -> None:
    if not part or len(part) > MAX_NAME_LENGTH or not _NAME_RE.match(part):
        raise InvalidRepoIdError(
            f"Invalid repo id {repo_id[:200]!r}: the {what} must be 1-{MAX_NAME_LENGTH} letters, "
            "digits, '.', '_' or '-', starting with a letter or digit."
        )
    if ".." in part or part.endswith((".git", ".")):
        raise InvalidRepoIdError(
            f"Invalid repo id {repo_id[:200]!r}: '..' and a trailing '.git' or '.' are not allowed."
        )


def validate_repo_id(repo_id: str) -> RepoId:
    """Accept exactly ``namespace/name`` with Hub-compatible characters."""
    parts = repo_id.split("/")
    if len(parts) != 2:
        raise InvalidRepoIdError(f"Invalid repo id {repo_id[:200]!r}: expected 'namespace/name'.")
    _validate_name_part(parts[0], "namespace", repo_id)
    _validate_name_part(parts[1], "name", repo_id)
    return RepoId(repo_id)


def validate_repo_type(repo_type: str | None) -> RepoType:
    value = repo_type or "model"
    if value not in REPO_TYPES:
        raise InvalidRepoIdError(f"Invalid repo type {value[:40]!r}: expected one of {REPO_TYPES}.")
    return value  # type: ignore[return-value]


def is_commit_sha(value: str) -> bool:
    return bool(_COMMIT_RE.match(value))


def validate_sha256(value: str) -> Sha256:
    if not _SHA256_RE.match(value):
        raise InvalidDigestError(
            f"Invalid sha256 {value[:80]!r}: expected 64 lowercase hex digits."
        )
    return Sha256(value)


def is_sha256(value: str) -> bool:
    return bool(_SHA256_RE.match(value))


def pr_number(revision: str) -> int | None:
    """``refs/pr/7`` -> 7; anything else -> None."""
    m = _PR_RE.match(revision)
    return int(m.group(1)) if m else None


def validate_ref_name(name: str, what: str = "branch") -> Revision:
    """Validate a branch or tag name (git-like; ``/`` allowed between safe segments)."""
    if not name or len(name) > MAX_SEGMENT_LENGTH or not _REF_RE.match(name):
        raise InvalidRevisionError(
            f"Invalid {what} name {name[:80]!r}: use letters, digits, '.', '_', '-' and '/'."
        )
    if any(seg in (".", "..") or seg.endswith(".lock") for seg in name.split("/")):
        raise InvalidRevisionError(f"Invalid {what} name {name[:80]!r}.")
    if name.startswith("refs/") or is_commit_sha(name):
        raise InvalidRevisionError(
            f"Invalid {what} name {name[:80]!r}: reserved (refs/… or a commit id)."
        )
    return Revision(name)


def validate_revision(revision: str) -> Revision:
    """Validate a revision as a client may send it: branch, tag, commit sha or refs/pr/N."""
    if is_commit_sha(revision) or pr_number(revision) is not None:
        return Revision(revision)
    if not revision or len(revision) > MAX_SEGMENT_LENGTH or not _REF_RE.match(revision):
        raise InvalidRevisionError(f"Invalid revision {revision[:80]!r}.")
    if any(seg in (".", "..") for seg in revision.split("/")):
        raise InvalidRevisionError(f"Invalid revision {revision[:80]!r}.")
    return Revision(revision)


def validate_repo_path(path: str, *, allow_empty: bool = False) -> RepoFilePath:
    """Validate a file or folder path inside a Hub repo.

    The path must already be percent-decoded exactly once by the router. A ``%`` followed by two
    hex digits that survives that decode means the client double-encoded a path trick
    (``%252e%252e``), which is rejected rather than decoded again.
    """
    if path == "" and allow_empty:
        return RepoFilePath("")
    if not path:
        raise InvalidFilenameError("Invalid path: empty.")
    shown = path[:200]
    if len(path) > MAX_PATH_LENGTH:
        raise InvalidFilenameError(
            f"Invalid path {shown!r}: longer than {MAX_PATH_LENGTH} characters."
        )
    if "\x00" in path or _CONTROL.search(path):
        raise InvalidFilenameError(
            f"Invalid path {shown!r}: control characters (NUL…) are not allowed."
        )
    if "\\" in path:
        raise InvalidFilenameError(f"Invalid path {shown!r}: backslashes are not allowed.")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        raise InvalidFilenameError(f"Invalid path {shown!r}: absolute paths are not allowed.")
    if re.search(r"%[0-9A-Fa-f]{2}", path):
        raise InvalidFilenameError(
            f"Invalid path {shown!r}: percent-encoded characters after decoding (double encoding)."
        )
    for segment in path.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidFilenameError(
                f"Invalid path {shown!r}: empty, '.' or '..' segments are not allowed."
            )
        if len(segment.encode()) > MAX_SEGMENT_LENGTH:
            raise InvalidFilenameError(
                f"Invalid path {shown!r}: a segment is longer than {MAX_SEGMENT_LENGTH} bytes."
            )
    if path.split("/")[0] == ".git":
        raise InvalidFilenameError(f"Invalid path {shown!r}: '.git' is reserved.")
    return RepoFilePath(path)
