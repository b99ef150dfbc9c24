"""Aggregates over the metadata database for the vault dashboard (read-only SQL).

What a repository holds is :data:`.usage.HELD_BLOBS` (each blob once per repository however many
commits or files name it). The database does the grouping, so the work is one indexed pass
whatever the vault's size, and the answer is one row per (repository, verdict).
"""

from __future__ import annotations

from dataclasses import dataclass

from .store import SqlDatabase
from .usage import HELD_BLOBS


@dataclass(frozen=True)
class HeldBlobs:
    """The stored blobs of one repository that share a verdict (``None``: never scanned)."""

    repository: str
    verdict: str | None
    files: int
    bytes: int


class SqlStatsStore(SqlDatabase):
    def held_blobs(self) -> list[HeldBlobs]:
        """One row per (repository, verdict) with the count and total size of its blobs."""
        rows = self._query(
            f"SELECT t.repository AS repository, s.verdict AS verdict, COUNT(*) AS files, "  # noqa: S608 - constant SQL
            f"COALESCE(SUM(t.size), 0) AS bytes FROM ({HELD_BLOBS}) t "
            "LEFT JOIN scan_results s ON s.sha256 = t.sha256 "
            "GROUP BY t.repository, s.verdict ORDER BY t.repository"
        )
        return [
            HeldBlobs(
                str(r["repository"]),
                None if r["verdict"] is None else str(r["verdict"]),
                int(r["files"]),
                int(r["bytes"]),
            )
            for r in rows
        ]
