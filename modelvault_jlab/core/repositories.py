"""ModelVault repositories: named endpoints (``models-local``) of a kind (hf-local, …)."""

from __future__ import annotations

import time
from typing import Any

from ..errors import InvalidInputError, RepositoryNotFoundError
from ..ids import validate_repository_key
from ..storage.base import REPOSITORY_KINDS, MetadataStore, RepositoryRecord
from .audit import AuditLog
from .identity import AccessPolicy, Principal


class RepositoryService:
    def __init__(self, meta: MetadataStore, access: AccessPolicy, audit: AuditLog) -> None:
        self._meta = meta
        self._access = access
        self._audit = audit

    def create(
        self,
        who: Principal,
        key: str,
        kind: str,
        *,
        description: str = "",
        public: bool = False,
        config: dict[str, Any] | None = None,
    ) -> RepositoryRecord:
        self._access.require(who, "admin", None)
        validate_repository_key(key)
        if kind not in REPOSITORY_KINDS:
            raise InvalidInputError(
                f"Invalid repository kind {kind!r}: expected one of {REPOSITORY_KINDS}."
            )
        record = self._meta.create_repository(
            RepositoryRecord(
                key=key,
                kind=kind,
                description=description,
                public=public,
                config=config or {},
                created_at=time.time(),
            )
        )
        self._audit.record(who, "repository.create", repository=key, kind=kind, public=public)
        return record

    def get(self, who: Principal, key: str) -> RepositoryRecord:
        """Raises RepositoryNotFoundError, also when the caller may not see it."""
        record = self._meta.get_repository(key)
        if record is None:
            raise RepositoryNotFoundError(f"Repository '{key[:80]}' does not exist.")
        self._access.require(who, "read", key)
        return record

    def list(self, who: Principal) -> list[RepositoryRecord]:
        return [r for r in self._meta.list_repositories() if who.allows("read", r.key) or r.public]

    def delete(self, who: Principal, key: str) -> None:
        self._access.require(who, "admin", None)
        if not self._meta.delete_repository(key):
            raise RepositoryNotFoundError(f"Repository '{key[:80]}' does not exist.")
        self._audit.record(who, "repository.delete", repository=key)

    def ensure(self, key: str, kind: str, description: str = "") -> RepositoryRecord:
        """Create a repository at start-up if it is missing (no audit: nobody asked)."""
        existing = self._meta.get_repository(key)
        if existing is not None:
            return existing
        return self._meta.create_repository(
            RepositoryRecord(key=key, kind=kind, description=description, created_at=time.time())
        )
