"""The queries of blob garbage collection: which registered blobs nothing needs any more.

A blob is *needed* while any of these names its sha256: a file of any commit (history included),
a git object of a mirrored repository (the cache of hf-remote files), a package file or its core
metadata (uploaded, or cached from a pypi-remote upstream), a bundle pin, a generic file of a
bundle, a waiver, or a Xet xorb (its bytes). A Xet file's sha256 is a registered blob with no
bytes of its own, collected like any other; the Xet collection (``xet_gc.py``) then drops the
files whose registration is gone and the xorbs no file names any more. Holdings
(``repository_blobs``) and scan results are not needs. ``blobs.created_at`` is refreshed at every registration (a writer that
found the blob already stored registers it again), so a blob being re-used is never older than
the grace period.
"""

from __future__ import annotations

from collections.abc import Sequence

from .audit import AUDIT_INSERT, AuditStamp
from .store import SqlDatabase

UNNEEDED = """
NOT EXISTS (SELECT 1 FROM files f WHERE f.sha256 = b.sha256)
AND NOT EXISTS (SELECT 1 FROM git_objects g WHERE g.sha256 = b.sha256)
AND NOT EXISTS (SELECT 1 FROM pypi_files p WHERE p.sha256 = b.sha256)
AND NOT EXISTS (SELECT 1 FROM pypi_files m WHERE m.metadata_sha256 = b.sha256)
AND NOT EXISTS (SELECT 1 FROM bundle_pins bp WHERE bp.sha256 = b.sha256)
AND NOT EXISTS (SELECT 1 FROM bundle_files bf WHERE bf.sha256 = b.sha256)
AND NOT EXISTS (SELECT 1 FROM waivers w WHERE w.sha256 = b.sha256)
AND NOT EXISTS (SELECT 1 FROM xet_xorbs x WHERE x.blob_sha256 = b.sha256)
"""
# Built from the constant fragments above only (no value is ever formatted into SQL).
_SELECT = "SELECT b.sha256 AS sha256, b.size AS size FROM blobs b WHERE b.created_at < ? AND "
_CANDIDATES = _SELECT + "b.sha256 > ? AND" + UNNEEDED + "ORDER BY b.sha256 LIMIT ?"
_DELETE = "DELETE FROM blobs WHERE sha256 = ? AND created_at < ? AND sha256 IN "
_FORGET = _DELETE + "(SELECT b.sha256 FROM blobs b WHERE b.sha256 = ? AND" + UNNEEDED + ")"  # noqa: S608


class SqlGcStore(SqlDatabase):
    def candidates(self, cutoff: float, after: str, limit: int) -> list[tuple[str, int]]:
        """Unneeded blobs registered before ``cutoff``, by sha256 after ``after`` (paging)."""
        rows = self._query(_CANDIDATES, (cutoff, after, limit))
        return [(str(r["sha256"]), int(r["size"])) for r in rows]

    def forget(
        self, blobs: Sequence[tuple[str, int]], cutoff: float, stamp: AuditStamp | None
    ) -> list[str]:
        """Unregister each (sha256, size) that is still unneeded and was not registered again
        since ``cutoff`` (one statement each: atomic against a concurrent registration), and
        audit each as ``blob.collected`` (unless ``stamp`` is None: a backup's snapshot drops what it
        does not need, which is no collection), all in one transaction; returns the unregistered."""
        forgotten: list[str] = []
        with self._tx() as c:
            for sha, _ in blobs:
                if c.execute(_FORGET, (sha, cutoff, sha)).rowcount == 1:
                    forgotten.append(sha)
            sizes = dict(blobs)
            if not forgotten or stamp is None:
                return forgotten
            c.executemany(
                AUDIT_INSERT,
                [stamp.row("blob.collected", None, sha, {"size": sizes[sha]}) for sha in forgotten],
            )
        return forgotten

    def is_registered(self, sha256: str) -> bool:
        return self._one("SELECT 1 AS one FROM blobs WHERE sha256 = ?", (sha256,)) is not None


__all__ = ["UNNEEDED", "SqlGcStore"]
