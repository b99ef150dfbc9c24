"""A consistent copy of a SQLite metadata database while servers write to it, and what it needs.

SQLite's online backup API (``sqlite3.Connection.backup``) copies the database page by page and
restarts if another connection writes meanwhile; in WAL mode (ours) a reader sees one committed
state, so the copy is exactly the database as of one transaction. PostgreSQL has ``pg_dump`` for
that (see docs/deployment.md, "Backup and restore").
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .database import SqliteDatabase
from .gc import SqlGcStore


def snapshot_sqlite(source: str | Path, target: Path) -> None:
    """Copy the live database at ``source`` into the new file ``target`` (one consistent state).

    Raises:
        sqlite3.Error: the source cannot be read.
    """
    # Read-only URI: a backup never creates or changes the live database.
    src = sqlite3.connect(f"file:{Path(source).resolve()}?mode=ro", uri=True, timeout=30.0)
    try:
        dst = sqlite3.connect(target)
        try:
            # One step (pages=-1): the whole copy under one read transaction, so writers that
            # commit meanwhile (WAL) neither restart nor tear it.
            src.backup(dst, pages=-1)
        finally:
            dst.close()
    finally:
        src.close()


class SnapshotBlobs:
    """The blobs a metadata snapshot registers, and unregistering those it does not need."""

    def __init__(self, path: Path) -> None:
        self._db = SqliteDatabase(path)
        self._gc = SqlGcStore(self._db)

    def registered(self) -> list[tuple[str, int]]:
        """Every registered blob with bytes of its own as (sha256, size), by sha256: a Xet
        file's sha256 is registered too, but its bytes are its xorbs' (registered blobs, with
        the Xet tables in the snapshot), so it has nothing to copy."""
        xet = self._db.query(  # a backup taken before Xet (schema 8) has no such table
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'xet_files'"
        )
        virtual = "NOT EXISTS (SELECT 1 FROM xet_files xf WHERE xf.sha256 = b.sha256)"
        rows = self._db.query(
            f"SELECT sha256, size FROM blobs b WHERE {virtual if xet else '1 = 1'} "  # noqa: S608
            "ORDER BY sha256"
        )
        return [(str(r["sha256"]), int(r["size"])) for r in rows]

    def forget_unneeded(self, sha256: str) -> bool:
        """Unregister ``sha256`` if nothing in the snapshot needs it; False if something does."""
        return bool(self._gc.forget([(sha256, 0)], float("inf"), None))

    def schema_version(self) -> int:
        rows = self._db.query("SELECT MAX(version) AS v FROM schema_migrations")
        return int(rows[0]["v"] or 0) if rows else 0

    def close(self) -> None:
        self._gc.close()  # the last user: checkpoints the WAL into the file and closes


__all__ = ["SnapshotBlobs", "snapshot_sqlite"]
