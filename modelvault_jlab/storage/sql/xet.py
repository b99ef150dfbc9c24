"""Xet storage in SQL: xorbs and their chunks, files and their terms, and where each was uploaded.

Writes are race-free on both engines by their shape: a xorb or a file is inserted with
``ON CONFLICT DO NOTHING RETURNING``, so of two uploaders of the same hash exactly one writes the
chunk (term) rows, in the same transaction (the other waits on the unique key, then sees the
rows committed); uploader rows are single ``ON CONFLICT DO NOTHING`` inserts.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from ...errors import StorageError
from ...ids import Sha256
from ..meta import XetStore
from ..records import XetFileRecord, XetTermRecord, XorbChunkRecord, XorbRecord
from .database import Row, Tx
from .store import SqlDatabase


class SqlXetStore(SqlDatabase, XetStore):
    # -- xorbs --
    def put_xorb(
        self, xorb: XorbRecord, chunks: Sequence[XorbChunkRecord], repository: str
    ) -> bool:
        now = time.time()
        with self._tx() as c:
            inserted = bool(
                c.execute(
                    "INSERT INTO xet_xorbs(xorb_hash, blob_sha256, serialized_len, raw_len, "
                    "n_chunks, created_at) VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT(xorb_hash) DO NOTHING RETURNING xorb_hash",
                    (
                        xorb.xorb_hash,
                        xorb.blob_sha256,
                        xorb.serialized_len,
                        xorb.raw_len,
                        xorb.n_chunks,
                        now,
                    ),
                ).fetchall()
            )
            if inserted:
                c.executemany(
                    "INSERT INTO xet_xorb_chunks(xorb_hash, idx, chunk_hash, raw_start, raw_len, "
                    "ser_start, ser_end) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            xorb.xorb_hash,
                            ch.index,
                            ch.chunk_hash,
                            ch.raw_start,
                            ch.raw_len,
                            ch.ser_start,
                            ch.ser_end,
                        )
                        for ch in chunks
                    ],
                )
            c.execute(
                "INSERT INTO xet_xorb_repositories(xorb_hash, repository, created_at) "
                # refreshed by every upload: garbage collection keeps a xorb uploaded lately
                "VALUES (?, ?, ?) ON CONFLICT(xorb_hash, repository) "
                "DO UPDATE SET created_at = excluded.created_at",
                (xorb.xorb_hash, repository, now),
            )
        return inserted

    def get_xorb(self, xorb_hash: str) -> XorbRecord | None:
        row = self._one("SELECT * FROM xet_xorbs WHERE xorb_hash = ?", (xorb_hash,))
        if row is None:
            return None
        return XorbRecord(
            row["xorb_hash"],
            Sha256(row["blob_sha256"]),
            int(row["serialized_len"]),
            int(row["raw_len"]),
            int(row["n_chunks"]),
        )

    def xorb_uploaded_to(self, xorb_hash: str, repository: str) -> bool:
        row = self._one(
            "SELECT 1 AS one FROM xet_xorb_repositories WHERE xorb_hash = ? AND repository = ?",
            (xorb_hash, repository),
        )
        return row is not None

    def xorb_chunks(
        self, xorb_hash: str, start: int = 0, end: int | None = None
    ) -> list[XorbChunkRecord]:
        sql = "SELECT * FROM xet_xorb_chunks WHERE xorb_hash = ? AND idx >= ?"
        params: tuple[object, ...] = (xorb_hash, start)
        if end is not None:
            sql += " AND idx < ?"
            params = (*params, end)
        return [_chunk(r) for r in self._query(sql + " ORDER BY idx", params)]

    def dedup_chunk(self, chunk_hash: str, repositories: Sequence[str]) -> tuple[str, int] | None:
        if not repositories:
            return None
        marks = ",".join("?" * len(repositories))
        row = self._one(
            "SELECT c.xorb_hash AS xorb_hash, c.idx AS idx FROM xet_xorb_chunks c "  # noqa: S608
            "JOIN xet_xorb_repositories r ON r.xorb_hash = c.xorb_hash "
            f"WHERE c.chunk_hash = ? AND r.repository IN ({marks}) "
            "ORDER BY c.xorb_hash, c.idx LIMIT 1",
            (chunk_hash, *repositories),
        )
        return None if row is None else (str(row["xorb_hash"]), int(row["idx"]))

    def sibling_xorbs(self, xorb_hash: str, repository: str, limit: int) -> list[str]:
        rows = self._query(
            "SELECT t2.xorb_hash AS xorb_hash FROM xet_file_terms t1 "
            "JOIN xet_file_repositories f ON f.file_hash = t1.file_hash AND f.repository = ? "
            "JOIN xet_file_terms t2 ON t2.file_hash = t1.file_hash "
            "JOIN xet_xorb_repositories r ON r.xorb_hash = t2.xorb_hash AND r.repository = ? "
            "WHERE t1.xorb_hash = ? AND t2.xorb_hash <> ? "
            "GROUP BY t2.xorb_hash ORDER BY MIN(t2.idx), t2.xorb_hash LIMIT ?",
            (repository, repository, xorb_hash, xorb_hash, limit),
        )
        return [str(r["xorb_hash"]) for r in rows]

    # -- files --
    def put_xet_file(self, record: XetFileRecord, repository: str) -> None:
        now = time.time()
        with self._tx() as c:
            inserted = c.execute(
                "INSERT INTO xet_files(file_hash, sha256, size, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(file_hash) DO NOTHING RETURNING file_hash",
                (record.file_hash, record.sha256, record.size, now),
            ).fetchall()
            if not inserted:  # registered again: fresh for garbage collection (``xet_gc.py``)
                c.execute(
                    "UPDATE xet_files SET created_at = ? WHERE file_hash = ?",
                    (now, record.file_hash),
                )
            _keep_xorbs(c, {t.xorb_hash for t in record.terms}, repository, now)
            if inserted:
                c.executemany(
                    "INSERT INTO xet_file_terms(file_hash, idx, xorb_hash, chunk_start, "
                    "chunk_end, unpacked) VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (record.file_hash, i, t.xorb_hash, t.start, t.end, t.unpacked)
                        for i, t in enumerate(record.terms)
                    ],
                )
            c.execute(
                "INSERT INTO xet_file_repositories(file_hash, repository, sha256, created_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(file_hash, repository) DO NOTHING",
                (record.file_hash, repository, record.sha256, now),
            )

    def _xet_file_row(self, row: Row | None) -> XetFileRecord | None:
        if row is None:
            return None
        terms = self._query(
            "SELECT * FROM xet_file_terms WHERE file_hash = ? ORDER BY idx", (row["file_hash"],)
        )
        return XetFileRecord(
            row["file_hash"],
            Sha256(row["sha256"]),
            int(row["size"]),
            tuple(
                XetTermRecord(
                    t["xorb_hash"], int(t["chunk_start"]), int(t["chunk_end"]), int(t["unpacked"])
                )
                for t in terms
            ),
        )

    def xet_file(self, file_hash: str) -> XetFileRecord | None:
        return self._xet_file_row(
            self._one("SELECT * FROM xet_files WHERE file_hash = ?", (file_hash,))
        )

    def xet_file_for_sha256(self, sha256: Sha256) -> XetFileRecord | None:
        return self._xet_file_row(
            self._one(
                "SELECT * FROM xet_files WHERE sha256 = ? ORDER BY created_at, file_hash LIMIT 1",
                (sha256,),
            )
        )

    def xet_file_uploaded_to(self, sha256: Sha256, repository: str) -> bool:
        row = self._one(
            "SELECT 1 AS one FROM xet_file_repositories WHERE sha256 = ? AND repository = ? "
            "LIMIT 1",
            (sha256, repository),
        )
        return row is not None


def _keep_xorbs(c: Tx, xorbs: set[str], repository: str, now: float) -> None:
    """In a file's registering transaction: its xorbs are all still stored, and their uploader
    rows are refreshed, so garbage collection, which re-checks both in the statement that deletes
    a xorb, cannot take one a file has just come to name (a dedup answer may name a xorb no file
    used any more: its client uploaded no copy).

    Raises:
        StorageError: a xorb was collected since the shard was checked (the upload fails
            cleanly; its client uploads again).
    """
    names = sorted(xorbs)
    for start in range(0, len(names), 500):
        page = names[start : start + 500]
        marks = ",".join("?" * len(page))
        found = c.execute(
            f"SELECT COUNT(*) AS n FROM xet_xorbs WHERE xorb_hash IN ({marks})",  # noqa: S608
            page,
        ).fetchall()
        if int(found[0]["n"]) != len(page):
            raise StorageError(
                "A xorb this shard names was garbage-collected meanwhile: upload the file again."
            )
        c.execute(
            f"UPDATE xet_xorb_repositories SET created_at = ? "  # noqa: S608
            f"WHERE repository = ? AND xorb_hash IN ({marks})",
            (now, repository, *page),
        )


def _chunk(row: Row) -> XorbChunkRecord:
    return XorbChunkRecord(
        int(row["idx"]),
        row["chunk_hash"],
        int(row["raw_start"]),
        int(row["raw_len"]),
        int(row["ser_start"]),
        int(row["ser_end"]),
    )
