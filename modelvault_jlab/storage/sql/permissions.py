"""Permission targets and group memberships in SQL (see :mod:`..permissions`)."""

from __future__ import annotations

from collections.abc import Iterable

from ..permissions import MembershipRecord, PermissionStore, TargetRecord
from .store import SqlDatabase

_BUMP = (
    "INSERT INTO settings (name, value) VALUES ('permissions_revision', '1') "
    "ON CONFLICT (name) DO UPDATE SET value = CAST(CAST(settings.value AS INTEGER) + 1 AS TEXT)"
)


class SqlPermissionStore(SqlDatabase, PermissionStore):
    def revision(self) -> int:
        row = self._one("SELECT value FROM settings WHERE name = 'permissions_revision'")
        return int(row["value"]) if row is not None else 0

    def list_targets(self) -> list[TargetRecord]:
        rows = self._query(
            "SELECT name, spec, updated_by, updated_at FROM permission_targets ORDER BY name"
        )
        return [TargetRecord(r["name"], r["spec"], r["updated_by"], r["updated_at"]) for r in rows]

    def put_target(self, record: TargetRecord) -> None:
        with self._tx() as c:
            c.execute(
                "INSERT INTO permission_targets (name, spec, updated_by, updated_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, "
                "updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                (record.name, record.spec, record.updated_by, record.updated_at),
            )
            c.execute(_BUMP)

    def delete_target(self, name: str) -> bool:
        with self._tx() as c:
            c.execute(_BUMP)
            return c.execute("DELETE FROM permission_targets WHERE name = ?", (name,)).rowcount > 0

    def list_memberships(self) -> list[MembershipRecord]:
        rows = self._query(
            "SELECT group_name, user_name, source FROM permission_members "
            "ORDER BY group_name, user_name"
        )
        return [MembershipRecord(r["group_name"], r["user_name"], r["source"]) for r in rows]

    def _replace(self, where: str, key: str, rows: list[tuple[str, str, str]]) -> None:
        with self._tx() as c:
            c.execute(_BUMP)
            c.execute(f"DELETE FROM permission_members WHERE {where}", (key,))  # noqa: S608
            for row in rows:
                c.execute(
                    "INSERT INTO permission_members (group_name, user_name, source) "
                    "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    row,
                )

    def set_group(self, group: str, users: Iterable[str]) -> None:
        rows = [(group, user, "vault") for user in sorted(set(users))]
        self._replace("group_name = ? AND source = 'vault'", group, rows)

    def delete_group(self, group: str) -> bool:
        with self._tx() as c:
            c.execute(_BUMP)
            return (
                c.execute(
                    "DELETE FROM permission_members WHERE group_name = ? AND source = 'vault'",
                    (group,),
                ).rowcount
                > 0
            )

    def set_hub_groups(self, user: str, groups: Iterable[str]) -> None:
        rows = [(group, user, "hub") for group in sorted(set(groups))]
        self._replace("user_name = ? AND source = 'hub'", user, rows)
