"""Named settings in SQL (single upserts; ``set_setting_if_absent``: first writer wins)."""

from __future__ import annotations

from ..meta import SettingsStore
from .store import SqlDatabase


class SqlSettingsStore(SqlDatabase, SettingsStore):
    def get_setting(self, name: str) -> str | None:
        row = self._one("SELECT value FROM settings WHERE name = ?", (name,))
        return None if row is None else str(row["value"])

    def set_setting_if_absent(self, name: str, value: str) -> str:
        with self._tx() as c:
            c.execute(
                "INSERT INTO settings(name, value) VALUES(?, ?) ON CONFLICT(name) DO NOTHING",
                (name, value),
            )
            row = c.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        assert row is not None
        return str(row["value"])

    def set_setting(self, name: str, value: str) -> None:
        with self._tx() as c:
            c.execute(
                "INSERT INTO settings(name, value) VALUES(?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                (name, value),
            )
