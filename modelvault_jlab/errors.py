"""The one error tree of ModelVault.

Domain code raises these; the web layer maps them to HTTP statuses by walking the MRO
(``modelvault_jlab.web.errors``), so a new subclass never needs a table edit. Every class has a
stable ``code`` that clients may branch on. Messages are shown to users: never put filesystem paths,
tokens or upstream credentials in them.
"""

from __future__ import annotations

from typing import Any, ClassVar


class VaultError(Exception):
    """Base of every error ModelVault raises on purpose."""

    code: ClassVar[str] = "VaultError"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


# -- client mistakes --
class InvalidInputError(VaultError, ValueError):
    """A request named something that can never be valid (bad id, path trick, malformed body)."""

    code = "InvalidInput"


class RangeNotSatisfiableError(InvalidInputError):
    """A byte range that lies outside the content (HTTP 416)."""

    code = "RangeNotSatisfiable"


class PayloadTooLargeError(InvalidInputError):
    """A request body, or one of its parts, is over the limit for its route."""

    code = "PayloadTooLarge"


class InvalidRepoIdError(InvalidInputError):
    code = "InvalidRepoId"


class InvalidRevisionError(InvalidInputError):
    code = "InvalidRevision"


class InvalidFilenameError(InvalidInputError):
    code = "InvalidFilename"


class InvalidRepositoryKeyError(InvalidInputError):
    code = "InvalidRepositoryKey"


class InvalidDigestError(InvalidInputError):
    code = "InvalidDigest"


# -- identity --
class AuthenticationError(VaultError):
    """No credential, or one that is unknown, revoked or expired."""

    code = "Unauthenticated"


class TooManyRequestsError(VaultError):
    """Refused for now (too many failed authentications); ``details["retry_after"]`` seconds."""

    code = "TooManyRequests"


class PermissionDeniedError(VaultError):
    """A valid credential that lacks the scope or repository the request needs."""

    code = "PermissionDenied"


# -- lookups --
class NotFoundError(VaultError, LookupError):
    code = "NotFound"


class RepositoryNotFoundError(NotFoundError):
    """A ModelVault repository key (``models-local``) that does not exist."""

    code = "RepositoryNotFound"


class RepoNotFoundError(NotFoundError):
    """A Hub repo (``org/name``) that does not exist in a repository."""

    code = "RepoNotFound"


class RevisionNotFoundError(NotFoundError):
    code = "RevisionNotFound"


class EntryNotFoundError(NotFoundError):
    """A file path that does not exist at a resolved commit; carries ``commit`` when known."""

    code = "EntryNotFound"


class BlobNotFoundError(NotFoundError):
    code = "BlobNotFound"


# -- state conflicts --
class ConflictError(VaultError):
    code = "Conflict"


class RepoExistsError(ConflictError):
    code = "RepoExists"


class RefExistsError(ConflictError):
    code = "RefExists"


class WriteConflictError(ConflictError):
    """Optimistic concurrency lost: the branch moved since the caller read it."""

    code = "WriteConflict"


class UnsupportedOperationError(VaultError):
    """A valid request this repository kind or deployment does not offer (e.g. uploads to a remote)."""

    code = "Unsupported"


# -- policy --
class PolicyError(VaultError):
    code = "PolicyBlocked"


# -- integrity --
class IntegrityError(VaultError):
    code = "Integrity"


class DigestMismatchError(IntegrityError):
    code = "DigestMismatch"


class SizeMismatchError(IntegrityError):
    code = "SizeMismatch"


class IncompleteUploadError(IntegrityError):
    """The body ended before the announced length: nothing of it was stored."""

    code = "IncompleteUpload"


# -- upstreams --
class UpstreamError(VaultError):
    code = "UpstreamError"


class UpstreamUnavailableError(UpstreamError):
    code = "UpstreamUnavailable"


class OfflineModeError(UpstreamError):
    code = "Offline"


# -- internal --
class StorageError(VaultError):
    """Internal storage failure. Always a 500; the details go to the log only."""

    code = "StorageError"
