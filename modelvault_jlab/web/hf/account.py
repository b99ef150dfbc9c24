"""``whoami-v2``: who the token is, as huggingface_hub reads it."""

from __future__ import annotations

from ...errors import (
    AuthenticationError,
)
from ..base import vault_auth
from .base import HfHandler


# ------------------------------------------------------------------------------------------------
# Account and odds and ends
# ------------------------------------------------------------------------------------------------
class WhoAmIHandler(HfHandler):
    @vault_auth
    def get(self, repository: str) -> None:
        p = self.principal
        if p.is_anonymous:
            raise AuthenticationError("Not authenticated: set HF_TOKEN to a ModelVault token.")
        self.write_json(
            {
                "type": "user",
                "id": p.token_id or p.name,
                "name": p.name,
                "fullname": p.name,
                "orgs": [],
                "auth": {
                    "type": "access_token",
                    "accessToken": {"displayName": p.token_id or p.name, "role": p.scope},
                },
            }
        )
