"""Garbage collection of blobs nothing needs (``modelvault gc [--dry-run]``), safe while servers
and replicas run.

**What is collected.** Registered blobs that no commit file, mirrored git object, package file
(uploaded or cached), bundle pin, bundle file or waiver names (``storage/gc_sql.py``), and that
were last registered more than ``grace_seconds`` ago (default 24 h: an LFS upload waiting for its
commit, or a multipart upload's parts, are needs the tables cannot see yet).

**The race with a writer of the same content.** A writer that finds the blob already stored drops
its own copy and registers the stored one (refreshing its registration time), then checks the
file is still there (:meth:`.content.ContentStore.finish`). The collector, for each blob: (1) sets
the file aside (an atomic rename), (2) unregisters the blob in one statement that re-checks it is
unneeded and was not registered since the cutoff, (3) deletes the set-aside file if (2) removed
it, else puts it back. A writer registering before (2) makes (2) fail and the file comes back; a
writer registering after (2) finds the file gone (it was set aside in (1), before) and fails its
upload cleanly (the client retries and stores the bytes again). No interleaving leaves a
registered blob without its file. A collector killed between (1) and (3) leaves the file in
``gc-trash/``: the next run puts back what is registered and deletes the rest.

**Xet storage** is collected after the blobs (:mod:`.xet.gc`): Xet files whose sha256 the
blob pass unregistered, then the xorbs no remaining file names, with their blobs.

Every collected blob is audited (``blob.collected``) and each run once (``gc.run``). The folder
and S3 blob stores are supported (``storage/trash_of.py``).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInputError
from ..storage.blobs import BlobStore
from ..storage.sql.audit import AuditStamp
from ..storage.sql.gc import SqlGcStore
from ..storage.sql.xet_gc import SqlXetGcStore
from .audit import AuditLog
from .blob_removal import BlobRemover
from .identity import Principal
from .xet.gc import XetCollector, XetGcReport

log = logging.getLogger(__name__)

DEFAULT_GRACE_SECONDS = 24 * 3600.0
_BATCH = 1000


@dataclass
class GcReport:
    dry_run: bool
    cutoff: float
    collected: int = 0
    bytes: int = 0
    kept_in_use: int = 0
    """Candidates a writer registered again while the collector looked at them."""
    restored_from_trash: int = 0
    xet: XetGcReport = field(default_factory=XetGcReport)
    sample: list[str] = field(default_factory=list)
    """The first collected (or, dry run, collectable) sha256s."""

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "cutoff": self.cutoff,
            "collected": self.collected,
            "bytes": self.bytes,
            "kept_in_use": self.kept_in_use,
            "restored_from_trash": self.restored_from_trash,
            **self.xet.to_json(),
            "sample": self.sample,
        }


class BlobCollector:
    def __init__(
        self,
        store: SqlGcStore,
        xet_store: SqlXetGcStore,
        blobs: BlobStore,
        audit: AuditLog,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._remover = BlobRemover(blobs)
        self._xet = XetCollector(xet_store, self._remover)
        self._audit = audit
        self._clock = clock

    def collect(
        self,
        who: Principal,
        *,
        dry_run: bool = False,
        grace_seconds: float = DEFAULT_GRACE_SECONDS,
        between: Callable[[str], None] = lambda sha: None,
    ) -> GcReport:
        """Collect (or, dry run, list) unneeded blobs older than ``grace_seconds``, a page of
        candidates at a time (one transaction per page unregisters and audits them).

        ``between`` runs after a blob was set aside and before it is unregistered (tests use it
        to interleave a writer at the one moment that matters).
        """
        if grace_seconds < 0:
            raise InvalidInputError("The grace period cannot be negative.")
        self._remover.trash()  # a store that cannot remove blobs: refused before any work
        report = GcReport(dry_run, self._clock() - grace_seconds)
        if not dry_run:
            report.restored_from_trash = self._remover.recover(self._store.is_registered)
        stamp = AuditStamp(self._clock(), who.name, who.token_id, who.remote_addr)
        after = ""
        while True:
            batch = self._store.candidates(report.cutoff, after, _BATCH)
            if not batch:
                break
            after = batch[-1][0]
            if dry_run:
                for sha, size in batch:
                    self._count(report, sha, size)
                continue
            forget = functools.partial(self._forget, dict(batch), cutoff=report.cutoff, stamp=stamp)
            removed = self._remover.remove([sha for sha, _ in batch], forget, between)
            for sha, size in batch:
                if sha in removed:
                    self._count(report, sha, size)
                else:
                    report.kept_in_use += 1
        forget_blobs = functools.partial(self._forget, cutoff=report.cutoff, stamp=stamp)
        report.xet = self._xet.collect(
            report.cutoff, dry_run=dry_run, forget_blobs=forget_blobs, between=between
        )
        if not dry_run:
            self._audit.record(who, "gc.run", **report.to_json())
        log.info(
            "GC%s: %d blob(s), %d bytes; Xet: %d file(s), %d xorb(s), %d bytes",
            " (dry run)" if dry_run else "",
            report.collected,
            report.bytes,
            report.xet.files,
            report.xet.xorbs,
            report.xet.xorb_bytes,
        )
        return report

    def _forget(
        self, sizes: dict[str, int], shas: Sequence[str], *, cutoff: float, stamp: AuditStamp
    ) -> list[str]:
        return self._store.forget([(sha, sizes[sha]) for sha in shas], cutoff, stamp)

    @staticmethod
    def _count(report: GcReport, sha: str, size: int) -> None:
        report.collected += 1
        report.bytes += size
        if len(report.sample) < 20:
            report.sample.append(sha)
