"""Xet reads with blobs on S3 (moto_server) and presigned redirects on: a file uploaded through
Xet downloads through reconstructions and fetch URLs (the xorb's byte ranges read from the
bucket, presigned when the file needs whole xorbs, through signed /cas/fetch URLs otherwise), and the resolve bridge serves it with Range instead of redirecting to an object that
does not exist (a Xet file has no object of its own, only its xorbs)."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download

from tests.s3_service import S3Service, start_standalone_on_s3
from tests.servers import RunningServer, running

MiB = 1 << 20


@pytest.fixture(scope="module")
def on_s3(
    s3_service: S3Service, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    base = tmp_path_factory.mktemp("xet-s3")
    server, _ = start_standalone_on_s3(base / "vault", s3_service, redirect=True)
    with running(server):
        yield server


def test_xet_on_s3(on_s3: RunningServer, tmp_path: Path) -> None:
    server = on_s3
    api = HfApi(endpoint=server.hf_endpoint(), token=server.admin_token)
    repo_id = f"xet/s3-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo_id)
    data = os.urandom(7 * MiB) + bytes(4 * MiB)  # above the inline limit: through Xet
    source = tmp_path / "w.bin"
    source.write_bytes(data)
    api.upload_file(path_or_fileobj=str(source), path_in_repo="w.bin", repo_id=repo_id)
    mark = len(server.log())
    path = hf_hub_download(
        repo_id,
        "w.bin",
        endpoint=server.hf_endpoint(),
        token=server.admin_token,
        cache_dir=tmp_path / "cache",
    )
    assert hashlib.sha256(Path(path).read_bytes()).digest() == hashlib.sha256(data).digest()
    log = server.log()[mark:]
    # the file is the only user of its xorbs: the client reads them from the bucket directly
    # (presigned URLs), the vault serves no xorb byte
    assert "/cas/v2/reconstructions/" in log and "/cas/fetch/" not in log
    # a part of a xorb (here: a range) is never presigned whole: signed /cas/fetch URLs
    token = httpx.get(
        f"{server.hf_endpoint()}/api/models/{repo_id}/xet-read-token/main",
        headers=server.headers(),
    ).json()
    xet_hash = httpx.head(
        f"{server.hf_endpoint()}/{repo_id}/resolve/main/w.bin", headers=server.headers()
    ).headers["X-Xet-Hash"]
    auth = {"Authorization": f"Bearer {token['accessToken']}"}
    whole = httpx.get(f"{token['casUrl']}/v2/reconstructions/{xet_hash}", headers=auth).json()
    urls = [e["url"] for entries in whole["xorbs"].values() for e in entries]
    assert urls and all("/cas/fetch/" not in u and "X-Amz-Signature=" in u for u in urls)
    part = httpx.get(
        f"{token['casUrl']}/v2/reconstructions/{xet_hash}",
        headers={**auth, "Range": "bytes=0-99"},
    ).json()
    urls = [e["url"] for entries in part["xorbs"].values() for e in entries]
    assert urls and all("/cas/fetch/" in u for u in urls)
    got = httpx.get(urls[0], headers={"Range": "bytes=0-99"})
    assert got.status_code == 206
    # the bridge: no redirect to a presigned URL of a missing object, a 206 of the range
    url = f"{server.hf_endpoint()}/{repo_id}/resolve/main/w.bin"
    r = httpx.get(url, headers={**server.headers(), "Range": "bytes=7340000-7340099"})
    assert r.status_code == 206 and r.content == data[7340000:7340100]
