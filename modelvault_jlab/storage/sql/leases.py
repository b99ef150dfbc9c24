"""Leases in SQL, timed by the database's clock (single upserts)."""

from __future__ import annotations

from ..meta import LeaseStore
from .store import SqlDatabase


class SqlLeaseStore(SqlDatabase, LeaseStore):
    def acquire_lease(self, name: str, holder: str, ttl_seconds: float) -> bool:
        # One statement, so the check (free, expired or ours) and the take cannot interleave
        # with another replica's: the upsert's WHERE leaves a live foreign lease untouched.
        now = self._now_sql
        row = self._tx_one(
            f"INSERT INTO leases(name, holder, expires_at) VALUES (?, ?, {now} + ?) "  # noqa: S608
            "ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, "
            "expires_at = excluded.expires_at "
            f"WHERE leases.expires_at <= {now} OR leases.holder = excluded.holder "
            "RETURNING holder",
            (name, holder, ttl_seconds),
        )
        return row is not None

    def renew_lease(self, name: str, holder: str, ttl_seconds: float) -> bool:
        now = self._now_sql
        with self._tx() as c:
            return (
                c.execute(
                    f"UPDATE leases SET expires_at = {now} + ? "  # noqa: S608
                    f"WHERE name = ? AND holder = ? AND expires_at > {now}",
                    (ttl_seconds, name, holder),
                ).rowcount
                > 0
            )

    def release_lease(self, name: str, holder: str) -> None:
        with self._tx() as c:
            c.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))
