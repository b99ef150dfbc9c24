"""Cache quotas of remote repositories over HTTP: a second ModelVault is the upstream (through
the counting proxy of ``tests/faulty_upstream.py``); files are read with plain GETs.

Least-recently-read files are evicted when a new one would not fit, files a waiver needs stay,
an evicted file comes back from the upstream, warm reads do not write the database (their times
are flushed before an eviction), ``modelvault gc`` enforces a lowered quota, and every eviction is
audited.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi

from tests.faulty_upstream import FaultyProxy
from tests.remotes import create_hf_remote
from tests.servers import RunningServer, cli, running, start_standalone

SIZE = 40_000


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running(start_standalone(tmp_path_factory.mktemp("quota") / "vault")) as server:
        yield server


@pytest.fixture(scope="module")
def model(upstream: RunningServer) -> tuple[str, dict[str, bytes]]:
    """An upstream model of eight 40 kB files (regular files: cached by their git oid)."""
    api = HfApi(endpoint=upstream.hf_endpoint(), token=upstream.admin_token)
    repo_id = f"up/q-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo_id)
    files = {f"{name}.bin": os.urandom(SIZE) for name in "abcdefgh"}
    card = CommitOperationAdd("README.md", b"---\nlicense: mit\n---\n")
    ops = [card, *(CommitOperationAdd(p, d) for p, d in files.items())]
    api.create_commit(repo_id, ops, commit_message="files")
    return repo_id, files


def _remote(vault: RunningServer, upstream: RunningServer, proxy: FaultyProxy, quota: int) -> str:
    return create_hf_remote(
        vault, upstream, via=proxy.root, prefix="quota", cache_quota_bytes=quota
    )


def _get(vault: RunningServer, key: str, repo_id: str, path: str) -> httpx.Response:
    return httpx.get(
        f"{vault.hf_endpoint(key)}/{repo_id}/resolve/main/{path}",
        headers=vault.headers(),
        timeout=30,
    )


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _stored(vault: RunningServer, data: bytes) -> bool:
    sha = _sha(data)
    return (vault.data_dir / "blobs" / "sha256" / sha[:2] / sha[2:4] / sha).exists()


def _evicted(vault: RunningServer, key: str, files: dict[str, bytes]) -> list[str]:
    """The files evicted from ``key``, oldest first (the model card, also cached, left out)."""
    names = {_sha(data): name for name, data in files.items()}
    events = httpx.get(
        vault.api("audit"),
        params={"action": "cache.evicted", "repository": key, "limit": 1000},
        headers=vault.headers(),
    ).json()["events"]
    return [names[e["subject"]] for e in reversed(events) if e["subject"] in names]


def _last_access(vault: RunningServer, key: str, data: bytes) -> float:
    """The stored last access of a cached file (its entry is written once the file is made
    durable, which the client does not wait for)."""
    deadline = time.monotonic() + 10
    while True:
        with sqlite3.connect(f"file:{vault.data_dir / 'metadata.sqlite3'}?mode=ro", uri=True) as db:
            row = db.execute(
                "SELECT last_access FROM cache_entries WHERE repository = ? AND sha256 = ?",
                (key, _sha(data)),
            ).fetchone()
        if row is not None:
            return float(row[0])
        assert time.monotonic() < deadline, "never recorded"
        time.sleep(0.05)


def test_least_recently_read_files_are_evicted_and_fetched_again(
    vault: RunningServer,
    upstream: RunningServer,
    proxy: FaultyProxy,
    model: tuple[str, dict[str, bytes]],
) -> None:
    repo_id, files = model
    key = _remote(vault, upstream, proxy, quota=int(2.5 * SIZE))  # room for two files
    for name in ("a.bin", "b.bin"):
        assert _get(vault, key, repo_id, name).content == files[name]
    read_at = _last_access(vault, key, files["a.bin"])
    _last_access(vault, key, files["b.bin"])  # b is accounted (a transfer in flight is not)
    before = proxy.requests
    assert _get(vault, key, repo_id, "a.bin").content == files["a.bin"]  # warm: a is now newer
    assert proxy.requests == before  # served from the cache
    assert _last_access(vault, key, files["a.bin"]) == read_at  # noted in memory, not written

    assert _get(vault, key, repo_id, "c.bin").content == files["c.bin"]  # b must go
    assert _evicted(vault, key, files) == ["b.bin"]
    assert not _stored(vault, files["b.bin"])
    assert _stored(vault, files["a.bin"]) and _stored(vault, files["c.bin"])
    assert _last_access(vault, key, files["a.bin"]) > read_at  # flushed before the eviction

    before = proxy.requests
    again = _get(vault, key, repo_id, "b.bin")  # fetched from the upstream again; a goes
    assert again.status_code == 200 and again.content == files["b.bin"]
    assert proxy.requests > before
    assert _evicted(vault, key, files) == ["b.bin", "a.bin"]
    usage = {
        r["key"]: r
        for r in httpx.get(vault.api("usage"), headers=vault.headers()).json()["repositories"]
    }
    assert usage.get(key, {"bytes": 0})["bytes"] <= 2.5 * SIZE


def test_files_a_waiver_needs_stay_and_a_file_over_the_quota_is_refused(
    vault: RunningServer,
    upstream: RunningServer,
    proxy: FaultyProxy,
    model: tuple[str, dict[str, bytes]],
) -> None:
    repo_id, files = model
    key = _remote(vault, upstream, proxy, quota=int(2.5 * SIZE))
    waived = httpx.post(
        vault.api("waivers"),
        json={
            "policy": "malicious-models",
            "sha256": _sha(files["d.bin"]),
            "justification": "kept for the quota test",
            "expires_in_seconds": 600,
        },
        headers=vault.headers(),
    )
    assert waived.status_code == 201, waived.text
    for name in ("d.bin", "e.bin", "f.bin"):  # d is read first, but a waiver needs it
        assert _get(vault, key, repo_id, name).content == files[name]
        _last_access(vault, key, files[name])  # accounted before the next one is fetched
    assert _evicted(vault, key, files) == ["e.bin"]
    assert _stored(vault, files["d.bin"])

    small = _remote(vault, upstream, proxy, quota=SIZE // 2)
    refused = _get(vault, small, repo_id, "g.bin")
    assert refused.status_code == 507, refused.text
    assert "caches at most" in refused.text


def test_gc_enforces_a_lowered_quota(
    vault: RunningServer,
    upstream: RunningServer,
    proxy: FaultyProxy,
    model: tuple[str, dict[str, bytes]],
) -> None:
    repo_id, files = model
    key = _remote(vault, upstream, proxy, quota=10 * SIZE)
    for name in ("g.bin", "h.bin"):
        assert _get(vault, key, repo_id, name).content == files[name]
        _last_access(vault, key, files[name])
    config = httpx.get(vault.api(f"repositories/{key}"), headers=vault.headers()).json()["config"]
    r = httpx.patch(
        vault.api(f"repositories/{key}"),
        json={"config": {**config, "cache_quota_bytes": SIZE}},
        headers=vault.headers(),
    )
    assert r.status_code == 200, r.text
    done = json.loads(cli(vault.data_dir, "gc", "--json"))
    (mine,) = [e for e in done["cache_evictions"] if e["repository"] == key]
    assert mine["evicted"] == 1 and mine["bytes"] == SIZE
    assert _evicted(vault, key, files) == ["g.bin"]  # the least recently read
    assert not _stored(vault, files["g.bin"]) and _stored(vault, files["h.bin"])
    assert _get(vault, key, repo_id, "g.bin").content == files["g.bin"]


def test_a_quota_must_be_a_whole_number_of_bytes(vault: RunningServer) -> None:
    for bad in (-1, 1.5, "10", True):
        r = httpx.post(
            vault.api("repositories"),
            json={
                "key": f"bad-{uuid.uuid4().hex[:6]}",
                "kind": "hf-remote",
                "config": {"upstream": "https://example.org", "cache_quota_bytes": bad},
            },
            headers=vault.headers(),
        )
        assert r.status_code == 400, (bad, r.text)
