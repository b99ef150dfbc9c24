"""Faults of a Xet upstream during a cold fetch through the remote cache: each ends in a precise
error (or, for a plan refused up front, the plain HTTP path), nothing of the failed file is
cached, and what was cached before still reads back intact.

Real parts: a real (stub) upstream over HTTP, the real ``HfUpstream`` and httpx client, the
real metadata store and blob store of a vault; only the upstream lies."""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from modelvault_jlab.bootstrap import open_vault
from modelvault_jlab.config import VaultSettings
from modelvault_jlab.core.vault import Vault
from modelvault_jlab.core.xet.assemble import iter_file
from modelvault_jlab.errors import UpstreamUnavailableError
from modelvault_jlab.storage.sql.store import SqlDatabase
from modelvault_jlab.upstream.hf_http import HfUpstreams
from tests.xet.xet_upstream_stub import StubFile, XetUpstreamStub, serving

KEY = "stub-remote"
CHUNK = 16 * 1024


@dataclass
class World:
    stub: XetUpstreamStub
    vault: Vault
    base: StubFile
    tuned: StubFile
    tmp: Path

    def get(self, path: str) -> bytes:
        """A cold fetch of ``path`` through the remote cache, as the mirror consumes it."""

        async def run() -> bytes:
            upstreams = HfUpstreams()
            upstreams.xet_caches = self.vault.xet_cache
            upstream = upstreams(self.stub.url, "hub-token", 10.0, None, KEY)
            try:
                out = bytearray()
                async with upstream.open_file("model", "org/m", "c0", path) as body:
                    async for piece in body.chunks:
                        out += piece
                return bytes(out)
            finally:
                await upstreams.aclose()

        return asyncio.run(run())

    def counts(self) -> tuple[int, ...]:
        """Rows of the Xet cache and files in the blob store (temp files included)."""
        db = self.vault.meta
        assert isinstance(db, SqlDatabase)
        tables = ("xet_upstream_segments", "xet_xorbs", "xet_xorb_chunks", "xet_files", "blobs")
        rows = tuple(int(db._query(f"SELECT COUNT(*) AS n FROM {t}")[0]["n"]) for t in tables)
        files = sum(
            1 for p in (self.tmp / "vault").rglob("*") if p.is_file() and "sqlite" not in p.name
        )
        return (*rows, files)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("xet-faults")
    rng = random.Random(7)
    stub = XetUpstreamStub()
    base_x = stub.add_xorb([rng.randbytes(CHUNK) for _ in range(12)])
    new_y = stub.add_xorb([rng.randbytes(CHUNK) for _ in range(2)])
    new_z = stub.add_xorb([rng.randbytes(CHUNK) for _ in range(3)])
    base = stub.add_file("base.bin", [(base_x, 0, 12)])
    tuned = stub.add_file("tuned.bin", [(base_x, 0, 5), (new_y, 0, 2), (base_x, 7, 12)])
    stub.add_file("other.bin", [(base_x, 2, 6), (new_z, 0, 3)])
    vault = open_vault(VaultSettings(data_dir=str(tmp / "vault")))
    vault.repositories.ensure(KEY, "hf-remote")
    with serving(stub):
        w = World(stub, vault, base, tuned, tmp)
        assert w.get("base.bin") == base.data  # the base is cached: 12 chunks of xorb X
        yield w
    vault.close()


@pytest.fixture
def faulty(world: World) -> Iterator[World]:
    before = world.counts()
    world.stub.plans = world.stub.fetched = 0
    yield world
    world.stub.fault = ""
    assert world.counts() == before, "a failed fetch left something cached"
    # what was cached before is intact: the base file reads back from its local xorbs
    record = world.vault.meta.xet_file(world.base.file_hash)
    assert record is not None
    assert b"".join(iter_file(world.vault.meta, world.vault.blobs, record.terms)) == (
        world.base.data
    )


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("bad-chunk", "the chunks do not hash to the file's Xet hash"),
        ("403", "HTTP 403 again after a fresh reconstruction"),
        ("stop", "xorb fetch: RemoteProtocolError"),
        ("range-not-holding", "the range does not hold the term's chunks"),
        ("absurd-chunks", "the range does not hold the term's chunks"),
    ],
)
def test_a_fault_mid_fetch_is_a_precise_error_and_caches_nothing(
    faulty: World, fault: str, message: str
) -> None:
    faulty.stub.fault = fault
    with pytest.raises(UpstreamUnavailableError, match="Xet transfer failed") as err:
        faulty.get("tuned.bin")
    assert message in str(err.value)
    if fault == "403":
        assert faulty.stub.plans == 2  # re-queried once, then failed


def test_an_expired_fetch_url_is_requeried_once(world: World) -> None:
    world.stub.fault, world.stub.plans = "403-once", 0
    try:
        assert world.get("other.bin") == world.stub.files["other.bin"].data
    finally:
        world.stub.fault = ""
    assert world.stub.plans == 2


@pytest.mark.parametrize("fault", ["lie-sizes", "absurd-range"])
def test_a_lying_plan_is_refused_before_any_fetch(faulty: World, fault: str) -> None:
    # refused up front (bounded checks, nothing allocated from its numbers): the file then
    # comes over plain HTTP, checked by the mirror's sha256, and nothing goes into the Xet cache
    faulty.stub.fault = fault
    data = faulty.get("tuned.bin")
    assert hashlib.sha256(data).digest() == hashlib.sha256(faulty.tuned.data).digest()
    assert faulty.stub.fetched == 0


def test_a_fine_tune_fetches_only_its_new_xorb_and_is_cached(world: World) -> None:
    # (last: it caches the tuned file, which the faults above must not have done)
    world.stub.fetched = 0
    assert world.get("tuned.bin") == world.tuned.data
    y = world.tuned.terms[1][0]
    assert world.stub.fetched == len(world.stub.xorbs[y].serialized)
    assert world.vault.meta.xet_file(world.tuned.file_hash) is not None
    world.stub.fetched = 0
    assert world.get("tuned.bin") == world.tuned.data  # every term from the cache now
    assert world.stub.fetched == 0


def test_a_lost_cached_xorb_fails_a_later_fetch_cleanly(world: World) -> None:
    # (last: it damages the cache) the blob of the base's local xorb is gone, its rows are not
    record = world.vault.meta.xet_file(world.base.file_hash)
    assert record is not None
    xorb = world.vault.meta.get_xorb(record.terms[0].xorb_hash)
    assert xorb is not None
    world.vault.blobs.delete(xorb.blob_sha256)
    with pytest.raises(UpstreamUnavailableError, match="Xet transfer failed") as err:
        world.get("tuned.bin")  # every term of it is cached, in that xorb
    assert "cached chunks" in str(err.value)
