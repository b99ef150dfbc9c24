"""The queries of remote-cache quotas: what each remote repository cached (``cache_entries``,
migration 9), how recently it was read, and which of its blobs eviction may remove.

A cached blob is *pinned* (never evicted) while something other than a remote's cache needs it:
a bundle pin, a generic bundle file, a waiver, a Xet xorb (the dedup index may answer it: it goes
only with its row, through ``modelvault gc``), a file of a commit of a repository that is not an
hf-remote (an uploaded file), a package file (or its metadata) of a repository that is not a
pypi-remote. It is *shared* while another remote's cache also holds it: evicting it from this
remote only drops this remote's entry (the bytes stay for the other one). Otherwise evicting
it removes the blob (``core/blob_removal.py``). Entries whose blob is no longer registered
(collected or lost) neither count nor are chosen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .audit import AUDIT_INSERT, AuditStamp
from .store import SqlDatabase

_PINNED = """(
EXISTS (SELECT 1 FROM bundle_pins bp WHERE bp.sha256 = {b})
OR EXISTS (SELECT 1 FROM bundle_files bf WHERE bf.sha256 = {b})
OR EXISTS (SELECT 1 FROM waivers w WHERE w.sha256 = {b})
OR EXISTS (SELECT 1 FROM xet_xorbs x WHERE x.blob_sha256 = {b})
OR EXISTS (SELECT 1 FROM files f JOIN commits c ON c.pk = f.commit_pk
           JOIN hub_repos h ON h.id = c.hub_repo JOIN repositories r ON r.key = h.repository
           WHERE f.sha256 = {b} AND r.kind <> 'hf-remote')
OR EXISTS (SELECT 1 FROM pypi_files p JOIN repositories r ON r.key = p.repository
           WHERE (p.sha256 = {b} OR p.metadata_sha256 = {b}) AND r.kind <> 'pypi-remote')
)"""
_SHARED = "EXISTS (SELECT 1 FROM cache_entries o WHERE o.sha256 = {b} AND o.repository <> ?)"
# Built from the constant fragments above only (no value is ever formatted into SQL).
_LRU = (
    "SELECT e.sha256 AS sha256, e.size AS size, e.last_access AS last_access, CASE WHEN "  # noqa: S608
    + _PINNED.format(b="e.sha256")
    + " THEN 'pinned' WHEN "
    + _SHARED.format(b="e.sha256")
    + " THEN 'shared' ELSE 'alone' END AS state FROM cache_entries e "
    "JOIN blobs b ON b.sha256 = e.sha256 WHERE e.repository = ? AND (e.last_access > ? OR (e.last_access = ? AND e.sha256 > ?)) "
    "ORDER BY e.last_access, e.sha256 LIMIT ?"
)
_FORGET = (
    "DELETE FROM blobs WHERE sha256 = ? AND created_at < ? AND NOT "  # noqa: S608
    + _PINNED.format(b="blobs.sha256")
    + " AND NOT "
    + _SHARED.format(b="blobs.sha256")
)


@dataclass(frozen=True)
class CacheEntry:
    sha256: str
    size: int
    last_access: float
    state: str
    """``pinned``, ``shared`` or ``alone`` (see the module's docstring)."""


class SqlCacheStore(SqlDatabase):
    def record(self, repository: str, sha256: str, size: int, now: float) -> None:
        """``repository`` cached ``sha256`` (or read it again)."""
        with self._tx() as c:
            c.execute(
                "INSERT INTO cache_entries(repository, sha256, size, last_access) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(repository, sha256) DO UPDATE SET "
                "size = excluded.size, last_access = excluded.last_access",
                (repository, sha256, size, now),
            )

    def touch(self, accesses: Sequence[tuple[str, str, float]]) -> None:
        """(repository, sha256, time) of reads, in one transaction (entries only move forward)."""
        if not accesses:
            return
        with self._tx() as c:
            c.executemany(
                "UPDATE cache_entries SET last_access = ? "
                "WHERE repository = ? AND sha256 = ? AND last_access < ?",
                [(ts, repo, sha, ts) for repo, sha, ts in accesses],
            )

    def used(self, repository: str) -> int:
        row = self._one(
            "SELECT COALESCE(SUM(e.size), 0) AS used FROM cache_entries e "
            "JOIN blobs b ON b.sha256 = e.sha256 WHERE e.repository = ?",
            (repository,),
        )
        return int(row["used"]) if row else 0

    def repositories(self) -> list[str]:
        return [str(r["repository"]) for r in self._query(_DISTINCT)]

    def least_recent(
        self, repository: str, after: tuple[float, str], limit: int
    ) -> list[CacheEntry]:
        """The entries of ``repository`` read least recently, after ``after`` (paging)."""
        rows = self._query(_LRU, (repository, repository, after[0], after[0], after[1], limit))
        return [
            CacheEntry(str(r["sha256"]), int(r["size"]), float(r["last_access"]), str(r["state"]))
            for r in rows
        ]

    def drop(self, repository: str, entries: Sequence[CacheEntry], stamp: AuditStamp) -> None:
        """Forget shared entries of ``repository`` (their bytes stay), audited."""
        with self._tx() as c:
            c.executemany(
                "DELETE FROM cache_entries WHERE repository = ? AND sha256 = ?",
                [(repository, e.sha256) for e in entries],
            )
            c.executemany(
                AUDIT_INSERT,
                [
                    stamp.row("cache.evicted", repository, e.sha256, {"size": e.size, "shared": 1})
                    for e in entries
                ],
            )

    def evict(
        self, repository: str, entries: Sequence[CacheEntry], cutoff: float, stamp: AuditStamp
    ) -> list[str]:
        """Unregister each blob still neither pinned nor shared and not registered again since
        ``cutoff`` (one statement each: atomic against a concurrent writer), drop its entry and
        audit it, in one transaction; returns the unregistered sha256s."""
        evicted: list[CacheEntry] = []
        with self._tx() as c:
            for e in entries:
                if c.execute(_FORGET, (e.sha256, cutoff, repository)).rowcount == 1:
                    evicted.append(e)
            if not evicted:
                return []
            c.executemany(
                "DELETE FROM cache_entries WHERE sha256 = ?", [(e.sha256,) for e in evicted]
            )
            c.executemany(
                AUDIT_INSERT,
                [
                    stamp.row("cache.evicted", repository, e.sha256, {"size": e.size})
                    for e in evicted
                ],
            )
        return [e.sha256 for e in evicted]


_DISTINCT = "SELECT DISTINCT repository FROM cache_entries ORDER BY repository"

__all__ = ["CacheEntry", "SqlCacheStore"]
