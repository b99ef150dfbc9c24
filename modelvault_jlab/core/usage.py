"""Storage use per repository (admins: what the vault's disk or bucket holds, and for whom)."""

from __future__ import annotations

from typing import Any

from ..storage.meta import MetadataStore
from ..storage.sql.usage import SqlUsageStore
from .identity import AccessPolicy, Principal


class UsageService:
    def __init__(self, store: SqlUsageStore, meta: MetadataStore, access: AccessPolicy) -> None:
        self._store = store
        self._meta = meta
        self._access = access

    def report(self, who: Principal) -> dict[str, Any]:
        """Every repository (those using nothing too) with the bytes and blobs it uses, and the
        store's totals (a blob shared by repositories counts once there).

        Raises:
            AuthenticationError, PermissionDeniedError: not an admin.
        """
        self._access.require(who, "admin", None)
        used = {u.repository: u for u in self._store.by_repository()}
        totals = self._store.totals()
        repositories = []
        for record in self._meta.list_repositories():
            u = used.get(record.key)
            repositories.append(
                {
                    "key": record.key,
                    "kind": record.kind,
                    "bytes": u.bytes if u else 0,
                    "blobs": u.blobs if u else 0,
                }
            )
        return {
            "repositories": repositories,
            "stored": {"blobs": totals.blobs, "bytes": totals.bytes},
        }
