"""The Xet remote cache in SQL: which chunk ranges of an upstream's xorbs an hf-remote repository
holds as chunks of local xorbs (``core/xet/remote.py``). Rows are only inserted (``ON CONFLICT DO
NOTHING``: two replicas caching the same range write the same row); a local xorb's deletion
removes its segments (``ON DELETE CASCADE``)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from ..meta import XetUpstreamStore
from ..records import UpstreamSegmentRecord
from .store import SqlDatabase


class SqlXetUpstreamStore(SqlDatabase, XetUpstreamStore):
    def put_upstream_segments(
        self, repository: str, segments: Sequence[UpstreamSegmentRecord]
    ) -> None:
        now = time.time()
        with self._tx() as c:
            c.executemany(
                "INSERT INTO xet_upstream_segments(repository, upstream_xorb, chunk_start, "
                "chunk_end, xorb_hash, local_start, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(repository, upstream_xorb, chunk_start, chunk_end) DO NOTHING",
                [
                    (repository, s.upstream_xorb, s.start, s.end, s.xorb_hash, s.local_start, now)
                    for s in segments
                ],
            )

    def upstream_segments(
        self, repository: str, upstream_xorb: str, start: int, end: int, limit: int
    ) -> list[UpstreamSegmentRecord]:
        rows = self._query(
            "SELECT * FROM xet_upstream_segments WHERE repository = ? AND upstream_xorb = ? "
            "AND chunk_start < ? AND chunk_end > ? ORDER BY chunk_start, chunk_end DESC LIMIT ?",
            (repository, upstream_xorb, end, start, limit),
        )
        return [
            UpstreamSegmentRecord(
                r["upstream_xorb"],
                int(r["chunk_start"]),
                int(r["chunk_end"]),
                r["xorb_hash"],
                int(r["local_start"]),
            )
            for r in rows
        ]
