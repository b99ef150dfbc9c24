"""Coordination between replicas, in one process: two sets of core objects (two "replicas") on one
SQLite metadata file and one blob folder, as two ``modelvault serve`` processes would share them.
The cross-process behaviour is proven in test_replicas.py; these pin down the protocol."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from modelvault_jlab.bootstrap import open_vault
from modelvault_jlab.config import VaultSettings
from modelvault_jlab.core.content import ContentStore, git_blob_oid
from modelvault_jlab.core.governance.gate import SCAN_LEASE_MIN_BYTES
from modelvault_jlab.core.governance.policy.engine import DEFAULT_POLICIES
from modelvault_jlab.core.hub.refs import HubRef
from modelvault_jlab.core.hub.write import PutFile
from modelvault_jlab.core.identity import SYSTEM
from modelvault_jlab.core.leases import Leases
from modelvault_jlab.core.scanning import ScanEngine
from modelvault_jlab.core.streaming import Flight, StreamThrough
from modelvault_jlab.core.vault import Vault
from modelvault_jlab.errors import PolicyError
from modelvault_jlab.storage.blobs_fs import FsBlobStore
from modelvault_jlab.storage.records import BlobInfo, ScanRecord
from modelvault_jlab.storage.sql.metadata import SqlMetadataStore


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[tuple[SqlMetadataStore, SqlMetadataStore, Path]]:
    """Two connections to one metadata file (one per replica) and the blob folder."""
    a = SqlMetadataStore(tmp_path / "metadata.sqlite3")
    b = SqlMetadataStore(tmp_path / "metadata.sqlite3")
    yield a, b, tmp_path / "blobs"
    a.close()
    b.close()


def test_lease_is_exclusive_renewed_and_taken_over_after_expiry(
    shared: tuple[SqlMetadataStore, SqlMetadataStore, Path],
) -> None:
    meta_a, meta_b = shared[0], shared[1]
    a = Leases(meta_a, ttl_seconds=0.6, holder="a")
    b = Leases(meta_b, ttl_seconds=0.6, holder="b")
    held = a.try_hold("job:x")
    assert held is not None
    assert b.try_hold("job:x") is None
    time.sleep(1.5)  # well past the TTL: the renewer thread kept it
    assert b.try_hold("job:x") is None and not held.lost.is_set()
    held.release()
    taken = b.try_hold("job:x")
    assert taken is not None
    taken.release()
    # A holder that died (acquired, never renewed) loses the lease once its TTL passed.
    assert meta_a.acquire_lease("job:y", "dead", 0.3)
    assert b.try_hold("job:y") is None
    time.sleep(0.5)
    taken = b.try_hold("job:y")
    assert taken is not None
    taken.release()


def test_follow_waits_for_the_holders_result_then_gives_up_after_the_wait(
    shared: tuple[SqlMetadataStore, SqlMetadataStore, Path],
) -> None:
    meta_a, meta_b = shared[0], shared[1]
    follower = Leases(meta_b, ttl_seconds=5, wait_seconds=0.6, holder="b")
    assert meta_a.acquire_lease("fetch:k", "a", 30)
    result: list[str] = []
    threading.Timer(0.2, lambda: result.append("stored")).start()

    turn = asyncio.run(follower.follow("fetch:k", lambda: result[0] if result else None))
    assert turn.result == "stored" and turn.lease is None

    started = time.monotonic()
    turn = follower.follow_blocking("fetch:k", lambda: None)  # held by a live "a": wait, give up
    assert turn.result is None and turn.lease is None
    assert 0.5 < time.monotonic() - started < 3


def _replica(meta: SqlMetadataStore, blobs: Path, name: str) -> StreamThrough:
    return StreamThrough(
        ContentStore(FsBlobStore(blobs), meta), Leases(meta, ttl_seconds=0.6, holder=name)
    )


def test_one_transfer_across_replicas_and_the_follower_serves_the_stored_blob(
    shared: tuple[SqlMetadataStore, SqlMetadataStore, Path],
) -> None:
    meta_a, meta_b, blobs = shared
    content = ContentStore(FsBlobStore(blobs), meta_a)
    data = os.urandom(300_000)
    fetches: list[Flight] = []
    admitted: list[str] = []

    async def fetch(flight: Flight) -> BlobInfo:  # a slow upstream
        fetches.append(flight)
        flight.mark_started()
        for i in range(0, len(data), 50_000):
            await flight.write(data[i : i + 50_000])
            await asyncio.sleep(0.05)
        return await flight.publish(content, None, len(data))

    def stored() -> BlobInfo | None:  # what the mirror asks: is the content cached by now?
        return fetches[0].result if fetches else None

    async def admit(info: BlobInfo) -> None:
        admitted.append(info.sha256)

    async def main() -> tuple[bytes, bytes, bool]:
        a, b = _replica(meta_a, blobs, "a"), _replica(meta_b, blobs, "b")
        flight_a = a.join("k", len(data), fetch, stored=stored, admit=admit)
        await flight_a.started
        flight_b = b.join("k", len(data), fetch, stored=stored, admit=admit)
        await flight_b.started
        got_a = b"".join([c async for c in flight_a.read(0, None, 65536)])
        got_b = b"".join([c async for c in flight_b.read(0, None, 65536)])
        await a.aclose()
        await b.aclose()
        return got_a, got_b, flight_b.adopted

    got_a, got_b, adopted = asyncio.run(main())
    assert got_a == data and got_b == data and adopted
    assert len(fetches) == 1  # one upstream transfer for both replicas
    assert len(admitted) == 1  # the follower judged the blob it adopted


def test_the_follower_takes_over_from_a_dead_holder_and_a_refused_blob_is_never_adopted(
    shared: tuple[SqlMetadataStore, SqlMetadataStore, Path],
) -> None:
    meta_a, meta_b, blobs = shared
    content = ContentStore(FsBlobStore(blobs), meta_b)
    data = b"x" * 1000

    async def fetch(flight: Flight) -> BlobInfo:
        flight.mark_started()
        await flight.write(data)
        return await flight.publish(content, None, len(data))

    async def refuse(info: BlobInfo) -> None:
        raise PolicyError("blocked elsewhere", policy="p", evidence={})

    async def main() -> None:
        b = _replica(meta_b, blobs, "b")
        assert meta_a.acquire_lease("fetch:dead", "a-killed", 0.4)  # a holder that died
        started = time.monotonic()
        flight = b.join("dead", len(data), fetch, stored=lambda: None)
        await flight.started
        assert not flight.adopted and time.monotonic() - started >= 0.3
        assert (await flight.wait()).size == len(data)

        info = content.known(flight.result.sha256)  # type: ignore[union-attr]
        refused = b.join("refused", len(data), fetch, stored=lambda: info, admit=refuse)
        with pytest.raises(PolicyError):
            await refused.started
        await b.aclose()

    asyncio.run(main())


def _vault(data_dir: Path) -> Vault:
    return open_vault(VaultSettings(data_dir=str(data_dir)))


def test_a_large_blob_is_scanned_once_and_a_job_runs_on_one_replica(tmp_path: Path) -> None:
    a, b = _vault(tmp_path / "vault"), _vault(tmp_path / "vault")
    try:
        info = a.content.put_bytes(os.urandom(SCAN_LEASE_MIN_BYTES + 10))
        assert a.meta.acquire_lease(f"scan:{info.sha256}", "replica-a", 30)
        verdict = ScanRecord(
            info.sha256, b.gate.scanner_version, "clean", {"findings": [], "by": "a"}, time.time()
        )
        threading.Timer(0.3, lambda: a.meta.put_scan(verdict)).start()
        assert b.gate.scan(info.sha256).report == {"findings": [], "by": "a"}

        ran: list[str] = []

        async def job(name: str) -> None:
            ran.append(name)
            await asyncio.sleep(0.3)

        async def both() -> list[bool]:
            return list(
                await asyncio.gather(
                    a._run_job("demo", lambda _lease: job("a")),
                    b._run_job("demo", lambda _lease: job("b")),
                )
            )

        assert sorted(asyncio.run(both())) == [False, True]
        assert len(ran) == 1
    finally:
        a.close()
        b.close()


def test_one_thread_of_a_process_scans_a_blob_while_the_others_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = _vault(tmp_path / "vault")
    try:
        info = vault.content.put_bytes(b"plain text, scanned once\n" * 100)
        calls: list[str] = []
        real = ScanEngine.scan_fileobj

        def slow_scan(self: ScanEngine, *args: Any, **kwargs: Any) -> Any:
            calls.append(info.sha256)
            time.sleep(0.3)
            return real(self, *args, **kwargs)

        monkeypatch.setattr(ScanEngine, "scan_fileobj", slow_scan)
        with ThreadPoolExecutor(4) as pool:
            verdicts = set(pool.map(lambda _: vault.gate.scan(info.sha256).verdict, range(4)))
        assert len(calls) == 1 and len(verdicts) == 1
    finally:
        vault.close()


def test_a_base_models_licence_is_judged_at_its_current_head(tmp_path: Path) -> None:
    """Decisions are cached per commit, but a base model's branch moves: a new licence on the
    base model's head applies to its derivatives at their next request."""
    vault = _vault(tmp_path / "vault")
    try:
        vault.gate.set_global_policies(
            SYSTEM,
            [
                {
                    "name": "no-gpl",
                    "kind": "license",
                    "action": "block",
                    "params": {"deny": ["gpl-3.0"]},
                },
                *({"name": p.name, "enabled": False} for p in DEFAULT_POLICIES),
            ],
        )

        def commit(repo_id: str, card: str) -> None:
            ref = HubRef.parse("models", "model", repo_id)
            if vault.meta.get_hub_repo("models", "model", repo_id) is None:
                vault.hub_write.create_repo(SYSTEM, ref)
            data = f"---\n{card}\n---\n".encode()
            info = vault.content.put_bytes(data)
            op = PutFile("README.md", info.sha256, info.size, git_blob_oid(data))
            vault.hub_write.commit(SYSTEM, ref, "main", [op], title="card")

        async def admit() -> list[str]:
            ref = HubRef.parse("models", "model", "org/derived")
            resolved = await vault.hub.resolve(SYSTEM, ref, None)
            entry = vault.hub.file(resolved, "README.md")
            return await vault.judge.admit(SYSTEM, "models", resolved, entry)

        commit("org/base", "license: gpl-3.0")
        commit("org/derived", "license: mit\nbase_model: org/base")
        with pytest.raises(PolicyError, match="its base model"):
            asyncio.run(admit())
        commit("org/base", "license: apache-2.0")  # the base model's head moved
        assert asyncio.run(admit()) == []
    finally:
        vault.close()
