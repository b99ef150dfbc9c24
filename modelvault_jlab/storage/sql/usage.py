"""Bytes stored per repository, from the tables that say what each repository holds.

A repository *holds* a stored blob when a file of any commit of one of its Hub repos names it (a
mirrored regular file by its git oid, as the mirror finds it), when it was uploaded into it
(``repository_blobs``) or when it is a package file stored in it (:data:`HELD_BLOBS`, also what
the dashboard counts by verdict, ``stats.py``). Its storage use adds its packages' core metadata
files. A blob used by two repositories counts in both (each would need it alone); the store's
own total counts it once.
"""

from __future__ import annotations

from dataclasses import dataclass

from .store import SqlDatabase

HELD_BLOBS = """
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
"""(repository, sha256, size) once per blob a repository holds (constant SQL)."""

_BY_REPOSITORY = (
    "SELECT u.repository AS repository, COUNT(*) AS blobs, COALESCE(SUM(u.size), 0) AS bytes "  # noqa: S608
    "FROM (" + HELD_BLOBS + "UNION SELECT p.repository, b.sha256, b.size FROM pypi_files p "
    "JOIN blobs b ON b.sha256 = p.metadata_sha256"
    ") u GROUP BY u.repository ORDER BY u.repository"
)


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


__all__ = ["HELD_BLOBS", "RepositoryUsage", "SqlUsageStore", "StoreTotals"]
