"""Waivers: an admin lifts one policy for one repo (optionally at one commit) or one blob, with a
justification, until the waiver expires or is revoked."""

from __future__ import annotations

from typing import Any

from ...errors import InvalidInputError
from ...ids import validate_repo_id, validate_repo_type, validate_sha256
from ...storage.records import WaiverRecord
from ..identity import Principal
from .policy.engine import Violation
from .subject import Subject

MAX_WAIVER_SECONDS = 366 * 24 * 3600


def parse_waiver(who: Principal, body: dict[str, Any], now: float) -> WaiverRecord:
    """The waiver a grant request asks for (not stored yet).

    Raises:
        InvalidInputError: a field is missing or out of range.
    """
    policy = body.get("policy")
    justification = body.get("justification")
    expires_in = body.get("expires_in_seconds")
    if not isinstance(policy, str) or not policy:
        raise InvalidInputError("A waiver names the 'policy' it lifts.")
    if not isinstance(justification, str) or len(justification.strip()) < 5:
        raise InvalidInputError("A waiver needs a 'justification' (at least 5 characters).")
    if (  # a bool is an int to Python, not a duration; NaN fails the range test
        isinstance(expires_in, bool)
        or not isinstance(expires_in, int | float)
        or not 0 < expires_in <= MAX_WAIVER_SECONDS
    ):
        raise InvalidInputError(
            f"A waiver needs 'expires_in_seconds' between 1 and {MAX_WAIVER_SECONDS}."
        )
    sha = validate_sha256(body["sha256"]) if body.get("sha256") else None
    repo_id = validate_repo_id(body["repo_id"]) if body.get("repo_id") else None
    if sha is None and repo_id is None:
        raise InvalidInputError(
            "A waiver applies to a 'repo_id' (optionally at a 'commit') or a 'sha256'."
        )
    commit = body.get("commit")
    if commit is not None and not (isinstance(commit, str) and len(commit) == 40):
        raise InvalidInputError("'commit' must be a full 40-hex commit id.")
    return WaiverRecord(
        id=0,
        policy=policy,
        repository=str(body["repository"]) if body.get("repository") else None,
        repo_type=validate_repo_type(body.get("repo_type")) if repo_id else None,
        repo_id=repo_id,
        commit=commit,
        sha256=sha,
        justification=justification.strip(),
        created_by=who.name,
        created_at=now,
        expires_at=now + float(expires_in),
        revoked_at=None,
    )


def covers(w: WaiverRecord, v: Violation, subject: Subject, sha256: str | None) -> bool:
    if w.policy != v.policy:
        return False
    if w.sha256 is not None:
        return sha256 is not None and w.sha256 == sha256
    return (
        w.repo_id == subject.repo_id
        and (w.repo_type or "model") == subject.repo_type
        and (w.repository is None or w.repository in (subject.repository, subject.source.key))
        and (w.commit is None or w.commit == subject.commit)
    )
