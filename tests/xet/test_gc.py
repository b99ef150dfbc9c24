"""Garbage collection of Xet storage through the real server and the stock clients (hf_xet on):
files uploaded through Xet, a repository deleted, ``modelvault gc``: the dropped files' rows,
their own xorbs (rows, chunk rows, uploader rows, blobs) are gone, a xorb shared with a live file
stays and the live file still downloads through Xet and by plain GET; an upload never committed
survives the grace period and goes after it; a collector killed with SIGKILL mid-run leaves a
consistent store; backup and restore carry the Xet tables and xorbs; the same on S3."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download

from modelvault_jlab.bootstrap import open_vault
from modelvault_jlab.config import VaultSettings
from modelvault_jlab.core.identity import SYSTEM
from modelvault_jlab.core.vault import Vault
from modelvault_jlab.core.xet.assemble import iter_file
from modelvault_jlab.core.xet.hashing import file_hash, hash_to_string
from modelvault_jlab.core.xet.shard import build_upload_shard
from modelvault_jlab.core.xet.xorb import build_xorb, verify_xorb
from modelvault_jlab.errors import StorageError
from modelvault_jlab.ids import Sha256
from modelvault_jlab.storage.records import (
    BlobInfo,
    XetFileRecord,
    XetTermRecord,
    XorbChunkRecord,
    XorbRecord,
)
from modelvault_jlab.storage.sql.xet_gc import SqlXetGcStore
from tests.s3_service import S3_ENV, S3Service, start_standalone_on_s3
from tests.servers import RunningServer, cli, running, start_standalone
from tests.xet.test_write_http import _entry, _file

KiB, MiB = 1024, 1024 * 1024
# Files over 64 KiB go through Xet (the default 10 MiB would make every test file large).
_CONFIG = "c.VaultSettings.regular_upload_max_bytes = 64 * 1024\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    base = tmp_path_factory.mktemp("xet-gc")
    (base / "config.py").write_text(_CONFIG)
    with running(start_standalone(base / "vault", "--config", str(base / "config.py"))) as srv:
        yield srv


def _db(server: RunningServer) -> sqlite3.Connection:
    db = sqlite3.connect(f"file:{server.data_dir / 'metadata.sqlite3'}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    return db


def _rows(server: RunningServer, sql: str, *params: Any) -> list[sqlite3.Row]:
    db = _db(server)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def _blob_path(data_dir: Path, sha: str) -> Path:
    return data_dir / "blobs" / "sha256" / sha[:2] / sha[2:4] / sha


@dataclass(frozen=True)
class XetFile:
    sha256: str
    file_hash: str
    xorbs: frozenset[str]


def _xet_file(server: RunningServer, data: bytes) -> XetFile:
    sha = hashlib.sha256(data).hexdigest()
    rows = _rows(
        server,
        "SELECT f.file_hash, t.xorb_hash FROM xet_files f "
        "JOIN xet_file_terms t ON t.file_hash = f.file_hash WHERE f.sha256 = ?",
        sha,
    )
    assert rows, f"{sha} did not go through Xet"
    return XetFile(sha, rows[0]["file_hash"], frozenset(r["xorb_hash"] for r in rows))


def _xorb_blobs(server: RunningServer, xorbs: frozenset[str]) -> dict[str, str]:
    marks = ",".join("?" * len(xorbs))
    rows = _rows(
        server,
        f"SELECT xorb_hash, blob_sha256 FROM xet_xorbs WHERE xorb_hash IN ({marks})",
        *xorbs,
    )
    return {r["xorb_hash"]: r["blob_sha256"] for r in rows}


def _upload(server: RunningServer, repo_id: str, data: bytes, tmp: Path) -> XetFile:
    api = HfApi(endpoint=server.hf_endpoint(), token=server.admin_token)
    source = tmp / f"{uuid.uuid4().hex}.bin"
    source.write_bytes(data)
    api.upload_file(path_or_fileobj=str(source), path_in_repo="w.bin", repo_id=repo_id)
    return _xet_file(server, data)


def _gc(server: RunningServer, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    return json.loads(cli(server.data_dir, "gc", "--json", *args, env=env))  # type: ignore[no-any-return]


def _write_auth(server: RunningServer, repo_id: str) -> dict[str, str]:
    r = httpx.get(
        f"{server.hf_endpoint()}/api/models/{repo_id}/xet-write-token/main",
        headers=server.headers(),
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['accessToken']}"}


def _uncommitted_upload(server: RunningServer, repo_id: str) -> tuple[XetFile, str]:
    """A xorb and a shard through the CAS, never committed (a client that stopped there).
    Returns the file and the first chunk hash (for a dedup query)."""
    auth = _write_auth(server, repo_id)
    chunks = [os.urandom(20 * KiB) for _ in range(3)]
    data, h = build_xorb(chunks)
    cas = f"{server.hf_endpoint()}/cas"
    r = httpx.post(f"{cas}/v1/xorbs/default/{hash_to_string(h)}", content=data, headers=auth)
    assert r.status_code == 200, r.text
    entry = _entry(data, h)
    shard_file, content = _file([(h, chunks, 0, 3)])
    r = httpx.post(
        f"{cas}/v1/shards", content=build_upload_shard([shard_file], [entry]), headers=auth
    )
    assert r.status_code == 200, r.text
    return _xet_file(server, content), hash_to_string(entry.chunks[0][0])


def _dedup_status(server: RunningServer, repo_id: str, chunk: str) -> int:
    auth = _write_auth(server, repo_id)
    r = httpx.get(f"{server.hf_endpoint()}/cas/v1/chunks/default/{chunk}", headers=auth)
    return r.status_code


def _assert_gone(server: RunningServer, gone: XetFile, xorb_blobs: dict[str, str]) -> None:
    assert not _rows(server, "SELECT 1 FROM xet_files WHERE file_hash = ?", gone.file_hash)
    assert not _rows(server, "SELECT 1 FROM xet_file_terms WHERE file_hash = ?", gone.file_hash)
    assert not _rows(
        server, "SELECT 1 FROM xet_file_repositories WHERE file_hash = ?", gone.file_hash
    )
    assert not _rows(server, "SELECT 1 FROM blobs WHERE sha256 = ?", gone.sha256)
    for xorb, blob in xorb_blobs.items():
        for table in ("xet_xorbs", "xet_xorb_chunks", "xet_xorb_repositories"):
            sql = f"SELECT 1 FROM {table} WHERE xorb_hash = ?"
            assert not _rows(server, sql, xorb), (table, xorb)
        assert not _rows(server, "SELECT 1 FROM blobs WHERE sha256 = ?", blob)
        assert not _blob_path(server.data_dir, blob).exists()


def _assert_downloads(server: RunningServer, repo_id: str, data: bytes, tmp: Path) -> None:
    mark = len(server.log())
    got = hf_hub_download(
        repo_id,
        "w.bin",
        endpoint=server.hf_endpoint(),
        token=server.admin_token,
        cache_dir=tmp / uuid.uuid4().hex,
    )
    assert Path(got).read_bytes() == data
    assert "/cas/v2/reconstructions/" in server.log()[mark:]  # through Xet
    r = httpx.get(f"{server.hf_endpoint()}/{repo_id}/resolve/main/w.bin", headers=server.headers())
    assert r.status_code == 200 and r.content == data  # and by plain GET (the bridge)


def _consistent(server: RunningServer) -> None:
    """What a reader can reach is whole: every registered Xet file's terms name stored xorbs,
    every xorb row (what the dedup index may answer) has its blob registered and its bytes."""
    dangling = _rows(
        server,
        "SELECT t.xorb_hash FROM xet_files f JOIN blobs b ON b.sha256 = f.sha256 "
        "JOIN xet_file_terms t ON t.file_hash = f.file_hash "
        "WHERE NOT EXISTS (SELECT 1 FROM xet_xorbs x WHERE x.xorb_hash = t.xorb_hash)",
    )
    assert not dangling
    for row in _rows(server, "SELECT blob_sha256 FROM xet_xorbs"):
        sha = row["blob_sha256"]
        assert _rows(server, "SELECT 1 FROM blobs WHERE sha256 = ?", sha)
        assert _blob_path(server.data_dir, sha).is_file()
    orphans = _rows(
        server,
        "SELECT c.xorb_hash FROM xet_xorb_chunks c "
        "WHERE NOT EXISTS (SELECT 1 FROM xet_xorbs x WHERE x.xorb_hash = c.xorb_hash)",
    )
    assert not orphans


def test_gc_collects_xet_storage_and_keeps_what_a_live_file_shares(
    server: RunningServer, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    keep, drop = f"gc/keep-{tag}", f"gc/drop-{tag}"
    api = HfApi(endpoint=server.hf_endpoint(), token=server.admin_token)
    for repo in (keep, drop):
        api.create_repo(repo)
    kept_data = os.urandom(MiB + 3 * KiB)
    kept = _upload(server, keep, kept_data, tmp_path)
    # shares kept's first 512 KiB: the dedup query answers kept's xorb for those chunks
    dropped_data = kept_data[: 512 * KiB] + os.urandom(MiB)
    dropped = _upload(server, drop, dropped_data, tmp_path)
    shared = kept.xorbs & dropped.xorbs
    own = dropped.xorbs - kept.xorbs
    assert shared and own, (kept, dropped)
    pending, pending_chunk = _uncommitted_upload(server, keep)
    own_blobs = _xorb_blobs(server, own | pending.xorbs)
    kept_blobs = _xorb_blobs(server, kept.xorbs)
    api.delete_repo(drop)

    young = _gc(server)  # the default grace period: everything here is an upload in flight
    assert young["xet_files"] == young["xorbs"] == 0
    assert _dedup_status(server, keep, pending_chunk) == 200
    preview = _gc(server, "--dry-run", "--grace-seconds", "0")
    assert preview["xet_files"] >= 2 and preview["xorbs"] >= len(own_blobs)
    assert all(_blob_path(server.data_dir, b).exists() for b in own_blobs.values())

    done = _gc(server, "--grace-seconds", "0")
    assert done["xet_files"] >= 2 and done["xorbs"] >= len(own_blobs)
    assert done["xorb_bytes"] > MiB
    _assert_gone(server, dropped, {x: own_blobs[x] for x in own})
    _assert_gone(server, pending, {x: own_blobs[x] for x in pending.xorbs})
    assert _dedup_status(server, keep, pending_chunk) == 404  # no answer names a deleted xorb
    for blob in kept_blobs.values():  # the shared xorb included
        assert _blob_path(server.data_dir, blob).is_file()
    assert _xorb_blobs(server, kept.xorbs) == kept_blobs
    _assert_downloads(server, keep, kept_data, tmp_path)
    _consistent(server)
    again = _gc(server, "--grace-seconds", "0")
    assert again["xet_files"] == again["xorbs"] == again["collected"] == 0


_KILLER = """
import os, signal, sys
from modelvault_jlab.bootstrap import open_vault
from modelvault_jlab.config import VaultSettings
from modelvault_jlab.core.identity import SYSTEM

targets = set(sys.argv[2:])
vault = open_vault(VaultSettings(data_dir=sys.argv[1]))

def between(sha):  # set aside, not yet unregistered: the worst moment
    if not targets or sha in targets:
        os.kill(os.getpid(), signal.SIGKILL)

vault.gc.collect(SYSTEM, grace_seconds=0, between=between)
"""


@pytest.mark.parametrize("moment", ["blob pass", "xorb blobs"])
def test_a_collector_killed_mid_run_leaves_a_consistent_store(
    server: RunningServer, tmp_path: Path, moment: str
) -> None:
    tag = uuid.uuid4().hex[:6]
    keep, drop = f"gc/kill-keep-{tag}", f"gc/kill-drop-{tag}"
    api = HfApi(endpoint=server.hf_endpoint(), token=server.admin_token)
    for repo in (keep, drop):
        api.create_repo(repo)
    kept_data = os.urandom(300 * KiB)
    _upload(server, keep, kept_data, tmp_path)
    dropped = _upload(server, drop, os.urandom(400 * KiB), tmp_path)
    blobs = _xorb_blobs(server, dropped.xorbs)
    api.delete_repo(drop)
    targets = [] if moment == "blob pass" else list(blobs.values())
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    proc = subprocess.run(
        [sys.executable, "-c", _KILLER, str(server.data_dir), *targets], env=env, check=False
    )
    assert proc.returncode == -signal.SIGKILL
    _consistent(server)
    _assert_downloads(server, keep, kept_data, tmp_path)
    _gc(server, "--grace-seconds", "0")  # the next run finishes the job
    _assert_gone(server, dropped, blobs)
    assert not list((server.data_dir / "blobs" / "gc-trash").iterdir())
    _consistent(server)
    _assert_downloads(server, keep, kept_data, tmp_path)


def test_backup_and_restore_carry_xet_storage(server: RunningServer, tmp_path: Path) -> None:
    repo = f"gc/backup-{uuid.uuid4().hex[:6]}"
    HfApi(endpoint=server.hf_endpoint(), token=server.admin_token).create_repo(repo)
    data = os.urandom(200 * KiB)
    stored = _upload(server, repo, data, tmp_path)
    out = json.loads(cli(server.data_dir, "backup", str(tmp_path / "backup"), "--json"))
    xorb_blobs = set(_xorb_blobs(server, stored.xorbs).values())
    manifest = json.loads((tmp_path / "backup" / "MANIFEST.json").read_text())
    copied = {sha for sha, _ in manifest["blobs"]}
    assert xorb_blobs <= copied and stored.sha256 not in copied  # its bytes are its xorbs'
    assert out["blobs"] == len(copied)
    target = tmp_path / "restored"
    cli(target, "restore", str(tmp_path / "backup"))
    with running(start_standalone(target)) as restored:
        _assert_downloads(restored, repo, data, tmp_path)


def test_gc_of_xet_storage_on_s3(s3_service: S3Service, tmp_path: Path) -> None:
    server, bucket = start_standalone_on_s3(tmp_path / "vault", s3_service, redirect=False)
    flags = [
        "--blob-store-url",
        f"s3://{bucket}/vault/",
        "--s3-endpoint-url",
        s3_service.endpoint_url,
        "--s3-region",
        "us-east-1",
    ]
    with running(server):
        api = HfApi(endpoint=server.hf_endpoint(), token=server.admin_token)
        keep, drop = "gc/s3-keep", "gc/s3-drop"
        for repo in (keep, drop):
            api.create_repo(repo)
        kept_data = os.urandom(11 * MiB)  # over the default inline limit: through Xet
        kept = _upload(server, keep, kept_data, tmp_path)
        dropped = _upload(server, drop, os.urandom(11 * MiB), tmp_path)
        own = _xorb_blobs(server, dropped.xorbs - kept.xorbs)
        kept_blobs = _xorb_blobs(server, kept.xorbs)
        api.delete_repo(drop)
        keys = _s3_keys(s3_service, bucket)
        assert {_s3_key(b) for b in own.values()} <= keys
        done = _gc(server, "--grace-seconds", "0", *flags, env=S3_ENV)
        assert done["xet_files"] >= 1 and done["xorbs"] >= len(own)
        keys = _s3_keys(s3_service, bucket)
        assert not {_s3_key(b) for b in own.values()} & keys
        assert {_s3_key(b) for b in kept_blobs.values()} <= keys
        assert not any("/gc-trash/" in k for k in keys)
        r = httpx.get(f"{server.hf_endpoint()}/{keep}/resolve/main/w.bin", headers=server.headers())
        assert r.status_code == 200 and r.content == kept_data


def _s3_keys(s3: S3Service, bucket: str) -> set[str]:
    client: Any = s3.client()
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="vault/")
    return {o["Key"] for page in pages for o in page.get("Contents", [])}


def _s3_key(sha: str) -> str:
    return f"vault/sha256/{sha[:2]}/{sha[2:4]}/{sha}"


# -- races, in process (the moments that matter are reached through the collector's own store) --
@pytest.fixture(params=["sqlite", "postgresql"])
def vault(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Vault]:
    url = str(request.getfixturevalue("postgres_url")) if request.param == "postgresql" else ""
    v = open_vault(VaultSettings(data_dir=str(tmp_path / "vault"), database_url=url))
    yield v
    v.close()


def _stored_file(vault: Vault) -> tuple[XetFileRecord, bytes]:
    """A Xet file over its own xorb, registered as an upload is, named by no commit."""
    chunks = [os.urandom(10_000) for _ in range(3)]
    data, h = build_xorb(chunks)
    verified = verify_xorb(data, h)
    blob = vault.content.put_bytes(data)
    xorb = hash_to_string(h)
    rows = [
        XorbChunkRecord(i, hash_to_string(c.hash), c.raw_start, c.raw_len, c.ser_start, c.ser_end)
        for i, c in enumerate(verified.chunks)
    ]
    meta: Any = vault.meta
    meta.put_xorb(XorbRecord(xorb, blob.sha256, len(data), verified.raw_len, 3), rows, "models")
    content = b"".join(chunks)
    fh = hash_to_string(file_hash([(c.hash, c.raw_len) for c in verified.chunks]))
    sha = Sha256(hashlib.sha256(content).hexdigest())
    record = XetFileRecord(fh, sha, len(content), (XetTermRecord(xorb, 0, 3, len(content)),))
    meta.put_xet_file(record, "models")
    meta.register_blob(BlobInfo(sha, len(content)))
    return record, content


def test_a_file_registered_again_while_it_is_collected_stays_whole(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    record, content = _stored_file(vault)
    meta: Any = vault.meta
    forget_files = SqlXetGcStore.forget_files

    def writer_interleaves(self: SqlXetGcStore, hashes: Any, cutoff: float) -> list[str]:
        # the blob pass unregistered the file's sha256; its uploader sends the same shard now:
        # the file row is written before the collector's delete, the blob registered after it
        meta.put_xet_file(record, "models")
        gone = forget_files(self, hashes, cutoff)
        meta.register_blob(BlobInfo(record.sha256, record.size))
        return gone

    monkeypatch.setattr(SqlXetGcStore, "forget_files", writer_interleaves)
    report = vault.gc.collect(SYSTEM, grace_seconds=0)
    assert report.xet.files == 0 and report.xet.xorbs == 0
    assert meta.xet_file_for_sha256(record.sha256) == record
    assert b"".join(iter_file(meta, vault.blobs, record.terms)) == content


def test_a_shard_naming_a_collected_xorb_fails_cleanly(vault: Vault) -> None:
    record, _ = _stored_file(vault)
    meta: Any = vault.meta
    report = vault.gc.collect(SYSTEM, grace_seconds=0)
    assert report.xet.files == 1 and report.xet.xorbs == 1
    assert meta.get_xorb(record.terms[0].xorb_hash) is None
    # a client that was told (by a dedup answer) the xorb is there sends its shard now
    with pytest.raises(StorageError, match="garbage-collected"):
        meta.put_xet_file(record, "models")
    assert meta.xet_file_for_sha256(record.sha256) is None
