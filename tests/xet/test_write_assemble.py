"""Assembling Xet files from stored xorbs: the streaming and the seekable reader give the exact
bytes of any range (terms sharing, repeating and crossing xorbs, compressed and raw chunks), and a
damaged or missing xorb is an error, never wrong bytes."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelvault_jlab.core.xet.assemble import XetContentError, iter_file, open_terms
from modelvault_jlab.core.xet.hashing import hash_to_string
from modelvault_jlab.core.xet.xorb import build_xorb, verify_xorb
from modelvault_jlab.storage.blobs_fs import FsBlobStore
from modelvault_jlab.storage.records import (
    RepositoryRecord,
    XetTermRecord,
    XorbChunkRecord,
    XorbRecord,
)
from modelvault_jlab.storage.sql.metadata import SqlMetadataStore

Store = tuple[SqlMetadataStore, FsBlobStore]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    meta = SqlMetadataStore(tmp_path / "meta.sqlite3")
    meta.create_repository(RepositoryRecord("models", "hf-local"))
    blobs = FsBlobStore(tmp_path / "blobs")
    yield meta, blobs
    meta.close()


def _put(store: Store, chunks: list[bytes], scheme: int) -> tuple[str, list[bytes]]:
    meta, blobs = store
    data, h = build_xorb(chunks, scheme)
    verified = verify_xorb(data, h)
    info = blobs.put_bytes(data)
    name = hash_to_string(h)
    meta.put_xorb(
        XorbRecord(name, info.sha256, len(data), verified.raw_len, len(verified.chunks)),
        [
            XorbChunkRecord(
                i, hash_to_string(c.hash), c.raw_start, c.raw_len, c.ser_start, c.ser_end
            )
            for i, c in enumerate(verified.chunks)
        ],
        "models",
    )
    return name, chunks


def _term(name: str, chunks: list[bytes], start: int, end: int) -> tuple[XetTermRecord, bytes]:
    raw = b"".join(chunks[start:end])
    return XetTermRecord(name, start, end, len(raw)), raw


def test_every_range_reads_back_exactly(store: Store) -> None:
    rng = random.Random(7)
    plain = [rng.randbytes(rng.randint(1, 40_000)) for _ in range(9)]
    packed = [bytes([i % 7]) * rng.randint(1, 60_000) for i in range(6)]
    a, _ = _put(store, plain, 0)
    b, _ = _put(store, packed, 2)  # BG4 + LZ4
    parts = [
        _term(a, plain, 0, 4),
        _term(b, packed, 1, 6),
        _term(a, plain, 2, 3),  # repeated, overlapping ranges are legal
        _term(a, plain, 4, 9),
        _term(b, packed, 0, 1),
    ]
    terms = [t for t, _ in parts]
    expected = b"".join(raw for _, raw in parts)
    meta, blobs = store
    assert b"".join(iter_file(meta, blobs, terms)) == expected
    size = len(expected)
    cuts = [0, 1, 39_999, 40_000, size // 3, size // 2, size - 1, size]
    cuts += [rng.randrange(size) for _ in range(20)]
    for start in cuts:
        for end in (start, start + 1, start + 70_000, size, size + 5):
            assert b"".join(iter_file(meta, blobs, terms, start, end)) == expected[start:end]
    with open_terms(meta, blobs, terms) as f:
        assert f.read() == expected
        assert f.seek(0, io.SEEK_END) == size
        for start in cuts:
            f.seek(start)
            assert f.read(70_000) == expected[start : start + 70_000]
        f.seek(size + 10)
        assert f.read(5) == b""


def test_missing_or_damaged_xorb_is_an_error(store: Store, tmp_path: Path) -> None:
    meta, blobs = store
    rng = random.Random(1)
    chunks = [rng.randbytes(5000) for _ in range(3)]
    name, _ = _put(store, chunks, 0)
    term, _ = _term(name, chunks, 0, 3)
    with pytest.raises(XetContentError, match="xorb 0000"):
        list(iter_file(meta, blobs, [XetTermRecord("0" * 64, 0, 1, 5000)]))
    with pytest.raises(XetContentError, match="do not match"):
        list(iter_file(meta, blobs, [XetTermRecord(name, 0, 3, 14_999)]))
    # a stored xorb blob cut short: an error, never a short file
    xorb = meta.get_xorb(name)
    assert xorb is not None
    path = next(p for p in (tmp_path / "blobs").rglob("*") if p.name == xorb.blob_sha256)
    path.chmod(0o600)
    data = bytearray(path.read_bytes())
    path.write_bytes(bytes(data[:-10]))  # truncated
    with pytest.raises(XetContentError, match="shorter"):
        list(iter_file(meta, blobs, [term]))
    with pytest.raises(XetContentError, match="shorter"), open_terms(meta, blobs, [term]) as f:
        f.seek(12_000)
        f.read(1)
