"""Xet files read as blobs: :class:`XetBlobStore` reconstructs a registered Xet file (terms over
two xorbs, compressed chunks, a repeated and an overlapping term) as a seekable reader; any seek
and read gives the file's bytes; real blobs and writes go to the real store."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelvault_jlab.core.xet.content import XetBlobStore
from modelvault_jlab.core.xet.hashing import hash_to_string
from modelvault_jlab.core.xet.xorb import SCHEME_LZ4, build_xorb, verify_xorb
from modelvault_jlab.errors import BlobNotFoundError
from modelvault_jlab.ids import Sha256
from modelvault_jlab.storage.blobs_fs import FsBlobStore
from modelvault_jlab.storage.records import (
    RepositoryRecord,
    XetFileRecord,
    XetTermRecord,
    XorbChunkRecord,
    XorbRecord,
)
from modelvault_jlab.storage.sql.metadata import SqlMetadataStore


def _store_xorb(meta: SqlMetadataStore, blobs: FsBlobStore, chunks: list[bytes]) -> str:
    serialized, h = build_xorb(chunks, SCHEME_LZ4)
    verified = verify_xorb(serialized, h)
    blob = blobs.put_bytes(serialized)
    rows = [
        XorbChunkRecord(i, hash_to_string(c.hash), c.raw_start, c.raw_len, c.ser_start, c.ser_end)
        for i, c in enumerate(verified.chunks)
    ]
    xorb = hash_to_string(h)
    meta.put_xorb(
        XorbRecord(xorb, blob.sha256, len(serialized), verified.raw_len, len(rows)), rows, "models"
    )
    return xorb


class Fixture:
    def __init__(self, tmp: Path) -> None:
        self.meta = SqlMetadataStore(f"sqlite:///{tmp / 'meta.sqlite3'}")
        self.meta.create_repository(RepositoryRecord("models", "hf-local"))
        self.inner = FsBlobStore(tmp / "blobs")
        a = [os.urandom(40_000) for _ in range(3)] + [b"abc" * 30_000, bytes(70_000)]
        b = [bytes([i]) * (9_000 + i) for i in range(5)]
        xa, xb = _store_xorb(self.meta, self.inner, a), _store_xorb(self.meta, self.inner, b)
        spans = [(xa, a, 0, 3), (xb, b, 1, 4), (xa, a, 2, 5), (xa, a, 2, 5)]
        terms = tuple(XetTermRecord(x, s, e, sum(map(len, c[s:e]))) for x, c, s, e in spans)
        self.content = b"".join(b"".join(c[s:e]) for _, c, s, e in spans)
        self.sha = Sha256(hashlib.sha256(self.content).hexdigest())
        self.meta.put_xet_file(
            XetFileRecord("f" * 64, self.sha, len(self.content), terms), "models"
        )
        self.store = XetBlobStore(self.inner, self.meta)


@pytest.fixture(scope="module")
def fx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fixture]:
    f = Fixture(tmp_path_factory.mktemp("xet-content"))
    yield f
    f.meta.close()


def test_a_xet_file_reads_as_a_blob(fx: Fixture) -> None:
    store = fx.store
    assert store.exists(fx.sha) and store.size(fx.sha) == len(fx.content)
    with store.open_reader(fx.sha) as reader:
        assert reader.read() == fx.content
    got = b"".join(store.iter_range(fx.sha, 5, len(fx.content) - 7, 10_000))
    assert got == fx.content[5:-7]
    assert store.presigned_url(fx.sha, 60) is None  # nothing to presign: served reconstructed
    missing = Sha256("0" * 64)
    assert not store.exists(missing)
    with pytest.raises(BlobNotFoundError):
        store.open_reader(missing)


def test_real_blobs_and_writes_go_to_the_real_store(fx: Fixture) -> None:
    info = fx.store.put_bytes(b"plain blob")
    assert fx.inner.exists(info.sha256)
    with fx.store.open_reader(info.sha256) as reader:
        assert reader.read() == b"plain blob"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 400_000), st.integers(0, 200_000)), max_size=6))
def test_any_seek_and_read_gives_the_files_bytes(fx: Fixture, reads: list[tuple[int, int]]) -> None:
    with fx.store.open_reader(fx.sha) as reader:
        for offset, n in reads:
            assert reader.seek(offset) == offset
            data = reader.read(n)
            assert data == fx.content[offset : offset + n]
            assert reader.tell() == offset + len(data)
        reader.seek(-3, io.SEEK_END)
        assert reader.read() == fx.content[-3:]
