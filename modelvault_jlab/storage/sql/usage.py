"""Bytes stored per repository, from the tables that say what each repository uses.

A repository *uses* a stored blob when a file of any commit of one of its Hub repos, or a
package file (uploaded or cached from its upstream) or that file's core metadata, has its
sha256. A blob used by two repositories counts in both (each would need it alone); the store's
own total counts it once.
"""

from __future__ import annotations

from dataclasses import dataclass

from .store import SqlDatabase

_BY_REPOSITORY = """
SELECT u.repository AS repository, COUNT(*) AS blobs, COALESCE(SUM(b.size), 0) AS bytes
FROM (
    SELECT DISTINCT h.repository AS repository, f.sha256 AS sha256
      FROM files f JOIN commits c ON c.pk = f.commit_pk JOIN hub_repos h ON h.id = c.hub_repo
    UNION
    SELECT repository, sha256 FROM pypi_files
    UNION
    SELECT repository, metadata_sha256 FROM pypi_files WHERE metadata_sha256 IS NOT NULL
) u JOIN blobs b ON b.sha256 = u.sha256
GROUP BY u.repository ORDER BY u.repository
"""


@dataclass(frozen=True)
class RepositoryUsage:
    repository: str
    blobs: int
    bytes: int


@dataclass(frozen=True)
class StoreTotals:
    blobs: int
    bytes: int


class SqlUsageStore(SqlDatabase):
    def by_repository(self) -> list[RepositoryUsage]:
        rows = self._query(_BY_REPOSITORY)
        return [
            RepositoryUsage(str(r["repository"]), int(r["blobs"]), int(r["bytes"])) for r in rows
        ]

    def totals(self) -> StoreTotals:
        row = self._one("SELECT COUNT(*) AS blobs, COALESCE(SUM(size), 0) AS bytes FROM blobs")
        return StoreTotals(int(row["blobs"]), int(row["bytes"])) if row else StoreTotals(0, 0)


__all__ = ["RepositoryUsage", "SqlUsageStore", "StoreTotals"]
