"""``GET info``: the server's version and what the caller may do."""

from __future__ import annotations

from ..base import vault_auth
from .base import ApiHandler


class InfoHandler(ApiHandler):
    """Server name and version, for discovery and the frontend's version handshake."""

    anonymous_allowed = True

    @vault_auth
    def get(self) -> None:
        p = self.principal
        self.write_json(
            {
                "name": "ModelVault",
                "version": self.context.version,
                "user": None
                if p.is_anonymous
                else {"name": p.name, "admin": p.is_admin, "scope": p.scope},
            }
        )
