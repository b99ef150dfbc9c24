"""The vault dashboard: what each repository holds, how its files were judged, how well remote
caches serve, what policy blocked and waived over time, and what is transferring now.

Only repositories the caller may read are counted. The work is bounded whatever the vault's size
or the request: holdings are one grouped SQL query, time series read at most
:data:`MAX_EVENTS` audit events per action, and licences read the model card of at most
:data:`MAX_CARDS` Hub repos (only cards the vault already holds: the dashboard never asks an
upstream for anything).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..storage.blobs import BlobStore
from ..storage.meta import MetadataStore
from ..storage.records import AuditQuery, RepositoryRecord
from ..storage.sql.stats import SqlStatsStore
from .activity import Activity
from .hub.main_card import MainCards
from .hub.mirror import HubMirror
from .identity import Principal
from .repositories import RepositoryService
from .urls import mask_userinfo

MAX_DAYS = 90
"""The longest time window a caller may ask for."""
MAX_EVENTS = 5000
"""Audit events read per action (newest first): older ones fall outside the series."""
MAX_CARDS = 200
"""Model cards read per dashboard, across repositories."""
DAY = 86400.0

DOWNLOAD_ACTIONS = ("hub.file.download", "pypi.file.download")
UNSCANNED = "not-scanned"


@dataclass
class RepositoryStats:
    key: str
    kind: str
    files: int = 0
    bytes: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    licences: Counter[str] = field(default_factory=Counter)
    cache_hits: int = 0
    cache_misses: int = 0
    upstream: str | None = None
    members: list[str] = field(default_factory=list)

    @property
    def hit_ratio(self) -> float | None:
        """Downloads served from the cache over downloads (None: no remote download seen)."""
        total = self.cache_hits + self.cache_misses
        return None if total == 0 else self.cache_hits / total

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "files": self.files,
            "bytes": self.bytes,
            "verdicts": dict(sorted(self.verdicts.items())),
            "licences": dict(sorted(self.licences.items())),
            "cache": {
                "hits": self.cache_hits,
                "misses": self.cache_misses,
                "hit_ratio": self.hit_ratio,
            },
            "upstream": self.upstream,
            "members": self.members,
        }


@dataclass(frozen=True)
class Dashboard:
    since: float
    days: int
    repositories: list[RepositoryStats]
    timeline: list[dict[str, Any]]
    """``{"day": "YYYY-MM-DD", "repository": key or None, "kind": "block"|"waiver", "count"}``."""
    transfers: list[dict[str, Any]]
    truncated: bool
    """True when a bound (events or cards) cut the data short."""

    def to_json(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "days": self.days,
            "repositories": [r.to_json() for r in self.repositories],
            "timeline": self.timeline,
            "transfers": self.transfers,
            "truncated": self.truncated,
        }


class VaultDashboard:
    def __init__(
        self,
        meta: MetadataStore,
        stats: SqlStatsStore,
        blobs: BlobStore,
        repositories: RepositoryService,
        mirror: HubMirror,
        activity: Activity,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._meta = meta
        self._stats = stats
        self._blobs = blobs
        self._repositories = repositories
        self._mirror = mirror
        self._activity = activity
        self._clock = clock
        self._cards = MainCards(meta, blobs, mirror)

    async def summary(self, who: Principal, days: int = 30) -> Dashboard:
        """The dashboard as ``who`` may see it, over the last ``days`` days (clamped to
        ``1..MAX_DAYS``)."""
        days = min(max(days, 1), MAX_DAYS)
        since = self._clock() - days * DAY
        records = self._repositories.list(who)
        repos = {r.key: _describe(r) for r in records}
        for row in await asyncio.to_thread(self._stats.held_blobs):
            stats = repos.get(row.repository)
            if stats is not None:
                stats.files += row.files
                stats.bytes += row.bytes
                stats.verdicts[row.verdict or UNSCANNED] += row.files
        truncated = self._count_cache(repos, since)
        truncated |= await self._count_licences(records, repos)
        timeline, cut = self._timeline(who, set(repos), since)
        ops = self._activity.list(who)
        transfers = [op.to_json(target) for op, target in ops if op.kind == "transfer"]
        return Dashboard(since, days, list(repos.values()), timeline, transfers, truncated or cut)

    # -- remote caches --
    def _count_cache(self, repos: dict[str, RepositoryStats], since: float) -> bool:
        truncated = False
        for action in DOWNLOAD_ACTIONS:
            events = self._meta.query_audit(AuditQuery(action=action, limit=MAX_EVENTS))
            truncated |= len(events) == MAX_EVENTS and events[-1].ts >= since
            for e in events:
                stats = repos.get(e.repository or "")
                if e.ts < since or stats is None:
                    continue
                # PyPI downloads name the repository that served them in ``source``.
                source = repos.get(str(e.detail.get("source") or ""), stats)
                cache = e.detail.get("cache")
                if cache == "hit":
                    source.cache_hits += 1
                elif cache == "miss":
                    source.cache_misses += 1
        return truncated

    # -- licences --
    async def _count_licences(
        self, records: Iterable[RepositoryRecord], repos: dict[str, RepositoryStats]
    ) -> bool:
        budget = MAX_CARDS
        for record in records:
            if record.kind not in ("hf-local", "hf-remote"):
                continue
            hub_repos = self._meta.list_hub_repos(record.key, None, None, budget + 1)
            for hub_repo in hub_repos[:budget]:
                repos[record.key].licences[(await self._cards.read(record, hub_repo)).label] += 1
            if len(hub_repos) > budget:
                return True
            budget -= len(hub_repos)
        return False

    # -- blocks and waivers --
    def _timeline(
        self, who: Principal, readable: set[str], since: float
    ) -> tuple[list[dict[str, Any]], bool]:
        counts: Counter[tuple[str, str | None, str]] = Counter()
        vault_wide = who.allows("read", None)

        def visible(repository: str | None) -> bool:
            return repository in readable if repository else vault_wide

        blocks = self._meta.query_audit(AuditQuery(action="policy.block", limit=MAX_EVENTS))
        for e in blocks:
            if e.ts >= since and visible(e.repository):
                counts[(_day(e.ts), e.repository, "block")] += 1
        for w in self._meta.list_waivers(include_inactive=True, now=self._clock()):
            if w.created_at >= since and visible(w.repository):
                counts[(_day(w.created_at), w.repository, "waiver")] += 1
        timeline = [
            {"day": day, "repository": repo, "kind": kind, "count": n}
            for (day, repo, kind), n in sorted(
                counts.items(), key=lambda i: (i[0][0], i[0][2], i[0][1] or "")
            )
        ]
        return timeline, len(blocks) == MAX_EVENTS and blocks[-1].ts >= since


def _describe(record: RepositoryRecord) -> RepositoryStats:
    stats = RepositoryStats(record.key, record.kind)
    if record.kind.endswith("-remote"):
        upstream = record.config.get("upstream")
        stats.upstream = mask_userinfo(str(upstream)) if upstream else None
    members = record.config.get("members")
    if record.kind.endswith("-virtual") and isinstance(members, list):
        stats.members = [str(m) for m in members]
    return stats


def _day(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts))
