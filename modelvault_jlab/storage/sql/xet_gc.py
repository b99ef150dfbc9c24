"""The queries of Xet garbage collection: which Xet files and xorbs nothing reaches any more.

Reachability runs from the blob registry, not from who uploaded what (a xorb cached from a Xet
upstream is collected exactly like an uploaded one):

- a **Xet file** (``xet_files``: a *virtual* blob, its bytes are terms over xorbs) is kept while
  its sha256 is a registered blob (the blob collector, ``gc.py``, and cache eviction decide about
  registrations from every need: commits, mirrored objects, packages, bundles, waivers), or it
  was registered after the cutoff (a shard uploaded for a commit not made yet);
- a **xorb** (``xet_xorbs``, its bytes an ordinary blob) is kept while a term of a kept Xet file
  names it, or it (or its blob) was uploaded after the cutoff (a xorb waiting for its shard).

Deleting a xorb's row deletes its chunk rows and uploader rows in the same transaction, so the
global-dedup index (``dedup_chunk``) never answers a xorb that is gone; its blob is left to the
blob collector (nothing names it any more). Each delete re-checks its condition in the statement
(atomic against a concurrent registration on SQLite, whose writers are serialised).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .gc import UNNEEDED
from .store import SqlDatabase

# A Xet file ``f`` kept by the registry: its blob is registered (strict, a real run: the blob
# collector ran first), or registered and either fresh or needed (a dry run, which unregistered
# nothing: what a real run would keep). ``?``: the cutoff.
_FILE_KEPT = "(f.created_at >= ? OR EXISTS (SELECT 1 FROM blobs b WHERE b.sha256 = f.sha256))"
_FILE_KEPT_DRY = (
    "(f.created_at >= ? OR EXISTS (SELECT 1 FROM blobs b WHERE b.sha256 = f.sha256 "  # noqa: S608
    "AND (b.created_at >= ? OR NOT (" + UNNEEDED + "))))"
)
# A xorb ``x`` uploaded (its row, an uploader row, its blob registration) after the cutoff.
_XORB_FRESH = (
    "(x.created_at >= ? "
    "OR EXISTS (SELECT 1 FROM xet_xorb_repositories r WHERE r.xorb_hash = x.xorb_hash "
    "AND r.created_at >= ?) "
    "OR EXISTS (SELECT 1 FROM blobs xb WHERE xb.sha256 = x.blob_sha256 AND xb.created_at >= ?))"
)
_XORB_NAMED = (
    "EXISTS (SELECT 1 FROM xet_file_terms t JOIN xet_files f ON f.file_hash = t.file_hash "
    "WHERE t.xorb_hash = x.xorb_hash AND {kept})"
)
# Built from the constant fragments above only (no value is ever formatted into SQL).
_DEAD_FILES = (
    "SELECT f.file_hash AS file_hash FROM xet_files f WHERE f.file_hash > ? AND NOT {kept} "
    "ORDER BY f.file_hash LIMIT ?"
)
_DEAD_XORBS = (
    "SELECT x.xorb_hash AS xorb_hash, x.blob_sha256 AS blob_sha256, "  # noqa: S608
    "x.serialized_len AS serialized_len FROM xet_xorbs x WHERE x.xorb_hash > ? AND NOT "
    + _XORB_FRESH
    + " AND NOT {named} ORDER BY x.xorb_hash LIMIT ?"
)
_FORGET_FILE = (
    "DELETE FROM xet_files WHERE file_hash = ? AND file_hash IN "  # noqa: S608
    "(SELECT f.file_hash FROM xet_files f WHERE f.file_hash = ? AND NOT " + _FILE_KEPT + ")"
)
_FORGET_XORB = (
    "DELETE FROM xet_xorbs WHERE xorb_hash = ? AND xorb_hash IN "  # noqa: S608
    "(SELECT x.xorb_hash FROM xet_xorbs x WHERE x.xorb_hash = ? AND NOT "
    + _XORB_FRESH
    + " AND NOT "
    + _XORB_NAMED.format(kept="1 = 1")
    + ")"
)


@dataclass(frozen=True)
class DeadXorb:
    xorb_hash: str
    blob_sha256: str
    serialized_len: int


class SqlXetGcStore(SqlDatabase):
    def dead_files(self, cutoff: float, after: str, limit: int, *, dry_run: bool) -> list[str]:
        """Xet files (by file hash, after ``after``: paging) no kept registration reaches."""
        params: tuple[object, ...]
        if dry_run:
            sql, params = _DEAD_FILES.format(kept=_FILE_KEPT_DRY), (after, cutoff, cutoff, limit)
        else:
            sql, params = _DEAD_FILES.format(kept=_FILE_KEPT), (after, cutoff, limit)
        return [str(r["file_hash"]) for r in self._query(sql, params)]

    def forget_files(self, file_hashes: Sequence[str], cutoff: float) -> list[str]:
        """Delete each Xet file still unreached (with its terms and uploader rows), in one
        transaction; returns the deleted."""
        gone: list[str] = []
        with self._tx() as c:
            for fh in file_hashes:
                if c.execute(_FORGET_FILE, (fh, fh, cutoff)).rowcount == 1:
                    gone.append(fh)
            for table in ("xet_file_terms", "xet_file_repositories"):  # FK cascade or not
                c.executemany(f"DELETE FROM {table} WHERE file_hash = ?", [(fh,) for fh in gone])  # noqa: S608
        return gone

    def dead_xorbs(self, cutoff: float, after: str, limit: int, *, dry_run: bool) -> list[DeadXorb]:
        """Xorbs (after ``after``: paging) no kept Xet file names and not uploaded lately."""
        if dry_run:
            named = _XORB_NAMED.format(kept=_FILE_KEPT_DRY)
            params: tuple[object, ...] = (after, cutoff, cutoff, cutoff, cutoff, cutoff, limit)
        else:
            named = _XORB_NAMED.format(kept="1 = 1")  # the unreached files are deleted already
            params = (after, cutoff, cutoff, cutoff, limit)
        rows = self._query(_DEAD_XORBS.format(named=named), params)
        return [
            DeadXorb(str(r["xorb_hash"]), str(r["blob_sha256"]), int(r["serialized_len"]))
            for r in rows
        ]

    def forget_xorbs(self, xorbs: Sequence[DeadXorb], cutoff: float) -> list[DeadXorb]:
        """Delete each xorb still unnamed and not uploaded since ``cutoff``, with its chunk rows
        (the dedup index) and uploader rows, in one transaction; returns the deleted."""
        gone: list[DeadXorb] = []
        with self._tx() as c:
            for x in xorbs:
                params = (x.xorb_hash, x.xorb_hash, cutoff, cutoff, cutoff)
                if c.execute(_FORGET_XORB, params).rowcount == 1:
                    gone.append(x)
            for table in ("xet_xorb_chunks", "xet_xorb_repositories", "xet_upstream_segments"):
                c.executemany(
                    f"DELETE FROM {table} WHERE xorb_hash = ?",  # noqa: S608
                    [(x.xorb_hash,) for x in gone],
                )
        return gone


__all__ = ["DeadXorb", "SqlXetGcStore"]
