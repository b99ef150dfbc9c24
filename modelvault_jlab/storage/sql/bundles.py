"""The SQL :class:`BundleStore` (tables ``bundle*``), one implementation for both engines.

Concurrency: ``create_bundle`` is ``INSERT … ON CONFLICT (name, version) DO NOTHING RETURNING``,
so of two replicas sealing one version exactly one succeeds; promotions are keyed by
``(bundle_id, seq)``, so two promotions from the same state cannot both land; ``put_file`` is one
upsert.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...errors import ConflictError, WriteConflictError
from ..bundles import BundleRecord, BundleStore, GenericFileRecord, PromotionRecord
from .database import ConstraintError, Row
from .store import SqlDatabase

_COLS = "id, name, version, digest, manifest, signature, created_by, created_at, origin"


def _bundle(row: Row) -> BundleRecord:
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


def _promotion(row: Row) -> PromotionRecord:
    return PromotionRecord(
        int(row["bundle_id"]),
        int(row["seq"]),
        row["environment"],
        bytes(row["payload"]),
        row["signature"],
    )


def _file(row: Row) -> GenericFileRecord:
    return GenericFileRecord(
        row["name"], row["sha256"], int(row["size"]), row["created_by"], float(row["created_at"])
    )


class SqlBundleStore(SqlDatabase, BundleStore):
    def create_bundle(
        self,
        record: BundleRecord,
        pins: Sequence[str],
        promotions: Sequence[PromotionRecord] = (),
    ) -> BundleRecord:
        with self._tx() as c:
            row = c.execute(
                f"INSERT INTO bundles({_COLS.removeprefix('id, ')}) "  # noqa: S608
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name, version) DO NOTHING "
                "RETURNING id",
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
            ).fetchone()
            if row is None:
                raise ConflictError(
                    f"Bundle {record.name} {record.version} exists: bundles are immutable, "
                    "create a new version.",
                    name=record.name,
                    version=record.version,
                )
            bundle_id = int(row["id"])
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
        except ConstraintError:
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
            c.execute(
                "INSERT INTO bundle_files(name, sha256, size, created_by, created_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET sha256 = excluded.sha256, "
                "size = excluded.size, created_by = excluded.created_by, "
                "created_at = excluded.created_at",
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
