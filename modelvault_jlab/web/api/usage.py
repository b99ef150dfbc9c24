"""``GET modelvault/api/usage``: bytes stored per repository (admins)."""

from __future__ import annotations

from ..base import vault_auth
from .base import ApiHandler


class UsageHandler(ApiHandler):
    @vault_auth
    def get(self) -> None:
        self.write_json(self.vault.usage.report(self.principal))
