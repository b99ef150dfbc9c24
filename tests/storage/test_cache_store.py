"""The queries of remote-cache quotas (storage/sql/cache.py) on SQLite and PostgreSQL: least
recently read first, pinned / shared / alone, and an eviction that re-checks each blob."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from modelvault_jlab.ids import Sha256
from modelvault_jlab.storage.records import BlobInfo, RepositoryRecord
from modelvault_jlab.storage.sql.audit import AuditStamp
from modelvault_jlab.storage.sql.cache import SqlCacheStore
from modelvault_jlab.storage.sql.metadata import SqlMetadataStore


def _sha(name: str) -> Sha256:
    return Sha256(hashlib.sha256(name.encode()).hexdigest())


@pytest.fixture
def stores(database_url: str) -> Iterator[tuple[SqlMetadataStore, SqlCacheStore]]:
    meta = SqlMetadataStore(database_url)
    cache = SqlCacheStore(meta.database)
    for key in ("r1", "r2"):
        meta.create_repository(RepositoryRecord(key=key, kind="hf-remote"))
    yield meta, cache
    cache.close()
    meta.close()


def test_least_recent_states_and_eviction(
    stores: tuple[SqlMetadataStore, SqlCacheStore],
) -> None:
    meta, cache = stores
    names = ("old", "pinned", "shared", "new")
    meta.register_blobs([BlobInfo(_sha(n), 10 * (i + 1)) for i, n in enumerate(names)])
    for i, n in enumerate(names):
        cache.record("r1", _sha(n), 10 * (i + 1), 100.0 + i)
    cache.record("r2", _sha("shared"), 30, 50.0)
    with meta.database.transaction() as tx:
        tx.execute(
            "INSERT INTO bundle_files(name, sha256, size, created_by, created_at) "
            "VALUES ('f', ?, 20, 't', 0)",
            (_sha("pinned"),),
        )
    cache.record("r1", _sha("gone"), 1000, 1.0)  # its blob is not registered (collected, lost)
    assert cache.used("r1") == 100 and cache.used("r2") == 30

    cache.touch([("r1", _sha("old"), 200.0), ("r1", _sha("new"), 50.0)])  # only forward
    page = cache.least_recent("r1", (float("-inf"), ""), 10)
    assert [(e.sha256, e.state) for e in page] == [
        (_sha("pinned"), "pinned"),
        (_sha("shared"), "shared"),
        (_sha("new"), "alone"),
        (_sha("old"), "alone"),
    ]
    assert cache.least_recent("r1", (page[1].last_access, page[1].sha256), 10) == page[2:]

    stamp = AuditStamp(1.0, "tester")
    # a blob registered again after the cutoff is being written: kept
    assert cache.evict("r1", page, cutoff=0.0, stamp=stamp) == []
    evicted = cache.evict("r1", page, cutoff=1e12, stamp=stamp)
    assert evicted == [_sha("new"), _sha("old")]  # neither pinned nor shared
    assert meta.get_blob(_sha("old")) is None and meta.get_blob(_sha("pinned")) is not None
    cache.drop("r1", [page[1]], stamp)
    assert cache.used("r1") == 20 and cache.used("r2") == 30  # the shared blob stays for r2
    assert meta.get_blob(_sha("shared")) is not None
    events = meta.database.query(
        "SELECT subject, repository FROM audit_events WHERE action = 'cache.evicted'"
    )
    assert sorted(str(e["subject"]) for e in events) == sorted(
        [_sha("new"), _sha("old"), _sha("shared")]
    )
