"""The Xet metadata store on both engines: xorbs with their chunks, files with their terms, the
uploader repositories that scope dedup and commit trust, and two replicas racing on one xorb."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelvault_jlab.ids import Sha256
from modelvault_jlab.storage.records import (
    RepositoryRecord,
    XetFileRecord,
    XetTermRecord,
    XorbChunkRecord,
    XorbRecord,
)
from modelvault_jlab.storage.sql.database import open_database
from modelvault_jlab.storage.sql.metadata import SqlMetadataStore
from modelvault_jlab.storage.sql.migrations import migrate


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{tmp_path / 'meta.sqlite3'}"


@pytest.fixture
def meta(database_url: str) -> Iterator[SqlMetadataStore]:
    store = SqlMetadataStore(database_url)
    for key in ("models", "other"):
        store.create_repository(RepositoryRecord(key, "hf-local"))
    yield store
    store.close()


def _h(n: int) -> str:
    return f"{n:064x}"


def _xorb(n: int, n_chunks: int = 3) -> tuple[XorbRecord, list[XorbChunkRecord]]:
    chunks = [
        XorbChunkRecord(i, _h(1000 * n + i), i * 100, 100, i * 108, (i + 1) * 108)
        for i in range(n_chunks)
    ]
    record = XorbRecord(_h(n), Sha256(f"{n:064x}"[::-1]), n_chunks * 108, n_chunks * 100, n_chunks)
    return record, chunks


def test_xorbs_chunks_and_dedup_scope(meta: SqlMetadataStore) -> None:
    record, chunks = _xorb(1, 5)
    assert meta.put_xorb(record, chunks, "models") is True
    assert meta.put_xorb(record, chunks, "models") is False  # idempotent
    assert meta.get_xorb(record.xorb_hash) == record
    assert meta.get_xorb(_h(99)) is None
    assert meta.xorb_chunks(record.xorb_hash) == chunks
    assert meta.xorb_chunks(record.xorb_hash, 1, 3) == chunks[1:3]
    assert meta.xorb_chunks(record.xorb_hash, 4) == chunks[4:]
    # dedup answers only for xorbs uploaded into one of the given repositories
    assert meta.dedup_chunk(chunks[2].chunk_hash, ["models"]) == (record.xorb_hash, 2)
    assert meta.dedup_chunk(chunks[2].chunk_hash, ["other"]) is None
    assert meta.xorb_uploaded_to(record.xorb_hash, "models")
    assert not meta.xorb_uploaded_to(record.xorb_hash, "other")
    assert meta.dedup_chunk(chunks[2].chunk_hash, []) is None
    assert meta.dedup_chunk(_h(12345), ["models"]) is None
    assert meta.put_xorb(record, chunks, "other") is False  # a second uploader repository
    assert meta.dedup_chunk(chunks[0].chunk_hash, ["other"]) == (record.xorb_hash, 0)
    assert meta.xorb_uploaded_to(record.xorb_hash, "other")
    assert not meta.xorb_uploaded_to(_h(99), "other")


def test_files_terms_and_uploader(meta: SqlMetadataStore) -> None:
    x1, c1 = _xorb(1)
    x2, c2 = _xorb(2)
    meta.put_xorb(x1, c1, "models")
    meta.put_xorb(x2, c2, "models")
    sha = Sha256("ab" * 32)
    terms = (
        XetTermRecord(x1.xorb_hash, 0, 3, 300),
        XetTermRecord(x2.xorb_hash, 1, 2, 100),
        XetTermRecord(x1.xorb_hash, 1, 2, 100),  # repeated ranges are legal
    )
    record = XetFileRecord(_h(7), sha, 500 + 5 * 1024**3, terms)  # above 2 GiB: BIGINT
    meta.put_xet_file(record, "models")
    meta.put_xet_file(record, "models")  # idempotent
    assert meta.xet_file(record.file_hash) == record
    assert meta.xet_file(_h(8)) is None
    assert meta.xet_file_for_sha256(sha) == record
    assert meta.xet_file_for_sha256(Sha256("cd" * 32)) is None
    assert meta.xet_file_uploaded_to(sha, "models")
    assert not meta.xet_file_uploaded_to(sha, "other")
    # the same content chunked another way: a second file, the first one still answers
    other = XetFileRecord(_h(9), sha, record.size, terms[:1])
    meta.put_xet_file(other, "other")
    assert meta.xet_file_for_sha256(sha) == record
    assert meta.xet_file(other.file_hash) == other
    assert meta.xet_file_uploaded_to(sha, "other")


def test_xorb_upload_race_across_replicas(database_url: str, meta: SqlMetadataStore) -> None:
    replicas = []
    for _ in range(2):
        db = open_database(database_url)
        migrate(db)
        replicas.append(SqlMetadataStore(db))
    record, chunks = _xorb(3, 50)
    barrier = threading.Barrier(6)
    results: list[object] = [None] * 6

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = replicas[i % 2].put_xorb(record, chunks, ("models", "other")[i % 2])
        except BaseException as e:
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert sorted(map(str, results)) == ["False"] * 5 + ["True"]
        assert meta.xorb_chunks(record.xorb_hash) == chunks
        assert meta.dedup_chunk(chunks[7].chunk_hash, ["other"]) == (record.xorb_hash, 7)
    finally:
        for r in replicas:
            r.close()


def test_sibling_xorbs_cover_the_files_using_a_xorb_within_one_repository(
    meta: SqlMetadataStore,
) -> None:
    xorbs = [_xorb(n) for n in range(1, 6)]
    for record, chunks in xorbs:
        meta.put_xorb(record, chunks, "models")
    meta.put_xorb(xorbs[4][0], xorbs[4][1], "other")
    x = [record.xorb_hash for record, _ in xorbs]

    def file(n: int, used: list[int], repository: str) -> None:
        terms = tuple(XetTermRecord(x[i], 0, 3, 300) for i in used)
        meta.put_xet_file(
            XetFileRecord(_h(100 + n), Sha256(f"{n:064x}"), 300 * len(used), terms), repository
        )

    file(1, [0, 1, 2], "models")  # a model in three xorbs
    file(2, [3, 0], "models")  # another file sharing the first xorb
    file(3, [4, 0], "other")  # another repository's file: never listed for "models"
    assert meta.sibling_xorbs(x[0], "models", 10) == [x[3], x[1], x[2]]  # earliest use first
    assert meta.sibling_xorbs(x[0], "models", 2) == [x[3], x[1]]  # bounded
    assert meta.sibling_xorbs(x[2], "models", 10) == [x[0], x[1]]
    assert meta.sibling_xorbs(x[4], "models", 10) == []
    # only xorbs uploaded into the repository asked for
    assert meta.sibling_xorbs(x[4], "other", 10) == []
    assert meta.sibling_xorbs(x[0], "other", 10) == [x[4]]
