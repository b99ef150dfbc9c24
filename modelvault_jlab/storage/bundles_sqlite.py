"""SQLite :class:`BundleStore`: own tables (``bundle_*``) in the vault's ``metadata.sqlite3``."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from ..errors import ConflictError, WriteConflictError
from .bundles import BundleRecord, BundleStore, GenericFileRecord, PromotionRecord
from .sqlite import SqliteDatabase

_SCHEMA = """
CREATE TABLE IF NOT EXISTS bundles (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    digest TEXT NOT NULL,
    manifest BLOB NOT NULL,
    signature TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at REAL NOT NULL,
    origin TEXT NOT NULL,
    UNIQUE (name, version)
);
CREATE TABLE IF NOT EXISTS bundle_pins (
    bundle_id INTEGER NOT NULL REFERENCES bundles(id),
    sha256 TEXT NOT NULL,
    PRIMARY KEY (bundle_id, sha256)
);
CREATE INDEX IF NOT EXISTS bundle_pins_by_sha ON bundle_pins (sha256);
CREATE TABLE IF NOT EXISTS bundle_promotions (
    bundle_id INTEGER NOT NULL REFERENCES bundles(id),
    seq INTEGER NOT NULL,
    environment TEXT NOT NULL,
    payload BLOB NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (bundle_id, seq)
);
CREATE TABLE IF NOT EXISTS bundle_files (
    name TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at REAL NOT NULL
);
"""

_COLS = "id, name, version, digest, manifest, signature, created_by, created_at, origin"


def _bundle(row: sqlite3.Row) -> BundleRecord:
    return BundleRecord(
        id=int(row["id"]),
        name=row["name"],
        version=row["version"],
        digest=row["digest"],
        manifest=bytes(row["manifest"]),
        signature=row["signature"],
        created_by=row["created_by"],
        created_at=float(row["created_at"]),
        origin=row["origin"],
    )


def _promotion(row: sqlite3.Row) -> PromotionRecord:
    return PromotionRecord(
        int(row["bundle_id"]),
        int(row["seq"]),
        row["environment"],
        bytes(row["payload"]),
        row["signature"],
    )


def _file(row: sqlite3.Row) -> GenericFileRecord:
    return GenericFileRecord(
        row["name"], row["sha256"], int(row["size"]), row["created_by"], float(row["created_at"])
    )


class SqliteBundleStore(SqliteDatabase, BundleStore):
    def __init__(self, path: str | Path) -> None:
        super().__init__(path, _SCHEMA)

    def create_bundle(
        self,
        record: BundleRecord,
        pins: Sequence[str],
        promotions: Sequence[PromotionRecord] = (),
    ) -> BundleRecord:
        with self._tx() as c:
            if c.execute(
                "SELECT 1 FROM bundles WHERE name = ? AND version = ?",
                (record.name, record.version),
            ).fetchone():
                raise ConflictError(
                    f"Bundle {record.name} {record.version} exists: bundles are immutable, "
                    "create a new version.",
                    name=record.name,
                    version=record.version,
                )
            cur = c.execute(
                f"INSERT INTO bundles({_COLS}) VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
                (
                    record.name,
                    record.version,
                    record.digest,
                    record.manifest,
                    record.signature,
                    record.created_by,
                    record.created_at,
                    record.origin,
                ),
            )
            bundle_id = int(cur.lastrowid or 0)
            c.executemany(
                "INSERT INTO bundle_pins(bundle_id, sha256) VALUES (?, ?)",
                [(bundle_id, sha) for sha in sorted(set(pins))],
            )
            c.executemany(
                "INSERT INTO bundle_promotions(bundle_id, seq, environment, payload, signature) "
                "VALUES (?, ?, ?, ?, ?)",
                [(bundle_id, p.seq, p.environment, p.payload, p.signature) for p in promotions],
            )
        stored = self.get_bundle(record.name, record.version)
        assert stored is not None
        return stored

    def get_bundle(self, name: str, version: str) -> BundleRecord | None:
        sql = f"SELECT {_COLS} FROM bundles WHERE name = ? AND version = ?"  # noqa: S608
        row = self._one(sql, (name, version))
        return None if row is None else _bundle(row)

    def list_bundles(self, name: str | None = None) -> list[BundleRecord]:
        sql = f"SELECT {_COLS} FROM bundles"  # noqa: S608
        if name is None:
            rows = self._query(sql + " ORDER BY id DESC")
        else:
            rows = self._query(sql + " WHERE name = ? ORDER BY id DESC", (name,))
        return [_bundle(r) for r in rows]

    def add_promotion(self, record: PromotionRecord) -> None:
        try:
            with self._tx() as c:
                c.execute(
                    "INSERT INTO bundle_promotions(bundle_id, seq, environment, payload, "
                    "signature) VALUES (?, ?, ?, ?, ?)",
                    (
                        record.bundle_id,
                        record.seq,
                        record.environment,
                        record.payload,
                        record.signature,
                    ),
                )
        except sqlite3.IntegrityError:
            raise WriteConflictError(
                "The bundle was promoted concurrently; read it again and retry."
            ) from None

    def list_promotions(self, bundle_id: int) -> list[PromotionRecord]:
        rows = self._query(
            "SELECT bundle_id, seq, environment, payload, signature FROM bundle_promotions "
            "WHERE bundle_id = ? ORDER BY seq",
            (bundle_id,),
        )
        return [_promotion(r) for r in rows]

    def is_pinned(self, sha256: str) -> bool:
        return (
            self._one("SELECT 1 FROM bundle_pins WHERE sha256 = ? LIMIT 1", (sha256,)) is not None
        )

    def put_file(self, record: GenericFileRecord) -> None:
        with self._tx() as c:
            c.execute("DELETE FROM bundle_files WHERE name = ?", (record.name,))
            c.execute(
                "INSERT INTO bundle_files(name, sha256, size, created_by, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (record.name, record.sha256, record.size, record.created_by, record.created_at),
            )

    def get_file(self, name: str) -> GenericFileRecord | None:
        row = self._one(
            "SELECT name, sha256, size, created_by, created_at FROM bundle_files WHERE name = ?",
            (name,),
        )
        return None if row is None else _file(row)

    def list_files(self) -> list[GenericFileRecord]:
        rows = self._query(
            "SELECT name, sha256, size, created_by, created_at FROM bundle_files ORDER BY name"
        )
        return [_file(r) for r in rows]
