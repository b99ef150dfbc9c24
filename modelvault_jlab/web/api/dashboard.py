"""``GET dashboard?days=N``: the vault dashboard's aggregates (core/dashboard.py), restricted to
the repositories the caller may read."""

from __future__ import annotations

from ..base import vault_auth
from .base import ApiHandler


class DashboardHandler(ApiHandler):
    """Anonymous callers are refused by ``ApiHandler.authorize``; ``days`` is clamped in core."""

    @vault_auth
    async def get(self) -> None:
        summary = await self.vault.dashboard.summary(self.principal, self.int_arg("days", 30))
        self.write_json(summary.to_json())
