"""The storage contract, run against every backend: filesystem blobs, SQLite and PostgreSQL
metadata (a real server, tests/pg_service.py)."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelvault_jlab.errors import (
    BlobNotFoundError,
    DigestMismatchError,
    EntryNotFoundError,
    InvalidFilenameError,
    RefExistsError,
    RepoExistsError,
    SizeMismatchError,
    WriteConflictError,
)
from modelvault_jlab.ids import CommitSha, Sha256
from modelvault_jlab.storage.blobs import BlobStore, BlobWriter
from modelvault_jlab.storage.blobs_fs import FsBlobStore
from modelvault_jlab.storage.meta import MetadataStore
from modelvault_jlab.storage.records import (
    AuditQuery,
    CommitRecord,
    FileChange,
    FileEntry,
    RepositoryRecord,
)
from modelvault_jlab.storage.sql.metadata import SqlMetadataStore
from tests.storage.blob_backends import BLOB_BACKENDS, leftovers, open_blob_store, stored_objects


@pytest.fixture(params=BLOB_BACKENDS)
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    yield from open_blob_store(request.param, request, tmp_path)


@pytest.fixture
def meta(database_url: str) -> Iterator[MetadataStore]:
    store = SqlMetadataStore(database_url)
    yield store
    store.close()


def _sha(data: bytes) -> Sha256:
    return Sha256(hashlib.sha256(data).hexdigest())


# -- blobs ----------------------------------------------------------------------------------------
def test_blob_roundtrip_and_dedup(blobs: BlobStore) -> None:
    data = os.urandom(3 << 20)
    with blobs.open_writer() as w:
        for i in range(0, len(data), 65536):
            w.write(data[i : i + 65536])
        info = w.commit(_sha(data), len(data))
    assert info.sha256 == _sha(data) and info.size == len(data)
    assert blobs.exists(info.sha256) and blobs.size(info.sha256) == len(data)
    with blobs.open_reader(info.sha256) as f:
        assert f.read() == data
    assert b"".join(blobs.iter_range(info.sha256, 10, 5000, 1000)) == data[10:5000]
    again = blobs.put_bytes(data)
    assert again == info
    assert len(stored_objects(blobs)) == 1
    assert leftovers(blobs) == []


def test_blob_digest_and_size_mismatch_publish_nothing(blobs: BlobStore) -> None:
    data = b"hello world"
    with pytest.raises(DigestMismatchError), blobs.open_writer() as w:
        w.write(data)
        w.commit("0" * 64, len(data))
    with pytest.raises(SizeMismatchError), blobs.open_writer() as w:
        w.write(data)
        w.commit(_sha(data), len(data) + 1)
    assert not blobs.exists(_sha(data))
    assert leftovers(blobs) == []


def test_abandoned_writer_is_invisible_and_cleaned(tmp_path: Path) -> None:
    store = FsBlobStore(tmp_path / "b")
    w = store.open_writer()
    w.write(b"partial")
    assert len(list(store.tmp_dir.iterdir())) == 1
    # a temp file of a dead process (no such pid) is removed at start-up
    (store.tmp_dir / "upload-999999999-dead").write_bytes(b"x")
    assert store.cleanup_incomplete() == 1
    assert len(list(store.tmp_dir.iterdir())) == 1  # our own live writer is kept
    w.abort()
    assert list(store.tmp_dir.iterdir()) == []
    with pytest.raises(BlobNotFoundError):
        store.open_reader(_sha(b"partial"))


MiB = 1 << 20


def _write(writer: BlobWriter, data: bytes, step: int = 1 * MiB) -> None:
    for i in range(0, len(data), step):
        writer.write(data[i : i + step])


@pytest.mark.parametrize("size", [11, 12 * MiB])  # one request / several parts on S3
@pytest.mark.parametrize("announced", [False, True])  # sha256 known when the writer opens
def test_blob_mismatch_publishes_nothing_whatever_the_path(
    blobs: BlobStore, size: int, announced: bool
) -> None:
    data = os.urandom(size)
    wrong = _sha(b"something else")
    with pytest.raises(DigestMismatchError), blobs.open_writer(wrong if announced else None) as w:
        _write(w, data)
        w.commit(None if announced else wrong, size)
    with (
        pytest.raises(SizeMismatchError),
        blobs.open_writer(_sha(data) if announced else None) as w,
    ):
        _write(w, data)
        w.commit(_sha(data), size - 1)
    assert not blobs.exists(_sha(data)) and not blobs.exists(wrong)
    assert stored_objects(blobs) == [] and leftovers(blobs) == []
    # the same content, right this time, is published exactly once
    with blobs.open_writer(_sha(data) if announced else None) as w:
        _write(w, data)
        assert w.commit(_sha(data), size).sha256 == _sha(data)
    with blobs.open_reader(_sha(data)) as f:
        assert f.read() == data
    assert len(stored_objects(blobs)) == 1 and leftovers(blobs) == []


def test_interrupted_writer_leaves_nothing(blobs: BlobStore) -> None:
    data = os.urandom(11 * MiB)  # parts already uploaded on S3 when it breaks
    with pytest.raises(RuntimeError), blobs.open_writer() as w:
        _write(w, data)
        raise RuntimeError("client went away")
    w.abort()  # idempotent
    assert not blobs.exists(_sha(data))
    assert stored_objects(blobs) == [] and leftovers(blobs) == []


def test_blob_reader_is_seekable(blobs: BlobStore) -> None:
    data = os.urandom(3 * MiB + 17)
    info = blobs.put_bytes(data)
    with blobs.open_reader(info.sha256) as f:
        assert f.seekable() and f.read(10) == data[:10]
        assert f.seek(0, os.SEEK_END) == len(data) and f.read(5) == b""
        assert f.seek(-100, os.SEEK_END) == len(data) - 100 and f.read() == data[-100:]
        for pos in (2 * MiB + 5, 17, 1 * MiB - 3, len(data) - 1):  # backwards and forwards
            f.seek(pos)
            assert f.read(70_000) == data[pos : pos + 70_000]
            assert f.tell() == min(len(data), pos + 70_000)
        f.seek(5)
        assert f.read() == data[5:]
    assert b"".join(blobs.iter_range(info.sha256, 0, len(data) + 10, 1 * MiB)) == data
    assert b"".join(blobs.iter_range(info.sha256, len(data), len(data) + 1, 10)) == b""


def test_open_partial_reads_while_writing_and_after_commit(blobs: BlobStore) -> None:
    data = os.urandom(7 * MiB)
    with blobs.open_writer() as w:
        w.write(data[: 6 * MiB])
        try:
            partial = w.open_partial()
        except NotImplementedError:
            pytest.fail(f"{type(blobs).__name__} must support stream-through readers")
        with partial:
            assert partial.read() == data[: 6 * MiB]
            w.write(data[6 * MiB :])
            assert partial.read() == data[6 * MiB :]
            w.commit(_sha(data), len(data))
            partial.seek(0)
            assert partial.read() == data  # still valid after the blob was published
    assert blobs.exists(_sha(data)) and leftovers(blobs) == []


def test_put_many_dedups(blobs: BlobStore) -> None:
    values = [f"value {i % 5}".encode() for i in range(20)]
    infos = blobs.put_many(values)
    assert [i.sha256 for i in infos] == [_sha(v) for v in values]
    assert len(stored_objects(blobs)) == 5
    with blobs.open_reader(infos[3].sha256) as f:
        assert f.read() == values[3]


# -- metadata -------------------------------------------------------------------------------------
def _commit(hub_repo: int, sha: str, parent: str | None) -> CommitRecord:
    return CommitRecord(
        CommitSha(sha), hub_repo, CommitSha(parent) if parent else None, "t", "", "me", 1.0
    )


def _put(path: str, data: bytes = b"x") -> FileChange:
    return FileChange("put", path, FileEntry(path, _sha(data), len(data), "0" * 40, False))


@pytest.fixture
def repo(meta: MetadataStore) -> int:
    meta.create_repository(RepositoryRecord("models", "hf-local"))
    return meta.create_hub_repo(
        "models", "model", "org/m", True, "me", _commit(0, "1" * 40, None)
    ).id


def test_repository_and_repo_uniqueness(meta: MetadataStore, repo: int) -> None:
    with pytest.raises(RepoExistsError):
        meta.create_repository(RepositoryRecord("models", "hf-local"))
    with pytest.raises(RepoExistsError):
        meta.create_hub_repo("models", "model", "org/m", True, "me", _commit(0, "2" * 40, None))
    # same id, other type: a different repo
    meta.create_hub_repo("models", "dataset", "org/m", True, "me", _commit(0, "3" * 40, None))


def test_commits_inherit_and_apply_changes(meta: MetadataStore, repo: int) -> None:
    meta.commit(
        _commit(repo, "a" * 40, "1" * 40),
        [_put("a.txt"), _put("d/b.txt"), _put("d/e/c.txt")],
        "branch",
        "main",
        CommitSha("1" * 40),
    )
    meta.commit(
        _commit(repo, "b" * 40, "a" * 40),
        [FileChange("delete_folder", "d/e"), _put("z.txt")],
        "branch",
        "main",
        CommitSha("a" * 40),
    )
    old = [f.path for f in meta.list_files(repo, CommitSha("a" * 40), "", None, 100)]
    new = [f.path for f in meta.list_files(repo, CommitSha("b" * 40), "", None, 100)]
    assert old == ["a.txt", "d/b.txt", "d/e/c.txt"]
    assert new == ["a.txt", "d/b.txt", "z.txt"]
    assert [f.path for f in meta.list_files(repo, CommitSha("b" * 40), "d/", None, 100)] == [
        "d/b.txt"
    ]
    assert meta.has_folder(repo, CommitSha("a" * 40), "d/e") and not meta.has_folder(
        repo, CommitSha("b" * 40), "d/e"
    )
    history = meta.list_commits(repo, CommitSha("b" * 40), 0, 10)
    assert [c.sha for c in history] == ["b" * 40, "a" * 40, "1" * 40]


def test_folder_bounds_do_not_leak_to_siblings(meta: MetadataStore, repo: int) -> None:
    meta.commit(
        _commit(repo, "a" * 40, "1" * 40),
        [_put("d/x"), _put("d-sibling/y"), _put("d0"), _put("dd/z")],
        "branch",
        "main",
        CommitSha("1" * 40),
    )
    assert [f.path for f in meta.list_files(repo, CommitSha("a" * 40), "d/", None, 100)] == ["d/x"]
    meta.commit(
        _commit(repo, "b" * 40, "a" * 40),
        [FileChange("delete_folder", "d")],
        "branch",
        "main",
        CommitSha("a" * 40),
    )
    assert [f.path for f in meta.list_files(repo, CommitSha("b" * 40), "", None, 100)] == [
        "d-sibling/y",
        "d0",
        "dd/z",
    ]


def test_commit_validation_is_atomic(meta: MetadataStore, repo: int) -> None:
    with pytest.raises(EntryNotFoundError):
        meta.commit(
            _commit(repo, "a" * 40, "1" * 40),
            [_put("ok.txt"), FileChange("delete_file", "nope")],
            "branch",
            "main",
            CommitSha("1" * 40),
        )
    with pytest.raises(InvalidFilenameError):
        meta.commit(
            _commit(repo, "a" * 40, "1" * 40),
            [_put("f"), _put("f/g")],
            "branch",
            "main",
            CommitSha("1" * 40),
        )
    # nothing of the failed commits is visible and the branch did not move
    assert meta.get_ref(repo, "branch", "main").commit == "1" * 40  # type: ignore[union-attr]
    assert meta.get_commit(repo, CommitSha("a" * 40)) is None


def test_refs_compare_and_swap(meta: MetadataStore, repo: int) -> None:
    with pytest.raises(WriteConflictError):
        meta.commit(_commit(repo, "a" * 40, "1" * 40), [], "branch", "main", CommitSha("f" * 40))
    meta.set_ref(repo, "tag", "v1", CommitSha("1" * 40), None)
    with pytest.raises(RefExistsError):
        meta.set_ref(repo, "tag", "v1", CommitSha("1" * 40), None)
    with pytest.raises(WriteConflictError):
        meta.set_ref(repo, "tag", "v1", CommitSha("1" * 40), CommitSha("e" * 40))
    assert meta.delete_ref(repo, "tag", "v1") and not meta.delete_ref(repo, "tag", "v1")


def test_racing_commits_one_wins(meta: MetadataStore, repo: int) -> None:
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def race(i: int) -> None:
        barrier.wait()
        try:
            meta.commit(
                _commit(repo, f"{i:040x}", "1" * 40),
                [_put(f"f{i}")],
                "branch",
                "main",
                CommitSha("1" * 40),
            )
            outcomes.append("won")
        except WriteConflictError:
            outcomes.append("lost")

    threads = [threading.Thread(target=race, args=(i + 2,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["lost"] * 7 + ["won"]


def test_audit_and_settings(meta: MetadataStore) -> None:
    assert meta.set_setting_if_absent("k", "first") == "first"
    assert meta.set_setting_if_absent("k", "second") == "first"
    for i in range(5):
        meta.append_audit(
            ts=float(i),
            actor="a" if i % 2 else "b",
            token_id=None,
            action="x",
            repository="r",
            subject=f"s/{i}",
            detail={"i": i},
            remote_addr=None,
        )
    events = meta.query_audit(AuditQuery(actor="a"))
    assert [e.detail["i"] for e in events] == [3, 1]
    page = meta.query_audit(AuditQuery(limit=2))
    assert [e.detail["i"] for e in page] == [4, 3]
    assert [
        e.detail["i"] for e in meta.query_audit(AuditQuery(before_id=page[-1].id, limit=2))
    ] == [2, 1]


# -- leases ---------------------------------------------------------------------------------------
def test_lease_acquire_renew_release(meta: MetadataStore) -> None:
    assert meta.acquire_lease("gc", "a", 30)
    assert not meta.acquire_lease("gc", "b", 30)  # held by another: refused
    assert meta.acquire_lease("gc", "a", 30)  # held by us: renewed
    assert meta.renew_lease("gc", "a", 30) and not meta.renew_lease("gc", "b", 30)
    assert meta.acquire_lease("other", "b", 30)  # leases are independent
    meta.release_lease("gc", "b")  # not the holder: no effect
    assert not meta.acquire_lease("gc", "b", 30)
    meta.release_lease("gc", "a")
    assert not meta.renew_lease("gc", "a", 30)  # released: gone
    assert meta.acquire_lease("gc", "b", 30)


def test_lease_expires(meta: MetadataStore) -> None:
    assert meta.acquire_lease("gc", "a", 0.2)
    assert not meta.acquire_lease("gc", "b", 30)
    time.sleep(0.3)
    assert not meta.renew_lease("gc", "a", 30)  # expired: the holder must re-acquire
    assert meta.acquire_lease("gc", "b", 30)
    assert not meta.acquire_lease("gc", "a", 30)


def test_racing_lease_one_wins(meta: MetadataStore) -> None:
    winners: list[int] = []
    barrier = threading.Barrier(8)

    def race(i: int) -> None:
        barrier.wait()
        if meta.acquire_lease("leader", f"replica-{i}", 30):
            winners.append(i)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1
