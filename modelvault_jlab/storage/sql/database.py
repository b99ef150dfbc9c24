"""One SQL code base for SQLite and PostgreSQL.

The stores (one module per store in this package) write one dialect: ``?``
placeholders, the SQLite spelling of column types, ``ON CONFLICT``, ``RETURNING`` and recursive
CTEs. A :class:`Database` runs it on its engine, so the differences live here and not in the
queries:

- placeholders: ``?`` becomes ``%s`` for psycopg (and a literal ``%`` becomes ``%%``);
- schema types (see :func:`_pg_schema`): ids and sizes are BIGINT (files above 2 GiB), REAL is
  DOUBLE PRECISION (PostgreSQL's REAL is float4 and would round timestamps to minutes), an
  ``INTEGER PRIMARY KEY`` is an identity column, BLOB is BYTEA;
- constraint violations of either driver surface as :class:`ConstraintError`;
- rows are dicts read by column name on both engines.

Transactions: on SQLite ``BEGIN IMMEDIATE`` serialises writers; on PostgreSQL (READ COMMITTED)
every read-then-write path of the stores is made race-free by its own statement shape (atomic
``UPDATE … WHERE``, ``ON CONFLICT``, or a transaction-scoped advisory lock); each store module
says how. A ``_query`` made inside a ``_tx`` on the same thread uses the transaction's connection.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from ...errors import StorageError

Row = dict[str, Any]


class ConstraintError(Exception):
    """A unique, primary-key or foreign-key constraint refused a write (either engine)."""


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Row | None: ...

    def fetchall(self) -> list[Row]: ...


class Tx(ABC):
    """The statements of one transaction (or of one autocommit read)."""

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor: ...

    @abstractmethod
    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> None: ...

    @abstractmethod
    def advisory_lock(self, key: str) -> None:
        """Serialise this transaction with every other one taking the same ``key`` (released at
        commit or rollback). SQLite's writers are already serialised: nothing to do there."""


class Database(ABC):
    """A connection source shared by the stores of one process (reference-counted)."""

    #: the database's clock as Unix seconds, for expiries judged by one clock across replicas
    now_sql: str
    engine: str

    def __init__(self) -> None:
        self._users = 0
        self._users_lock = threading.Lock()

    @abstractmethod
    def transaction(self) -> AbstractContextManager[Tx]:
        """A write transaction; nested on one thread, the inner one joins the outer."""

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Rows of one read (inside the thread's open transaction, if any)."""

    def retain(self) -> Database:
        with self._users_lock:
            self._users += 1
        return self

    def release(self) -> None:
        with self._users_lock:
            self._users -= 1
            last = self._users <= 0
        if last:
            self._close()

    def close(self) -> None:
        """Close now, whoever holds it (the stores' ``close`` releases instead)."""
        self._close()

    @abstractmethod
    def _close(self) -> None: ...

    @abstractmethod
    def schema(self, sql: str) -> list[str]:
        """The statements of a schema script, in this engine's types."""

    def describe(self) -> str:
        """Where this database is, for logs (never with a password)."""
        return self.engine


# ------------------------------------------------------------------------------------------------
# SQLite
# ------------------------------------------------------------------------------------------------


def _dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> Row:
    return {d[0]: v for d, v in zip(cursor.description, row, strict=True)}


def _split(script: str) -> list[str]:
    # Schema scripts hold no ';' inside literals, so a plain split is exact.
    return [s.strip() for s in script.split(";") if s.strip()]


class _SqliteTx(Tx):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        try:
            return self._conn.execute(sql, params)  # type: ignore[return-value]
        except sqlite3.IntegrityError as e:
            raise ConstraintError(str(e)) from e

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> None:
        try:
            self._conn.executemany(sql, params)
        except sqlite3.IntegrityError as e:
            raise ConstraintError(str(e)) from e

    def advisory_lock(self, key: str) -> None:
        pass


class SqliteDatabase(Database):
    """One connection in WAL mode shared by the stores of a process, guarded by a lock because
    background workers use the stores from threads. Writes run in ``BEGIN IMMEDIATE``
    transactions, so writers (also of other processes) are serialised and a transaction never
    fails half-way on a lock upgrade."""

    engine = "sqlite"
    # julianday keeps milliseconds; unixepoch('subsec') needs SQLite 3.42
    now_sql = "((julianday('now') - 2440587.5) * 86400.0)"

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = str(path)
        if self.path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(
            self.path, timeout=30.0, isolation_level=None, check_same_thread=False
        )
        self._conn.row_factory = _dict_row
        self._lock = threading.RLock()
        self._depth = 0
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            # Overwrite deleted content: an upstream credential sealed at start must not live on
            # in a freed page of the file (tests/test_secrets_at_rest.py).
            self._conn.execute("PRAGMA secure_delete=ON")

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield _SqliteTx(self._conn)
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield _SqliteTx(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")
            finally:
                self._depth = 0

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def schema(self, sql: str) -> list[str]:
        return _split(sql)

    def _close(self) -> None:
        with self._lock:
            self._conn.close()

    def describe(self) -> str:
        return f"sqlite {self.path}"


# ------------------------------------------------------------------------------------------------
# PostgreSQL
# ------------------------------------------------------------------------------------------------

_PG_TYPES = [
    (
        re.compile(r"\bINTEGER PRIMARY KEY(?: AUTOINCREMENT)?"),
        "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    ),
    (re.compile(r"\bINTEGER\b"), "BIGINT"),
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b"), "BYTEA"),
    # byte order, as SQLite's BINARY: folder ranges ('dir/' <= path < 'dir0') and listings rely
    # on '/' sorting before '0', which a linguistic collation ignores
    (re.compile(r"\bTEXT\b"), 'TEXT COLLATE "C"'),
]


def _pg_schema(script: str) -> list[str]:
    for pattern, replacement in _PG_TYPES:
        script = pattern.sub(replacement, script)
    return _split(script)


@functools.lru_cache(maxsize=1024)
def _pg_sql(sql: str) -> str:
    """``?`` placeholders to psycopg's ``%s`` (the stores' SQL has no '?' inside literals)."""
    return sql.replace("%", "%%").replace("?", "%s")


def redact_url(url: str) -> str:
    """The URL without its password, for logs and status output."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class _PgTx(Tx):
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        import psycopg

        try:
            return self._conn.execute(_pg_sql(sql), params)  # type: ignore[no-any-return]
        except psycopg.IntegrityError as e:
            raise ConstraintError(str(e)) from e

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> None:
        import psycopg

        if not params:
            return
        try:
            with self._conn.cursor() as cur:
                cur.executemany(_pg_sql(sql), params)
        except psycopg.IntegrityError as e:
            raise ConstraintError(str(e)) from e

    def advisory_lock(self, key: str) -> None:
        # hashtext gives the 32-bit key; a collision only serialises two unrelated writers
        self._conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (key,))


class PostgresDatabase(Database):
    """A psycopg connection pool shared by the stores of a process. The connection of a
    thread's open transaction is remembered, so reads made inside it see its writes."""

    engine = "postgresql"
    now_sql = "(extract(epoch from clock_timestamp())::double precision)"

    def __init__(self, url: str, *, max_size: int = 10, connect_timeout: float = 30.0) -> None:
        # imported here: psycopg is the optional ``postgres`` extra
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool, PoolTimeout

        super().__init__()
        self.url = url
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max_size,
            kwargs={"autocommit": True, "row_factory": dict_row},
            open=True,
            name="modelvault",
        )
        try:
            self._pool.wait(timeout=connect_timeout)
        except PoolTimeout:
            self._pool.close()
            raise StorageError(
                f"Cannot connect to the database {redact_url(url)} within {connect_timeout:g} s."
            ) from None
        self._local = threading.local()

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        current = getattr(self._local, "conn", None)
        if current is not None:
            yield _PgTx(current)
            return
        with self._pool.connection() as conn, conn.transaction():
            self._local.conn = conn
            try:
                yield _PgTx(conn)
            finally:
                self._local.conn = None

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        current = getattr(self._local, "conn", None)
        if current is not None:
            return _PgTx(current).execute(sql, params).fetchall()
        with self._pool.connection() as conn:
            return _PgTx(conn).execute(sql, params).fetchall()

    def schema(self, sql: str) -> list[str]:
        return _pg_schema(sql)

    def _close(self) -> None:
        self._pool.close()

    def describe(self) -> str:
        return f"postgresql {redact_url(self.url)}"


# ------------------------------------------------------------------------------------------------
# Selection
# ------------------------------------------------------------------------------------------------


def open_database(url: str | Path) -> Database:
    """``postgresql://…`` (or ``postgres://…``); else ``sqlite:///path`` or a plain path."""
    text = str(url)
    if text.startswith(("postgresql://", "postgres://")):
        return PostgresDatabase(text)
    if text.startswith("sqlite:///"):
        # SQLAlchemy's convention: sqlite:///relative.db, sqlite:////absolute.db
        text = text.removeprefix("sqlite:///")
    return SqliteDatabase(text or ":memory:")
