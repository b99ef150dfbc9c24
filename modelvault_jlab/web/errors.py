"""VaultError -> HTTP status, looked up along the MRO (a subclass inherits its mapping)."""

from __future__ import annotations

from typing import TypeVar

from .. import errors as e

T = TypeVar("T")

ERROR_STATUS: dict[type[BaseException], int] = {
    e.InvalidInputError: 400,
    e.PayloadTooLargeError: 413,
    e.RangeNotSatisfiableError: 416,
    e.AuthenticationError: 401,
    e.PermissionDeniedError: 403,
    e.TooManyRequestsError: 429,
    e.PolicyError: 403,
    e.NotFoundError: 404,
    e.ConflictError: 409,
    e.WriteConflictError: 412,
    e.UnsupportedOperationError: 405,
    e.IntegrityError: 422,
    e.UpstreamError: 502,
    e.OfflineModeError: 503,
    e.StorageError: 500,
}

HF_ERROR_CODES: dict[type[BaseException], str] = {
    e.RepoNotFoundError: "RepoNotFound",
    e.RepositoryNotFoundError: "RepoNotFound",
    e.AuthenticationError: "RepoNotFound",
    e.RevisionNotFoundError: "RevisionNotFound",
    e.EntryNotFoundError: "EntryNotFound",
    e.PolicyError: "GatedRepo",
}


def _lookup(table: dict[type[BaseException], T], exc: BaseException) -> T | None:
    for cls in type(exc).__mro__:
        if cls in table:
            return table[cls]
    return None


def status_for(exc: BaseException) -> int:
    """500 for anything that is not a known VaultError."""
    return _lookup(ERROR_STATUS, exc) or 500


def hf_error_code(exc: BaseException) -> str | None:
    """The ``X-Error-Code`` that makes the stock huggingface_hub raise its own typed error."""
    return _lookup(HF_ERROR_CODES, exc)


def public_message(exc: BaseException) -> str:
    if isinstance(exc, e.VaultError) and not isinstance(exc, e.StorageError):
        return exc.message
    return "Internal server error; the details are in the server log."
