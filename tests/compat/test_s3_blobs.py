"""A standalone server with its blobs on S3 (moto_server), with the stock huggingface_hub.

With redirects on, a cached file the gate admitted is answered with a 302 to a presigned URL of
the object store, carrying the Hub metadata on the 3xx itself (the client does not follow a
cross-origin redirect on HEAD); the bytes then come from S3, not from the server. With redirects
off the same downloads are streamed by the server. A blocked file is never redirected.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download

from tests.governance.test_product_story import malicious_pickle
from tests.s3_service import S3Service, start_standalone_on_s3
from tests.servers import RunningServer, mint_token, running

MiB = 1 << 20


@pytest.fixture(scope="module")
def on_s3(
    s3_service: S3Service, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[bool, tuple[RunningServer, str]]]:
    """Two servers on S3, keyed by whether downloads are redirected."""
    base = tmp_path_factory.mktemp("s3-vaults")
    redirecting = start_standalone_on_s3(base / "redirect", s3_service, redirect=True)
    with running(redirecting[0]):
        streaming = start_standalone_on_s3(base / "stream", s3_service, redirect=False)
        with running(streaming[0]):
            yield {True: redirecting, False: streaming}


@pytest.fixture(autouse=True)
def _lfs_without_xet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_DISABLE_XET", True)


def _objects(s3_service: S3Service, bucket: str) -> list[str]:
    client: Any = s3_service.client()
    return [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]


def _upload(server: RunningServer, data: bytes, path: str) -> tuple[str, str]:
    api = HfApi(endpoint=server.hf_endpoint(), token=server.admin_token)
    repo_id = f"team/s3-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo_id)
    info = api.upload_file(path_or_fileobj=data, path_in_repo=path, repo_id=repo_id)
    return repo_id, info.oid


@pytest.mark.parametrize("redirect", [True, False])
def test_lfs_file_roundtrip_on_s3(
    on_s3: dict[bool, tuple[RunningServer, str]],
    s3_service: S3Service,
    tmp_path: Path,
    redirect: bool,
) -> None:
    server, bucket = on_s3[redirect]
    data = os.urandom(11 * MiB)  # above the inline limit: a Git LFS upload, in S3 parts
    sha = hashlib.sha256(data).hexdigest()
    repo_id, commit = _upload(server, data, "model.safetensors")
    assert f"vault/sha256/{sha[:2]}/{sha[2:4]}/{sha}" in _objects(s3_service, bucket)

    url = f"{server.hf_endpoint()}/{repo_id}/resolve/main/model.safetensors"
    head = httpx.head(url, headers=server.headers())
    if redirect:
        # The metadata rides on the 3xx; the target is the S3 server, another origin.
        assert head.status_code == 302, head.text
        location = urlsplit(head.headers["location"])
        assert f"{location.hostname}:{location.port}" == s3_service.host
        assert "X-Amz-Signature=" in head.headers["location"]
        assert head.headers["x-repo-commit"] == commit
        assert head.headers["x-linked-etag"] == f'"{sha}"' and head.headers["etag"] == f'"{sha}"'
        assert head.headers["x-linked-size"] == str(len(data))
        assert not [h for h in head.headers if h.lower().startswith("x-xet")]
        get = httpx.get(url, headers=server.headers())
        assert get.status_code == 302
        direct = httpx.get(get.headers["location"])  # no Authorization, as the client does
        assert direct.status_code == 200 and direct.content == data
    else:
        assert head.status_code == 200 and head.headers["x-linked-size"] == str(len(data))
        assert "location" not in head.headers

    got = hf_hub_download(
        repo_id,
        "model.safetensors",
        endpoint=server.hf_endpoint(),
        token=server.admin_token,
        cache_dir=tmp_path / "hf-cache",
    )
    assert hashlib.sha256(Path(got).read_bytes()).hexdigest() == sha


def test_blocked_file_is_never_redirected(on_s3: dict[bool, tuple[RunningServer, str]]) -> None:
    server, _ = on_s3[True]
    repo_id, _ = _upload(server, malicious_pickle(), "model.pkl")  # stored, in quarantine
    url = f"{server.hf_endpoint()}/{repo_id}/resolve/main/model.pkl"
    for method in ("HEAD", "GET"):
        r = httpx.request(method, url, headers=server.headers())
        assert r.status_code == 403, (method, r.status_code)
        assert r.headers["x-error-code"] == "GatedRepo" and "location" not in r.headers
        assert "malicious" in r.headers["x-error-message"]


def test_cold_remote_file_streams_through_then_redirects(
    on_s3: dict[bool, tuple[RunningServer, str]], s3_service: S3Service, tmp_path: Path
) -> None:
    """An hf-remote file is streamed while it is written to S3 (spool, parts to a staging key,
    server-side copy once verified); once cached, the next download is redirected."""
    vault, bucket = on_s3[True]
    upstream, _ = on_s3[False]
    data = os.urandom(12 * MiB)
    sha = hashlib.sha256(data).hexdigest()
    api = HfApi(endpoint=upstream.hf_endpoint(), token=upstream.admin_token)
    repo_id = f"acme/remote-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo_id)
    api.upload_file(
        path_or_fileobj=b"---\nlicense: apache-2.0\n---\n",
        path_in_repo="README.md",
        repo_id=repo_id,
    )
    api.upload_file(path_or_fileobj=data, path_in_repo="model.safetensors", repo_id=repo_id)
    key = f"remote-{uuid.uuid4().hex[:6]}"
    r = httpx.post(
        vault.api("repositories"),
        json={
            "key": key,
            "kind": "hf-remote",
            "config": {
                "upstream": upstream.hf_endpoint(),
                "upstream_token": mint_token(upstream.data_dir, "read", "mirror"),
            },
        },
        headers=vault.headers(),
    )
    assert r.status_code == 201, r.text

    url = f"{vault.hf_endpoint(key)}/{repo_id}/resolve/main/model.safetensors"
    assert httpx.head(url, headers=vault.headers()).status_code == 200  # cold: served here
    got = hf_hub_download(
        repo_id,
        "model.safetensors",
        endpoint=vault.hf_endpoint(key),
        token=vault.admin_token,
        cache_dir=tmp_path / "first",
    )
    assert hashlib.sha256(Path(got).read_bytes()).hexdigest() == sha
    # The client has its last byte once the content verified; publishing (completing the upload,
    # copying it to its final key) follows.
    final = f"vault/sha256/{sha[:2]}/{sha[2:4]}/{sha}"
    deadline = time.monotonic() + 60
    while True:
        objects = _objects(s3_service, bucket)
        staging = [k for k in objects if "/tmp/" in k]  # copied to the final key, then deleted
        if final in objects and not staging:
            break
        assert time.monotonic() < deadline, objects
        time.sleep(0.2)

    head = httpx.head(url, headers=vault.headers())  # cached now: redirected
    assert head.status_code == 302 and head.headers["x-linked-etag"] == f'"{sha}"'
    got = hf_hub_download(
        repo_id,
        "model.safetensors",
        endpoint=vault.hf_endpoint(key),
        token=vault.admin_token,
        cache_dir=tmp_path / "second",
    )
    assert hashlib.sha256(Path(got).read_bytes()).hexdigest() == sha
