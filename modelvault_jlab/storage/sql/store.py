"""The base of the SQL stores: a shared :class:`Database` and short query helpers."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from .database import Database, Row, Tx, open_database
from .migrations import migrate


class SqlDatabase:
    """Base of the SQL stores: the shared :class:`Database` and short query helpers.

    Given a URL or a path, a store opens (and migrates) a database of its own; given a
    :class:`Database`, it shares it (the composition root migrates that one).
    """

    def __init__(self, db: Database | str | Path) -> None:
        if not isinstance(db, Database):
            db = open_database(db)
            migrate(db)
        self._db = db.retain()
        self._now_sql = db.now_sql

    @property
    def database(self) -> Database:
        return self._db

    def _tx(self) -> AbstractContextManager[Tx]:
        return self._db.transaction()

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._db.query(sql, params)

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = self._db.query(sql, params)
        return rows[0] if rows else None

    def _tx_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """One statement in a write transaction, returning its first row (``RETURNING``)."""
        with self._tx() as c:
            # fetchall: the statement must be finished before COMMIT
            rows = c.execute(sql, params).fetchall()
        return rows[0] if rows else None

    def close(self) -> None:
        self._db.release()
