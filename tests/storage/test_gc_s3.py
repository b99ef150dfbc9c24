"""Garbage collection on the S3 blob store (a real moto_server): through the CLI while a server
runs, racing a writer of the same content, and after a collector killed mid-page."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest
from huggingface_hub import HfApi

from modelvault_jlab.bootstrap import open_vault
from modelvault_jlab.config import VaultSettings
from modelvault_jlab.core.identity import SYSTEM
from modelvault_jlab.core.vault import Vault
from modelvault_jlab.ids import Sha256
from tests.s3_service import S3_ENV, S3Service, start_standalone_on_s3
from tests.servers import cli, running


def _keys(s3: S3Service, bucket: str, prefix: str = "vault/") -> set[str]:
    client: Any = s3.client()
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return {o["Key"] for page in pages for o in page.get("Contents", [])}


def _key(sha: str) -> str:
    return f"vault/sha256/{sha[:2]}/{sha[2:4]}/{sha}"


@pytest.fixture(autouse=True)
def _lfs_without_xet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_DISABLE_XET", True)


def test_gc_on_s3_while_the_server_runs(s3_service: S3Service, tmp_path: Path) -> None:
    server, bucket = start_standalone_on_s3(tmp_path / "vault", s3_service, redirect=False)
    with running(server):
        api = HfApi(endpoint=server.hf_endpoint(), token=server.admin_token)
        kept_repo, dropped_repo = (f"gc/{n}-{uuid.uuid4().hex[:6]}" for n in ("kept", "dropped"))
        kept, dropped = os.urandom(7000), os.urandom(9000)
        for repo, data in ((kept_repo, kept), (dropped_repo, dropped)):
            api.create_repo(repo)
            api.upload_file(path_or_fileobj=data, path_in_repo="w.bin", repo_id=repo)
        api.delete_repo(dropped_repo)
        sha_kept, sha_dropped = (hashlib.sha256(b).hexdigest() for b in (kept, dropped))
        assert {_key(sha_kept), _key(sha_dropped)} <= _keys(s3_service, bucket)

        flags = [
            "--blob-store-url",
            f"s3://{bucket}/vault/",
            "--s3-endpoint-url",
            s3_service.endpoint_url,
            "--s3-region",
            "us-east-1",
        ]
        out = cli(server.data_dir, "gc", "--json", "--grace-seconds", "0", *flags, env=S3_ENV)
        done = json.loads(out)
        assert sha_dropped in done["sample"] and sha_kept not in done["sample"]
        keys = _keys(s3_service, bucket)
        assert _key(sha_dropped) not in keys and _key(sha_kept) in keys
        assert not any("/gc-trash/" in k for k in keys)  # nothing left set aside
        r = httpx.get(
            f"{server.hf_endpoint()}/{kept_repo}/resolve/main/w.bin", headers=server.headers()
        )
        assert r.status_code == 200 and r.content == kept
        events = httpx.get(
            server.api("audit"),
            params={"action": "blob.collected", "limit": 1000},
            headers=server.headers(),
        ).json()["events"]
        assert sha_dropped in {e["subject"] for e in events}


@pytest.fixture
def vault(s3_service: S3Service, tmp_path: Path) -> Iterator[tuple[Vault, str]]:
    bucket = s3_service.new_bucket_name()
    with mock.patch.dict(os.environ, S3_ENV):
        v = open_vault(
            VaultSettings(
                data_dir=str(tmp_path / "vault"),
                blob_store_url=f"s3://{bucket}/vault/",
                s3_endpoint_url=s3_service.endpoint_url,
                s3_region="us-east-1",
                s3_create_bucket=True,
            )
        )
    yield v, bucket
    v.close()


def test_a_writer_storing_the_blob_while_it_is_collected_keeps_it_on_s3(
    vault: tuple[Vault, str], s3_service: S3Service
) -> None:
    v, bucket = vault
    data, other = os.urandom(3000), os.urandom(3000)
    sha = v.content.put_bytes(data).sha256
    gone = v.content.put_bytes(other).sha256
    seen: list[str] = []

    def writer_arrives(candidate: str) -> None:  # both are set aside at this moment
        if candidate == sha:
            seen.append(v.content.put_bytes(data).sha256)

    report = v.gc.collect(SYSTEM, grace_seconds=0, between=writer_arrives)
    assert seen == [sha] and report.collected == 1 and report.kept_in_use == 1
    assert report.sample == [gone]
    with v.blobs.open_reader(Sha256(sha)) as f:
        assert f.read() == data
    keys = _keys(s3_service, bucket)
    assert _key(sha) in keys and _key(gone) not in keys
    assert not any("/gc-trash/" in k for k in keys)


def test_a_killed_collector_on_s3_leaves_nothing_lost(
    vault: tuple[Vault, str], s3_service: S3Service
) -> None:
    v, bucket = vault
    orphan = v.content.put_bytes(b"orphan on s3 " + os.urandom(8))

    class KilledError(Exception):
        pass

    def die(candidate: str) -> None:
        raise KilledError

    with pytest.raises(KilledError):
        v.gc.collect(SYSTEM, grace_seconds=0, between=die)  # set aside, never finished
    keys = _keys(s3_service, bucket)
    assert _key(orphan.sha256) not in keys and any("/gc-trash/" in k for k in keys)
    assert v.content.known(orphan.sha256) is None  # registered, bytes aside: not served

    report = v.gc.collect(SYSTEM, grace_seconds=0)
    assert report.restored_from_trash == 1 and report.sample == [orphan.sha256]
    keys = _keys(s3_service, bucket)
    assert _key(orphan.sha256) not in keys and not any("/gc-trash/" in k for k in keys)
