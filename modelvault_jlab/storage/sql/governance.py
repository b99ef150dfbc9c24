"""Scan verdicts (single upserts) and waivers (inserts ``RETURNING`` the id, guarded
``UPDATE … WHERE`` revocation) in SQL."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ...ids import Sha256
from ..meta import GovernanceStore
from ..records import (
    ScanRecord,
    WaiverRecord,
)
from .database import Row
from .store import SqlDatabase


class SqlGovernanceStore(SqlDatabase, GovernanceStore):
    @staticmethod
    def _scan(row: Row) -> ScanRecord:
        return ScanRecord(
            Sha256(row["sha256"]),
            row["scanner_version"],
            row["verdict"],
            json.loads(row["report"]),
            row["scanned_at"],
        )

    def get_scan(self, sha256: Sha256) -> ScanRecord | None:
        row = self._one("SELECT * FROM scan_results WHERE sha256 = ?", (sha256,))
        return None if row is None else self._scan(row)

    def put_scan(self, record: ScanRecord) -> None:
        with self._tx() as c:
            c.execute(
                "INSERT INTO scan_results(sha256, scanner_version, verdict, report, scanned_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(sha256) DO UPDATE SET "
                "scanner_version = excluded.scanner_version, verdict = excluded.verdict, "
                "report = excluded.report, scanned_at = excluded.scanned_at",
                (
                    record.sha256,
                    record.scanner_version,
                    record.verdict,
                    json.dumps(record.report),
                    record.scanned_at,
                ),
            )

    def list_scans(self, verdicts: Sequence[str], limit: int) -> list[ScanRecord]:
        marks = ",".join("?" * len(verdicts)) or "NULL"
        rows = self._query(
            f"SELECT * FROM scan_results WHERE verdict IN ({marks}) "  # noqa: S608
            "ORDER BY scanned_at DESC LIMIT ?",
            (*verdicts, limit),
        )
        return [self._scan(r) for r in rows]

    def stale_scans(self, scanner_version: str, limit: int) -> list[Sha256]:
        rows = self._query(
            "SELECT sha256 FROM scan_results WHERE scanner_version != ? LIMIT ?",
            (scanner_version, limit),
        )
        return [Sha256(r["sha256"]) for r in rows]

    @staticmethod
    def _waiver(row: Row) -> WaiverRecord:
        return WaiverRecord(
            id=row["id"],
            policy=row["policy"],
            repository=row["repository"],
            repo_type=row["repo_type"],
            repo_id=row["repo_id"],
            commit=row["commit_sha"],
            sha256=row["sha256"],
            justification=row["justification"],
            created_by=row["created_by"],
            created_at=row["created_at"],
            expires_at=row["expires_at"],
            revoked_at=row["revoked_at"],
        )

    def create_waiver(self, record: WaiverRecord) -> WaiverRecord:
        row = self._tx_one(
            "INSERT INTO waivers(policy, repository, repo_type, repo_id, commit_sha, sha256, "
            "justification, created_by, created_at, expires_at) VALUES (?,?,?,?,?,?,?,?,?,?) "
            "RETURNING *",
            (
                record.policy,
                record.repository,
                record.repo_type,
                record.repo_id,
                record.commit,
                record.sha256,
                record.justification,
                record.created_by,
                record.created_at,
                record.expires_at,
            ),
        )
        assert row is not None
        return self._waiver(row)

    def list_waivers(self, include_inactive: bool, now: float) -> list[WaiverRecord]:
        sql = "SELECT * FROM waivers"
        params: tuple[Any, ...] = ()
        if not include_inactive:
            sql += " WHERE revoked_at IS NULL AND expires_at > ?"
            params = (now,)
        return [self._waiver(r) for r in self._query(sql + " ORDER BY id DESC", params)]

    def revoke_waiver(self, waiver_id: int, when: float) -> bool:
        with self._tx() as c:
            return (
                c.execute(
                    "UPDATE waivers SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                    (when, waiver_id),
                ).rowcount
                > 0
            )
