"""The shard check's work is bounded: chunk rows it reads and chunks its terms cover count
against one budget, so many small terms over many xorbs are refused instead of served."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelvault_jlab.core.xet import cas
from modelvault_jlab.core.xet.hashing import (
    chunk_hash,
    file_hash,
    hash_to_string,
    verification_hash,
)
from modelvault_jlab.core.xet.shard import ShardFile, ShardTerm, UploadShard
from modelvault_jlab.core.xet.xorb import build_xorb, verify_xorb
from modelvault_jlab.errors import InvalidInputError
from modelvault_jlab.ids import Sha256
from modelvault_jlab.storage.records import RepositoryRecord, XorbChunkRecord, XorbRecord
from modelvault_jlab.storage.sql.metadata import SqlMetadataStore


@pytest.fixture
def meta(tmp_path: Path) -> Iterator[SqlMetadataStore]:
    store = SqlMetadataStore(tmp_path / "meta.sqlite3")
    store.create_repository(RepositoryRecord("models", "hf-local"))
    yield store
    store.close()


def _stored_xorb(meta: SqlMetadataStore, chunks: list[bytes]) -> bytes:
    data, h = build_xorb(chunks)
    v = verify_xorb(data, h)
    meta.put_xorb(
        XorbRecord(hash_to_string(h), Sha256("0" * 64), len(data), v.raw_len, len(v.chunks)),
        [
            XorbChunkRecord(
                i, hash_to_string(c.hash), c.raw_start, c.raw_len, c.ser_start, c.ser_end
            )
            for i, c in enumerate(v.chunks)
        ],
        "models",
    )
    return h


def _one_chunk_files(xorbs: list[tuple[bytes, list[bytes]]]) -> UploadShard:
    files = []
    for h, chunks in xorbs:
        ch = chunk_hash(chunks[0])
        term = ShardTerm(h, len(chunks[0]), 0, 1, verification_hash([ch]))
        files.append(ShardFile(file_hash([(ch, len(chunks[0]))]), (term,), "a" * 64))
    return UploadShard(tuple(files), ())


def test_work_is_bounded(meta: SqlMetadataStore, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(5)
    xorbs = []
    for _ in range(3):
        chunks = [rng.randbytes(100) for _ in range(10)]
        xorbs.append((_stored_xorb(meta, chunks), chunks))
    shard = _one_chunk_files(xorbs)
    # three one-chunk terms read three whole xorbs: 3 x (10 rows + 1 covered chunk) = 33
    monkeypatch.setattr(cas, "MAX_SHARD_CHUNKS", 33)
    assert len(cas._ShardCheck(meta, "models").files(shard)) == 3
    monkeypatch.setattr(cas, "MAX_SHARD_CHUNKS", 32)
    with pytest.raises(InvalidInputError, match="more than 32 chunks"):
        cas._ShardCheck(meta, "models").files(shard)
    monkeypatch.setattr(cas, "MAX_SHARD_CHUNKS", 1000)
    monkeypatch.setattr(cas, "MAX_SHARD_XORBS", 2)
    with pytest.raises(InvalidInputError, match="more than 2 xorbs"):
        cas._ShardCheck(meta, "models").files(shard)
