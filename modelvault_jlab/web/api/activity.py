"""``GET activity``: long operations in progress (cold transfers, bundle exports), for the
sidebar's live view. Thin: the registry is ``core/activity.py``."""

from __future__ import annotations

from ..base import vault_auth
from .base import ApiHandler


class ActivityHandler(ApiHandler):
    """What the caller may see: transfers on repositories they may read; exports if they may read
    bundles. Recently failed operations stay listed a while, with the server's message."""

    @vault_auth
    def get(self) -> None:
        ops = self.vault.activity.list(self.principal)
        self.write_json({"operations": [op.to_json(target) for op, target in ops]})
