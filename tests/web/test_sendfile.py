"""Large downloads leave by ``sendfile`` (the kernel copies, the event loop stays free): exact bytes,
ranges, real clients, and the failures — a blob cut short on disk, a client that leaves mid-body."""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from huggingface_hub import HfApi, hf_hub_download

from tests.servers import RunningServer

BIG = 3 * 1024 * 1024 + 17  # above the 1 MiB threshold, not a multiple of any piece size
SMALL = 100 * 1024


def _repo_with(server: RunningServer, files: dict[str, bytes]) -> str:
    api = HfApi(endpoint=server.hf_endpoint(), token=server.admin_token)
    repo_id = f"sendfile/r-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo_id)
    for name, data in files.items():
        api.upload_file(path_or_fileobj=data, path_in_repo=name, repo_id=repo_id)
    return repo_id


def test_large_files_are_sent_whole_and_exact_small_ones_keep_the_connection(
    server: RunningServer, tmp_path: Path
) -> None:
    big, small = os.urandom(BIG), os.urandom(SMALL)
    repo_id = _repo_with(server, {"big.bin": big, "small.bin": small})
    base = f"{server.hf_endpoint()}/{repo_id}/resolve/main"
    with httpx.Client(headers=server.headers(), timeout=30) as client:
        whole = client.get(f"{base}/big.bin")
        assert whole.status_code == 200
        assert whole.content == big
        assert whole.headers["content-length"] == str(BIG)
        assert whole.headers["connection"] == "close"  # sendfile hands the socket over
        part = client.get(f"{base}/big.bin", headers={"Range": "bytes=1000-2100999"})
        assert part.status_code == 206
        assert part.content == big[1000:2101000]
        assert part.headers["content-range"] == f"bytes 1000-2100999/{BIG}"
        tail = client.get(f"{base}/big.bin", headers={"Range": "bytes=-5"})
        assert tail.content == big[-5:]
        head = client.head(f"{base}/big.bin")
        assert head.status_code == 200 and head.content == b""
        kept = client.get(f"{base}/small.bin")
        assert kept.content == small
        assert kept.headers.get("connection", "keep-alive") != "close"
    path = hf_hub_download(
        repo_id,
        "big.bin",
        endpoint=server.hf_endpoint(),
        token=server.admin_token,
        cache_dir=tmp_path / "hf",
    )
    assert Path(path).read_bytes() == big


def test_a_blob_cut_short_on_disk_is_an_error_never_a_short_file(
    standalone_server: RunningServer,
) -> None:
    data = os.urandom(2 * BIG)
    repo_id = _repo_with(standalone_server, {"cut.bin": data})
    (blob,) = standalone_server.data_dir.rglob(hashlib.sha256(data).hexdigest())
    blob.chmod(0o644)
    with blob.open("r+b") as f:
        f.truncate(len(data) // 2)
    url = f"{standalone_server.hf_endpoint()}/{repo_id}/resolve/main/cut.bin"
    response = httpx.get(url, headers=standalone_server.headers(), timeout=30)
    assert response.status_code == 500  # before any byte of the file: a clean error
    assert response.headers["content-type"].startswith("application/json")
    assert f"blob {hashlib.sha256(data).hexdigest()} is truncated" in standalone_server.log()


def test_a_client_leaving_mid_body_does_not_disturb_the_server(
    standalone_server: RunningServer,
) -> None:
    data = os.urandom(3 * BIG)  # inline upload (< 10 MiB); most of it still unsent at the reset
    repo_id = _repo_with(standalone_server, {"left.bin": data})
    path = f"/modelvault/hf/models/{repo_id}/resolve/main/left.bin"
    parts = urlsplit(standalone_server.url)
    log_before = len(standalone_server.log())
    for _ in range(3):
        with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
            token = standalone_server.admin_token
            sock.sendall(
                f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
            )
            received = b""
            while b"\r\n\r\n" not in received:
                received += sock.recv(65536)
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
        # the socket is reset with most of the body unsent
    again = httpx.get(
        f"{standalone_server.hf_endpoint()}/{repo_id}/resolve/main/left.bin",
        headers=standalone_server.headers(),
        timeout=30,
    )
    assert again.content == data
    assert "Traceback" not in standalone_server.log()[log_before:]
