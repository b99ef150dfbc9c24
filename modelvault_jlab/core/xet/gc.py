"""Garbage collection of Xet storage, a phase of ``modelvault gc`` (:mod:`..gc`).

Reachability (``storage/sql/xet_gc.py``): registered sha256 (what the blob collector kept from
every need: commits of all revisions, mirrored objects, packages, bundle pins and files, waivers,
remote caches through their commits) -> the Xet files of those sha256 -> the xorbs their terms
name -> the xorbs' blobs. The rest, once older than the grace period, goes, in this order:

1. the blob collector unregisters the unneeded sha256 (a Xet file's has no bytes to delete);
2. Xet files whose sha256 is no longer registered: their rows, terms and uploader rows;
3. xorbs no remaining file names: their rows with their chunk rows (the dedup index) and uploader
   rows, one transaction per page; then their blobs, through the same set-aside / re-check /
   delete protocol as every blob (:mod:`..blob_removal`).

**The grace period** is the blob collector's (24 h by default) and applies to each step: an
upload in flight is xorbs first (each an hour or more apart for a large upload on a slow link),
then its shard (the file registered, no commit yet), then the commit; a xorb or file registered,
or a xorb uploaded again (its uploader row refreshed), after the cutoff is kept whatever names it.

**Killed at any point** the store stays consistent: a registered Xet file keeps its file row
(step 2 only takes unregistered ones), a file row keeps its xorb rows (step 3 only takes unnamed
ones), a xorb row keeps its blob (the blob collector never takes a blob a xorb row names); what
was left half-done (an unregistered file row, an unnamed xorb, a blob in the trash) is taken by
the next run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ...storage.sql.xet_gc import DeadXorb, SqlXetGcStore
from ..blob_removal import BlobRemover

_BATCH = 1000


@dataclass
class XetGcReport:
    files: int = 0
    """Xet files dropped (rows; their bytes were only ever their xorbs')."""
    xorbs: int = 0
    xorb_bytes: int = 0
    """Serialized bytes of the dropped xorbs whose blobs were deleted."""

    def to_json(self) -> dict[str, int]:
        return {"xet_files": self.files, "xorbs": self.xorbs, "xorb_bytes": self.xorb_bytes}


ForgetBlobs = Callable[[dict[str, int], Sequence[str]], list[str]]
"""(sizes by sha256, sha256s) -> those unregistered (the blob collector's re-checking forget)."""


class XetCollector:
    def __init__(self, store: SqlXetGcStore, remover: BlobRemover) -> None:
        self._store = store
        self._remover = remover

    def collect(
        self,
        cutoff: float,
        *,
        dry_run: bool,
        forget_blobs: ForgetBlobs,
        between: Callable[[str], None] = lambda sha: None,
    ) -> XetGcReport:
        """Run steps 2 and 3 (see the module) for what was registered before ``cutoff``; a dry
        run counts what a real run would drop, deleting nothing. ``between``: as the blob
        collector's, for the xorbs' blobs."""
        report = XetGcReport()
        after = ""
        while files := self._store.dead_files(cutoff, after, _BATCH, dry_run=dry_run):
            after = files[-1]
            report.files += len(files) if dry_run else len(self._store.forget_files(files, cutoff))
        after = ""
        while xorbs := self._store.dead_xorbs(cutoff, after, _BATCH, dry_run=dry_run):
            after = xorbs[-1].xorb_hash
            if dry_run:
                report.xorbs += len(xorbs)
                report.xorb_bytes += sum(x.serialized_len for x in xorbs)
                continue
            gone = self._store.forget_xorbs(xorbs, cutoff)
            report.xorbs += len(gone)
            report.xorb_bytes += self._remove_blobs(gone, forget_blobs, between)
        return report

    def _remove_blobs(
        self,
        xorbs: Sequence[DeadXorb],
        forget_blobs: ForgetBlobs,
        between: Callable[[str], None],
    ) -> int:
        """Delete the blobs of dropped xorbs (unless something else needs one); their bytes."""
        sizes = {x.blob_sha256: x.serialized_len for x in xorbs}
        if not sizes:
            return 0

        def forget(shas: Sequence[str]) -> list[str]:
            return forget_blobs(sizes, shas)

        removed = self._remover.remove(list(sizes), forget, between)
        return sum(sizes[sha] for sha in removed)


__all__ = ["XetCollector", "XetGcReport"]
