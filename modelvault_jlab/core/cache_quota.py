"""Size quotas of remote caches, with least-recently-used eviction.

A remote repository (hf-remote, pypi-remote) with ``cache_quota_bytes`` in its config keeps the
files it cached within that many bytes. Before a new file is fetched (its size known from the
upstream's tree or index), :meth:`CacheQuotas.make_room` evicts the files of that remote read
least recently until the new one fits; ``modelvault gc`` brings every remote back under its
quota too (after a quota was lowered). Files something else needs are never evicted (bundle
pins, waivers, uploaded files: ``storage/sql/cache.py``); a blob another remote also caches only
leaves this remote's account. An evicted file is fetched from the upstream again on its next
request. Every eviction is audited (``cache.evicted``).

Last access is kept cheaply: a warm read is noted in memory (:meth:`CacheQuotas.touched`) and
the notes are written in one transaction at most every ``flush_seconds`` and before every
eviction, so a warm GET does not write the database. Replicas each keep their own notes: an
eviction on one replica sees another's reads up to ``flush_seconds`` late.

When the quota cannot be met (the new file alone is larger, or what is left is pinned) the
download is refused with :class:`~..errors.CacheQuotaError` (HTTP 507), nothing evicted in vain.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import CacheQuotaError
from ..storage.records import BlobInfo, RepositoryRecord
from ..storage.sql.audit import AuditStamp
from ..storage.sql.cache import CacheEntry, SqlCacheStore
from .blob_removal import BlobRemover
from .identity import SYSTEM, Principal

log = logging.getLogger(__name__)

QUOTA_SETTINGS: dict[str, type | tuple[type, ...]] = {"cache_quota_bytes": int}
"""The setting every remote kind accepts (merged into each kind's allowed settings)."""
REMOTE_KINDS = ("hf-remote", "pypi-remote")
_PAGE = 200
_MAX_PENDING = 10_000


@dataclass
class EvictionReport:
    repository: str
    quota: int
    used_before: int
    evicted: int = 0
    bytes: int = 0

    def to_json(self) -> dict[str, object]:
        return {
            "repository": self.repository,
            "quota": self.quota,
            "used_before": self.used_before,
            "evicted": self.evicted,
            "bytes": self.bytes,
        }


def quota_of(record: RepositoryRecord) -> int | None:
    value = record.config.get("cache_quota_bytes")
    if record.kind not in REMOTE_KINDS or not isinstance(value, int) or isinstance(value, bool):
        return None
    return value


class CacheAccounting:
    """What remotes report about their caches; this base ignores it (a vault without quota
    support, unit tests). :class:`CacheQuotas` acts on it."""

    def cached(self, repository: str, info: BlobInfo) -> None:
        """``repository`` stored a file it fetched from its upstream."""

    def touched(self, repository: str, sha256: str) -> None:
        """``repository`` served a file from its cache."""

    async def admit(self, record: RepositoryRecord, incoming: int) -> None:
        """``record`` is about to fetch a file of ``incoming`` bytes."""


class CacheQuotas(CacheAccounting):
    def __init__(
        self,
        store: SqlCacheStore,
        remover: BlobRemover,
        clock: Callable[[], float] = time.time,
        flush_seconds: float = 60.0,
    ) -> None:
        self._store = store
        self._remover = remover
        self._clock = clock
        self._flush_seconds = flush_seconds
        self._pending: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self._flushed_at = clock()
        self._evicting = threading.Lock()  # one eviction at a time in this process

    # -- what remotes report --------------------------------------------------------------

    def cached(self, repository: str, info: BlobInfo) -> None:
        """``repository`` stored a file it fetched from its upstream."""
        self._store.record(repository, info.sha256, info.size, self._clock())

    def touched(self, repository: str, sha256: str) -> None:
        """A warm read: noted in memory, written with the next flush."""
        now = self._clock()
        with self._lock:
            self._pending[(repository, sha256)] = now
            due = now - self._flushed_at >= self._flush_seconds
            full = len(self._pending) >= _MAX_PENDING
        if due or full:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
            self._flushed_at = self._clock()
        self._store.touch([(repo, sha, ts) for (repo, sha), ts in pending.items()])

    # -- eviction -------------------------------------------------------------------------

    async def admit(self, record: RepositoryRecord, incoming: int) -> None:
        """Make room for a file of ``incoming`` bytes about to be fetched (no quota: nothing).

        Raises:
            CacheQuotaError: it cannot fit.
        """
        if quota_of(record) is not None:
            await asyncio.to_thread(self.make_room, record, incoming, SYSTEM)

    def make_room(
        self, record: RepositoryRecord, incoming: int, who: Principal
    ) -> EvictionReport | None:
        """Evict least-recently-read files of ``record`` until ``incoming`` more bytes fit its
        quota; None when it has no quota.

        Raises:
            CacheQuotaError: the file is larger than the quota, or the rest is pinned.
        """
        quota = quota_of(record)
        if quota is None:
            return None
        if incoming > quota:
            raise CacheQuotaError(
                f"Repository '{record.key}' caches at most {quota} bytes; the requested file "
                f"has {incoming}.",
                repository=record.key,
            )
        with self._evicting:
            self.flush()
            used = self._store.used(record.key)
            report = EvictionReport(record.key, quota, used)
            if used + incoming > quota:
                self._evict(record.key, used + incoming - quota, report, who)
            if report.used_before - report.bytes + incoming > quota:
                raise CacheQuotaError(
                    f"Repository '{record.key}' cannot cache {incoming} more bytes within its "
                    f"quota of {quota}: the rest of what it holds is needed by bundles, waivers or "
                    "uploads.",
                    repository=record.key,
                )
        if report.evicted:
            log.info(
                "Evicted %d file(s), %d bytes, from the cache of %s (quota %d)",
                report.evicted,
                report.bytes,
                record.key,
                quota,
            )
        return report

    def _evict(self, repository: str, excess: int, report: EvictionReport, who: Principal) -> None:
        stamp = AuditStamp(self._clock(), who.name, who.token_id, who.remote_addr)
        cutoff = self._clock()  # a blob registered again from now on is being written: kept
        after: tuple[float, str] = (float("-inf"), "")
        while report.bytes < excess:
            page = self._store.least_recent(repository, after, _PAGE)
            if not page:
                return
            after = (page[-1].last_access, page[-1].sha256)
            chosen: list[CacheEntry] = []
            room = report.bytes
            for entry in page:
                if entry.state == "pinned":
                    continue
                chosen.append(entry)
                room += entry.size
                if room >= excess:
                    break
            shared = [e for e in chosen if e.state == "shared"]
            if shared:
                self._store.drop(repository, shared, stamp)
                self._count(report, shared)
            alone = {e.sha256: e for e in chosen if e.state == "alone"}
            if alone:
                forget = functools.partial(self._forget, repository, alone, cutoff, stamp)
                removed = self._remover.remove(list(alone), forget)
                self._count(report, [alone[s] for s in removed])

    def _forget(
        self,
        repository: str,
        entries: dict[str, CacheEntry],
        cutoff: float,
        stamp: AuditStamp,
        shas: Sequence[str],
    ) -> list[str]:
        return self._store.evict(repository, [entries[s] for s in shas], cutoff, stamp)

    @staticmethod
    def _count(report: EvictionReport, entries: list[CacheEntry]) -> None:
        report.evicted += len(entries)
        report.bytes += sum(e.size for e in entries)

    def enforce(self, records: list[RepositoryRecord], who: Principal) -> list[EvictionReport]:
        """Bring every remote with a quota back under it (``modelvault gc``)."""
        reports = []
        for record in records:
            if quota_of(record) is None:
                continue
            try:
                report = self.make_room(record, 0, who)
            except CacheQuotaError as exc:
                log.warning("%s", exc.message)
                continue
            if report is not None:
                reports.append(report)
        return reports


__all__ = ["QUOTA_SETTINGS", "CacheAccounting", "CacheQuotas", "EvictionReport", "quota_of"]
