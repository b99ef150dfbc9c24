"""Contract of the package and bundle stores, and what replicas rely on: two store instances on
one database (two processes' worth of connections) racing on the same rows, on both engines."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

from modelvault_jlab.errors import ConflictError, WriteConflictError
from modelvault_jlab.ids import CommitSha, Sha256
from modelvault_jlab.storage.bundles import BundleRecord, GenericFileRecord, PromotionRecord
from modelvault_jlab.storage.packages import (
    PackageFileRecord,
    RemoteLinkRecord,
    RemotePageRecord,
)
from modelvault_jlab.storage.records import (
    BlobInfo,
    CommitRecord,
    FileChange,
    FileEntry,
    RepositoryRecord,
    WaiverRecord,
)
from modelvault_jlab.storage.sql.bundles import SqlBundleStore
from modelvault_jlab.storage.sql.database import Database, open_database
from modelvault_jlab.storage.sql.metadata import SqlMetadataStore
from modelvault_jlab.storage.sql.migrations import migrate
from modelvault_jlab.storage.sql.packages import SqlPackageStore

T = TypeVar("T")


def _race(n: int, fn: Callable[[int], T]) -> list[T | BaseException]:
    """Run ``fn(0..n-1)`` in threads released together; results (or raised errors) by index."""
    barrier = threading.Barrier(n)
    out: list[T | BaseException] = [RuntimeError("not run")] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            out[i] = fn(i)
        except BaseException as e:
            out[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def _database(url: str) -> Database:
    """A connection source of its own, as another replica process would open."""
    db = open_database(url)
    migrate(db)
    return db


def _sha(data: bytes) -> Sha256:
    return Sha256(hashlib.sha256(data).hexdigest())


# -- packages -------------------------------------------------------------------------------------
@pytest.fixture
def packages(database_url: str) -> Iterator[SqlPackageStore]:
    store = SqlPackageStore(database_url)
    yield store
    store.close()


def _pkg(filename: str, sha: str = "a" * 64, project: str = "demo") -> PackageFileRecord:
    return PackageFileRecord(
        repository="py",
        project=project,
        filename=filename,
        version="1.0",
        sha256=sha,
        size=5 * 1024**3 + 7,  # above 2 GiB: BIGINT on PostgreSQL
        requires_python=">=3.9",
        yanked=None,
        upload_time=1_780_000_000.123456,
        metadata_sha256=None,
        uploaded_by="me",
        origin="upload",
        display_name="Demo",
    )


def test_package_files_first_writer_wins(packages: SqlPackageStore) -> None:
    first, created = packages.add_file(_pkg("demo-1.0.tar.gz"))
    assert created and first == _pkg("demo-1.0.tar.gz")  # exact sizes and timestamps
    again, created = packages.add_file(_pkg("demo-1.0.tar.gz", sha="b" * 64))
    assert not created and again.sha256 == "a" * 64  # the domain refuses "same file, new hash"
    packages.add_file(_pkg("demo-1.0-py3-none-any.whl"))
    packages.add_file(_pkg("other-2.0.tar.gz", project="other"))
    assert [f.filename for f in packages.list_files("py", "demo")] == [
        "demo-1.0-py3-none-any.whl",
        "demo-1.0.tar.gz",
    ]
    assert packages.get_file("py", "demo-1.0.tar.gz") == first
    assert packages.get_file("py", "nope") is None
    assert packages.has_project("py", "demo") and not packages.has_project("elsewhere", "demo")


def test_package_upload_race_across_replicas(database_url: str, packages: SqlPackageStore) -> None:
    replicas = [SqlPackageStore(_database(database_url)) for _ in range(2)]
    try:
        results = _race(6, lambda i: replicas[i % 2].add_file(_pkg("x-1.tar.gz", sha=f"{i:064x}")))
        assert not [r for r in results if isinstance(r, BaseException)]
        created = [r for r in results if not isinstance(r, BaseException) and r[1]]
        assert len(created) == 1
        winner = created[0][0].sha256
        assert {r[0].sha256 for r in results if not isinstance(r, BaseException)} == {winner}
    finally:
        for r in replicas:
            r.close()


def _page(project: str, status: int, names: list[str], fetched_at: float = 1.0) -> RemotePageRecord:
    links = tuple(
        RemoteLinkRecord(n, hashlib.sha256(n.encode()).hexdigest(), f"https://up/{n}", size=10)
        for n in names
    )
    return RemotePageRecord("mirror", project, status, fetched_at, etag='"e1"', links=links)


def test_remote_pages(packages: SqlPackageStore) -> None:
    packages.put_remote_page(_page("demo", 200, ["demo-2.whl", "demo-1.whl"]))
    packages.put_remote_page(_page("gone", 404, []))
    page = packages.get_remote_page("mirror", "demo")
    assert page is not None and page.etag == '"e1"'
    assert [link.filename for link in page.links] == ["demo-1.whl", "demo-2.whl"]
    gone = packages.get_remote_page("mirror", "gone")
    assert gone is not None and gone.status == 404 and gone.links == ()
    assert packages.get_remote_page("mirror", "never") is None
    packages.add_file(
        PackageFileRecord(**{**_pkg("l-1.tar.gz").__dict__, "repository": "mirror", "project": "l"})
    )
    assert packages.list_projects("mirror") == ["demo", "l"]  # 404 pages are not projects
    # a refresh replaces the links; a 304 only touches the time
    packages.put_remote_page(_page("demo", 200, ["demo-3.whl"], fetched_at=2.0))
    packages.touch_remote_page("mirror", "demo", 3.5)
    page = packages.get_remote_page("mirror", "demo")
    assert page is not None and page.fetched_at == 3.5
    assert [link.filename for link in page.links] == ["demo-3.whl"]
    sha3 = hashlib.sha256(b"demo-3.whl").hexdigest()
    found = packages.find_remote_link("mirror", sha3, "demo-3.whl")
    assert found is not None and found[0] == "demo" and found[1].url == "https://up/demo-3.whl"
    sha1 = hashlib.sha256(b"demo-1.whl").hexdigest()
    assert packages.find_remote_link("mirror", sha1, "demo-1.whl") is None


def test_remote_page_refresh_race_never_mixes(database_url: str) -> None:
    replicas = [SqlPackageStore(_database(database_url)) for _ in range(2)]
    try:
        sets = [[f"r{i}-{j}.whl" for j in range(20)] for i in range(6)]
        results = _race(6, lambda i: replicas[i % 2].put_remote_page(_page("p", 200, sets[i])))
        assert not [r for r in results if isinstance(r, BaseException)]
        page = replicas[0].get_remote_page("mirror", "p")
        assert page is not None
        assert sorted(link.filename for link in page.links) in [sorted(s) for s in sets]
    finally:
        for r in replicas:
            r.close()


# -- bundles --------------------------------------------------------------------------------------
@pytest.fixture
def bundles(database_url: str) -> Iterator[SqlBundleStore]:
    store = SqlBundleStore(database_url)
    yield store
    store.close()


def _bundle(version: str, manifest: bytes = b"\x00\xffmanifest") -> BundleRecord:
    return BundleRecord(
        0, "release", version, "d" * 64, manifest, "{}", "me", 1_780_000_000.5, "local"
    )


def test_bundles_are_immutable_and_pinned(bundles: SqlBundleStore) -> None:
    promo = PromotionRecord(0, 0, "DEV", b'{"to":"DEV"}', "{}")
    one = bundles.create_bundle(_bundle("1"), ["a" * 64, "b" * 64, "a" * 64], [promo])
    assert one.manifest == b"\x00\xffmanifest" and one.created_at == 1_780_000_000.5
    with pytest.raises(ConflictError):
        bundles.create_bundle(_bundle("1"), ["c" * 64])
    assert not bundles.is_pinned("c" * 64)  # the refused bundle pinned nothing
    two = bundles.create_bundle(_bundle("2"), [])
    assert [b.version for b in bundles.list_bundles()] == ["2", "1"]  # newest first
    assert [b.version for b in bundles.list_bundles("release")] == ["2", "1"]
    assert bundles.list_bundles("other") == []
    assert bundles.get_bundle("release", "2") == two and bundles.get_bundle("release", "3") is None
    assert bundles.is_pinned("a" * 64) and bundles.is_pinned("b" * 64)
    assert [p.environment for p in bundles.list_promotions(one.id)] == ["DEV"]
    assert bundles.list_promotions(one.id)[0].bundle_id == one.id


def test_promotions_append_once(bundles: SqlBundleStore) -> None:
    b = bundles.create_bundle(_bundle("1"), [])
    bundles.add_promotion(PromotionRecord(b.id, 0, "DEV", b"p0", "{}"))
    with pytest.raises(WriteConflictError):
        bundles.add_promotion(PromotionRecord(b.id, 0, "QA", b"p0'", "{}"))
    bundles.add_promotion(PromotionRecord(b.id, 1, "QA", b"p1", "{}"))
    assert [(p.seq, p.environment, p.payload) for p in bundles.list_promotions(b.id)] == [
        (0, "DEV", b"p0"),
        (1, "QA", b"p1"),
    ]


def test_generic_files_repoint(bundles: SqlBundleStore) -> None:
    bundles.put_file(GenericFileRecord("tools/a.bin", "a" * 64, 3, "me", 1.0))
    bundles.put_file(GenericFileRecord("tools/a.bin", "b" * 64, 6 * 1024**3, "you", 2.0))
    bundles.put_file(GenericFileRecord("readme", "c" * 64, 1, "me", 1.0))
    assert bundles.get_file("tools/a.bin") == GenericFileRecord(
        "tools/a.bin", "b" * 64, 6 * 1024**3, "you", 2.0
    )
    assert [f.name for f in bundles.list_files()] == ["readme", "tools/a.bin"]
    assert bundles.get_file("nope") is None


def test_bundle_create_race_across_replicas(database_url: str) -> None:
    replicas = [SqlBundleStore(_database(database_url)) for _ in range(2)]
    try:
        results = _race(6, lambda i: replicas[i % 2].create_bundle(_bundle("9"), [f"{i:064x}"]))
        won = [r for r in results if isinstance(r, BundleRecord)]
        lost = [r for r in results if isinstance(r, ConflictError)]
        assert len(won) == 1 and len(lost) == 5
        assert sum(replicas[0].is_pinned(f"{i:064x}") for i in range(6)) == 1
    finally:
        for r in replicas:
            r.close()


# -- metadata across replicas ---------------------------------------------------------------------
def _commit(hub_repo: int, sha: str, parent: str | None) -> CommitRecord:
    return CommitRecord(
        CommitSha(sha), hub_repo, CommitSha(parent) if parent else None, "t", "", "me", 1.0
    )


@pytest.fixture
def replicas(database_url: str) -> Iterator[list[SqlMetadataStore]]:
    """Two metadata stores, each with its own connection(s) to one database."""
    stores = [SqlMetadataStore(database_url), SqlMetadataStore(_database(database_url))]
    yield stores
    for s in stores:
        s.close()


def test_no_lost_update_when_replicas_commit_to_one_branch(
    replicas: list[SqlMetadataStore],
) -> None:
    a, _ = replicas
    a.create_repository(RepositoryRecord("models", "hf-local"))
    repo = a.create_hub_repo("models", "model", "org/m", True, "me", _commit(0, "0" * 40, None)).id
    per_writer = 8

    def writer(w: int) -> int:
        store = replicas[w % 2]
        conflicts = 0
        for n in range(per_writer):
            while True:  # what HubWriter's callers do: re-read the head and retry
                ref = store.get_ref(repo, "branch", "main")
                assert ref is not None
                sha = f"{w + 1:02x}{n:038x}"
                data = f"{w}-{n}".encode()
                entry = FileEntry(f"w{w}/{n}.txt", _sha(data), len(data), "0" * 40, False)
                try:
                    store.commit(
                        _commit(repo, sha, ref.commit),
                        [FileChange("put", entry.path, entry)],
                        "branch",
                        "main",
                        CommitSha(ref.commit),
                    )
                    break
                except WriteConflictError:
                    conflicts += 1
        return conflicts

    results = _race(4, writer)
    assert all(isinstance(r, int) for r in results), results
    head = a.get_ref(repo, "branch", "main")
    assert head is not None
    history = a.list_commits(repo, CommitSha(head.commit), 0, 100)
    assert len(history) == 1 + 4 * per_writer  # every commit is on the branch: none lost
    files = {f.path for f in a.list_files(repo, CommitSha(head.commit), "", None, 1000)}
    assert files == {f"w{w}/{n}.txt" for w in range(4) for n in range(per_writer)}


def test_pr_numbers_and_mirrored_commits_across_replicas(
    replicas: list[SqlMetadataStore],
) -> None:
    a, _ = replicas
    a.create_repository(RepositoryRecord("models", "hf-local"))
    repo = a.create_hub_repo("models", "model", "org/m", True, "me", _commit(0, "0" * 40, None)).id
    numbers = _race(8, lambda i: replicas[i % 2].next_pr_number(repo))
    assert sorted(numbers) == list(range(1, 9))  # type: ignore[type-var]
    entries = [FileEntry(f"f{i}", _sha(b"x"), 1, "0" * 40, False) for i in range(50)]
    results = _race(
        6, lambda i: replicas[i % 2].mirror_commit(_commit(repo, "e" * 40, None), entries)
    )
    assert results == [None] * 6
    assert a.count_files(repo, CommitSha("e" * 40)) == 50


def test_leases_across_replicas(replicas: list[SqlMetadataStore]) -> None:
    winners = _race(6, lambda i: replicas[i % 2].acquire_lease("job", f"replica-{i}", 30))
    assert winners.count(True) == 1
    holder = f"replica-{winners.index(True)}"
    other = replicas[(winners.index(True) + 1) % 2]
    assert other.renew_lease("job", holder, 30)  # the lease is in the database, not a replica
    other.release_lease("job", holder)
    assert replicas[0].acquire_lease("job", "replica-x", 30)


def test_large_sizes_and_exact_timestamps(database_url: str) -> None:
    """Sizes above 2 GiB and sub-second Unix timestamps survive (BIGINT, DOUBLE PRECISION)."""
    meta = SqlMetadataStore(database_url)
    try:
        meta.create_repository(RepositoryRecord("models", "hf-local", created_at=1_780_000_000.25))
        repo = meta.create_hub_repo(
            "models", "model", "org/m", True, "me", _commit(0, "0" * 40, None)
        ).id
        big = FileEntry("weights.bin", _sha(b"w"), 7 * 1024**3 + 1, "0" * 40, True)
        meta.commit(
            _commit(repo, "1" * 40, "0" * 40),
            [FileChange("put", big.path, big)],
            "branch",
            "main",
            CommitSha("0" * 40),
        )
        assert meta.get_file(repo, CommitSha("1" * 40), "weights.bin") == big
        meta.register_blobs([BlobInfo(big.sha256, big.size)])
        assert meta.get_blob(big.sha256) == BlobInfo(big.sha256, big.size)
        stored = meta.get_repository("models")
        assert stored is not None and stored.created_at == 1_780_000_000.25
        waiver = meta.create_waiver(
            WaiverRecord(
                0, "license", "models", "model", "org/m", None, None, "ok", "me",
                1_780_000_000.123456, 1_780_000_123.654321, None,
            )
        )  # fmt: skip
        assert waiver.id > 0 and waiver.expires_at == 1_780_000_123.654321
        assert meta.revoke_waiver(waiver.id, 1_780_000_001.5)
        assert not meta.revoke_waiver(waiver.id, 1_780_000_002.5)
        listed = meta.list_waivers(include_inactive=True, now=0.0)
        assert [(w.id, w.revoked_at) for w in listed] == [(waiver.id, 1_780_000_001.5)]
    finally:
        meta.close()
