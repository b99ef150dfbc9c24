"""The audit log in SQL (inserts ``RETURNING`` the id)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..meta import AuditStore
from ..records import (
    AuditEvent,
    AuditQuery,
)
from .store import SqlDatabase

AUDIT_INSERT = (
    "INSERT INTO audit_events(ts, actor, token_id, action, repository, subject, detail, "
    "remote_addr) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
"""One audit event; stores that audit many rows in their own transaction (blob removal) use it
with ``executemany`` and :meth:`AuditStamp.row`."""


@dataclass(frozen=True)
class AuditStamp:
    """Who acts and when, for audit rows written in a store's own transaction."""

    ts: float
    actor: str
    token_id: str | None = None
    remote_addr: str | None = None

    def row(
        self, action: str, repository: str | None, subject: str | None, detail: dict[str, Any]
    ) -> tuple[Any, ...]:
        """The parameters of :data:`AUDIT_INSERT`."""
        return (
            self.ts,
            self.actor,
            self.token_id,
            action,
            repository,
            subject,
            json.dumps(detail),
            self.remote_addr,
        )


class SqlAuditStore(SqlDatabase, AuditStore):
    def append_audit(
        self,
        *,
        ts: float,
        actor: str,
        token_id: str | None,
        action: str,
        repository: str | None,
        subject: str | None,
        detail: dict[str, Any],
        remote_addr: str | None,
    ) -> int:
        row = self._tx_one(
            AUDIT_INSERT + " RETURNING id",
            (ts, actor, token_id, action, repository, subject, json.dumps(detail), remote_addr),
        )
        assert row is not None
        return int(row["id"])

    def query_audit(self, query: AuditQuery) -> list[AuditEvent]:
        sql = "SELECT * FROM audit_events WHERE 1 = 1"
        params: list[Any] = []
        for column, value in (
            ("actor", query.actor),
            ("action", query.action),
            ("repository", query.repository),
        ):
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(value)
        if query.subject_prefix is not None:
            sql += " AND subject >= ? AND subject < ?"
            params += [query.subject_prefix, query.subject_prefix + "\U0010ffff"]
        if query.before_id is not None:
            sql += " AND id < ?"
            params.append(query.before_id)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(query.limit)
        return [
            AuditEvent(
                id=r["id"],
                ts=r["ts"],
                actor=r["actor"],
                token_id=r["token_id"],
                action=r["action"],
                repository=r["repository"],
                subject=r["subject"],
                detail=json.loads(r["detail"]),
                remote_addr=r["remote_addr"],
            )
            for r in self._query(sql, params)
        ]
