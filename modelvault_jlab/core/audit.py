"""The audit log: who uploaded, downloaded, created and deleted what, when, with which token."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from ..storage.meta import AuditStore
from ..storage.records import AuditEvent, AuditQuery
from .identity import Principal

log = logging.getLogger(__name__)


class AuditLog:
    def __init__(self, meta: AuditStore, clock: Callable[[], float] = time.time) -> None:
        self._meta = meta
        self._clock = clock

    def record(
        self,
        who: Principal,
        action: str,
        *,
        repository: str | None = None,
        subject: str | None = None,
        **detail: Any,
    ) -> None:
        self._meta.append_audit(
            ts=self._clock(),
            actor=who.name,
            token_id=who.token_id,
            action=action,
            repository=repository,
            subject=subject,
            detail=detail,
            remote_addr=who.remote_addr,
        )

    def query(self, query: AuditQuery) -> list[AuditEvent]:
        return self._meta.query_audit(query)
