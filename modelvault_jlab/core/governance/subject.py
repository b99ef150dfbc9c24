"""What a governance decision is about."""

from __future__ import annotations

from dataclasses import dataclass

from ...storage.records import RepositoryRecord


@dataclass(frozen=True)
class Subject:
    """What a decision is about: a repo at a commit, as the client asked for it."""

    repository: str  # the repository the client used (a virtual one, possibly)
    source: RepositoryRecord  # where the repo lives
    repo_type: str
    repo_id: str
    commit: str
