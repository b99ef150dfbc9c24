"""The base of every JSON API handler (the sidebar, magics and CLI call these routes).

Inside Jupyter, the logged-in Jupyter user administers the vault (see ``jupyter/extension.py``);
everywhere, a ModelVault token in ``Authorization: Bearer`` works too.
"""

from __future__ import annotations

from ...errors import InvalidInputError
from ..base import VaultHandler


class ApiHandler(VaultHandler):
    ambient_allowed = True
    anonymous_allowed = False

    def authorize(self) -> None:
        if self.principal.is_anonymous and not self.anonymous_allowed:
            self.vault.access.require(self.principal, "read", None)

    def require_admin(self) -> None:
        self.vault.access.require(self.principal, "admin", None)

    def limit_arg(self, name: str, default: int, maximum: int) -> int:
        """A page size from the query, clamped to ``1..maximum``: the storage never sees a
        client's number (SQLite reads a negative LIMIT as "no limit", a huge one overflows)."""
        return min(max(self.int_arg(name, default), 1), maximum)

    def id_arg(self, name: str) -> int | None:
        """A row id from the query (a paging cursor), None when absent or 0."""
        value = self.int_arg(name, 0)
        if not 0 <= value <= MAX_ROW_ID:
            raise InvalidInputError(f"Query parameter {name!r} must be between 0 and {MAX_ROW_ID}.")
        return value or None


MAX_ROW_ID = 2**63 - 1
"""The largest row id SQL stores (a signed 64-bit integer)."""
