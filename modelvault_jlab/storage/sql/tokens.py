"""API tokens in SQL (inserts, guarded ``UPDATE … WHERE`` revocation)."""

from __future__ import annotations

import json

from ..meta import TokenStore
from ..records import (
    TokenRecord,
)
from .database import Row
from .store import SqlDatabase


class SqlTokenStore(SqlDatabase, TokenStore):
    @staticmethod
    def _token(row: Row) -> TokenRecord:
        return TokenRecord(
            id=row["id"],
            name=row["name"],
            secret_hash=row["secret_hash"],
            scopes=tuple(json.loads(row["scopes"])),
            repositories=tuple(json.loads(row["repositories"])),
            created_by=row["created_by"],
            created_at=row["created_at"],
            expires_at=row["expires_at"],
            revoked_at=row["revoked_at"],
            description=row["description"],
            parent_id=row["parent_id"],
        )

    def create_token(self, record: TokenRecord) -> None:
        with self._tx() as c:
            c.execute(
                "INSERT INTO tokens(id, name, secret_hash, scopes, repositories, created_by, "
                "created_at, expires_at, revoked_at, description, parent_id) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    record.id,
                    record.name,
                    record.secret_hash,
                    json.dumps(list(record.scopes)),
                    json.dumps(list(record.repositories)),
                    record.created_by,
                    record.created_at,
                    record.expires_at,
                    record.revoked_at,
                    record.description,
                    record.parent_id,
                ),
            )

    def get_token(self, token_id: str) -> TokenRecord | None:
        row = self._one("SELECT * FROM tokens WHERE id = ?", (token_id,))
        return None if row is None else self._token(row)

    def list_tokens(self) -> list[TokenRecord]:
        return [self._token(r) for r in self._query("SELECT * FROM tokens ORDER BY created_at")]

    def revoke_token(self, token_id: str, when: float) -> bool:
        with self._tx() as c:
            return (
                c.execute(
                    # children go with their parent (one level: a child cannot mint)
                    "UPDATE tokens SET revoked_at = ? "
                    "WHERE (id = ? OR parent_id = ?) AND revoked_at IS NULL",
                    (when, token_id, token_id),
                ).rowcount
                > 0
            )
