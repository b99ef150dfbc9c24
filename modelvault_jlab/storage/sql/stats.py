"""Aggregates over the metadata database for the vault dashboard (read-only SQL).

What a repository holds is every stored blob a commit of one of its Hub repos names (a mirrored
regular file by its git oid, as the mirror finds it), every blob
uploaded into it (``repository_blobs``) and every PyPI file stored in it; each blob counts once
per repository however many commits or files name it. The database does the grouping, so the
work is one indexed pass whatever the vault's size, and the answer is one row per
(repository, verdict).
"""

from __future__ import annotations

from dataclasses import dataclass

from .store import SqlDatabase

_HELD = """
SELECT h.repository AS repository, b.sha256 AS sha256, b.size AS size
  FROM files f JOIN commits c ON c.pk = f.commit_pk JOIN hub_repos h ON h.id = c.hub_repo
  JOIN blobs b ON b.sha256 = f.sha256
UNION
SELECT h.repository, b.sha256, b.size
  FROM files f JOIN commits c ON c.pk = f.commit_pk JOIN hub_repos h ON h.id = c.hub_repo
  JOIN git_objects g ON g.git_oid = f.git_oid JOIN blobs b ON b.sha256 = g.sha256
  WHERE f.lfs = 0
UNION
SELECT rb.repository, b.sha256, b.size
  FROM repository_blobs rb JOIN blobs b ON b.sha256 = rb.sha256
UNION
SELECT p.repository, b.sha256, b.size
  FROM pypi_files p JOIN blobs b ON b.sha256 = p.sha256
"""


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
            f"COALESCE(SUM(t.size), 0) AS bytes FROM ({_HELD}) t "
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
