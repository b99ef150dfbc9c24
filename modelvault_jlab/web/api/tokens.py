"""API tokens: issue, list, revoke."""

from __future__ import annotations

from typing import Any

from ...errors import InvalidInputError
from ...storage.records import (
    TokenRecord,
)
from ..base import vault_auth
from .base import ApiHandler


def token_json(record: TokenRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "user": record.created_by,
        "scope": record.scopes[0],
        "repositories": list(record.repositories),
        "created_at": record.created_at,
        "expires_at": record.expires_at,
        "revoked_at": record.revoked_at,
        "parent": record.parent_id,
    }


class TokensHandler(ApiHandler):
    @vault_auth
    def get(self) -> None:
        self.require_admin()
        self.write_json({"tokens": [token_json(t) for t in self.vault.identity.list_tokens()]})

    @vault_auth
    def post(self) -> None:
        body = self.json_body()
        if not isinstance(body, dict):
            raise InvalidInputError("Expected a JSON object.")
        expires = body.get("expires_in_seconds")
        repositories = body.get("repositories") or []
        if not isinstance(repositories, list):
            raise InvalidInputError("'repositories' must be a list of repository keys.")
        fields: dict[str, Any] = {
            "name": str(body.get("name", "")),
            "scope": body.get("scope", "read"),
            "repositories": [str(r) for r in repositories],
            "expires_in_seconds": expires,  # checked by the identity service (finite, bounded)
            # kernel tokens minted by a Jupyter server record their kernel and notebook here
            "description": str(body.get("description", ""))[:2000],
        }
        if self.principal.is_admin:
            issued = self.vault.identity.issue_token(
                created_by=str(body.get("user") or self.principal.name), **fields
            )
        else:
            # Any other token may mint a narrower child of itself (per-kernel tokens).
            if self.principal.is_anonymous:
                self.vault.access.require(self.principal, "read", None)  # 401 with the hint
            issued = self.vault.identity.issue_child_token(self.principal, **fields)
        self.vault.audit.record(
            self.principal,
            "token.create",
            subject=issued.record.id,
            scope=issued.record.scopes[0],
            parent=issued.record.parent_id,
        )
        self.write_json({"token": issued.secret, **token_json(issued.record)}, status=201)


class TokenHandler(ApiHandler):
    @vault_auth
    def delete(self, token_id: str) -> None:
        if self.principal.is_admin:
            self.vault.identity.revoke(token_id)
        else:
            self.vault.identity.revoke_child(self.principal, token_id)
        self.vault.audit.record(self.principal, "token.revoke", subject=token_id)
        self.set_status(204)
        self.finish()
