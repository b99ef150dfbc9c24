"""The audit log, newest first."""

from __future__ import annotations

from typing import Any

from ...storage.records import (
    AuditEvent,
    AuditQuery,
)
from ..base import vault_auth
from .base import ApiHandler


def audit_json(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "ts": event.ts,
        "actor": event.actor,
        "token_id": event.token_id,
        "action": event.action,
        "repository": event.repository,
        "subject": event.subject,
        "detail": event.detail,
        "remote_addr": event.remote_addr,
    }


class AuditHandler(ApiHandler):
    @vault_auth
    def get(self) -> None:
        self.require_admin()
        query = AuditQuery(
            actor=self.get_argument("actor", None),
            action=self.get_argument("action", None),
            repository=self.get_argument("repository", None),
            subject_prefix=self.get_argument("subject", None),
            before_id=self.id_arg("before"),
            limit=self.limit_arg("limit", 100, 1000),
        )
        events = self.vault.audit.query(query)
        self.write_json(
            {
                "events": [audit_json(e) for e in events],
                "next": events[-1].id if len(events) == query.limit and events else None,
            }
        )
