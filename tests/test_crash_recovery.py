"""SIGKILL in the middle of a multi-GB upload, then a restart on the same data folder.

No partial blob is ever served, every committed file still downloads and verifies, and the
partial upload's temp file is cleaned up at start-up.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from huggingface_hub import HfApi, hf_hub_download

from tests.servers import start_standalone

ANNOUNCED = 3 * 1024**3  # what the client claims to send
SENT_BEFORE_KILL = 384 * 1024**2


def _sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def test_sigkill_mid_upload_then_restart(tmp_path: Path, monkeypatch: object) -> None:
    data_dir = tmp_path / "vault"
    server = start_standalone(data_dir)
    port = server.port
    try:
        api = HfApi(endpoint=server.hf_endpoint(), token=server.admin_token)
        api.create_repo("crash/model")
        committed = {"config.json": b'{"a": 1}', "weights.bin": os.urandom(3 << 20)}
        for path, data in committed.items():
            api.upload_file(path_or_fileobj=data, path_in_repo=path, repo_id="crash/model")

        # An LFS upload of a "3 GiB" object, cut by SIGKILL after a few hundred MB.
        oid = hashlib.sha256(b"the object that never finishes").hexdigest()
        batch = httpx.post(
            f"{server.hf_endpoint()}/crash/model.git/info/lfs/objects/batch",
            json={"operation": "upload", "objects": [{"oid": oid, "size": ANNOUNCED}]},
            headers=server.headers(),
        ).json()
        href = urlsplit(batch["objects"][0]["actions"]["upload"]["href"])
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(
            f"PUT {href.path}?{href.query} HTTP/1.1\r\nHost: x\r\n"
            f"Content-Length: {ANNOUNCED}\r\n\r\n".encode()
        )
        block = os.urandom(1 << 20)
        for _ in range(SENT_BEFORE_KILL // len(block)):
            sock.sendall(block)
        tmp_dir = data_dir / "blobs" / "tmp"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            partial = list(tmp_dir.iterdir())
            if partial and partial[0].stat().st_size >= SENT_BEFORE_KILL // 2:
                break
            time.sleep(0.1)
        assert partial, "the upload should be streaming into a temp file"
        server.kill()  # SIGKILL, mid-write
        sock.close()
        assert list(tmp_dir.iterdir()), "a killed writer leaves its temp file behind…"

        restarted = start_standalone(data_dir, port=port)
        try:
            assert list(tmp_dir.iterdir()) == [], "…which the restarted server removes"
            assert not (data_dir / "blobs" / "sha256" / oid[:2] / oid[2:4] / oid).exists()
            # the object is not known: a new batch asks for the whole upload again
            again = httpx.post(
                f"{restarted.hf_endpoint()}/crash/model.git/info/lfs/objects/batch",
                json={"operation": "upload", "objects": [{"oid": oid, "size": ANNOUNCED}]},
                headers=restarted.headers(),
            ).json()
            assert "actions" in again["objects"][0]
            # committed files download and verify
            for path, data in committed.items():
                local = hf_hub_download(
                    "crash/model",
                    path,
                    endpoint=restarted.hf_endpoint(),
                    token=restarted.admin_token,
                    cache_dir=tmp_path / "cache",
                )
                assert _sha256(local) == hashlib.sha256(data).hexdigest()
            # and every stored blob still hashes to its name
            for blob in (data_dir / "blobs" / "sha256").rglob("*"):
                if blob.is_file():
                    assert _sha256(blob) == blob.name
        finally:
            restarted.kill()
    finally:
        if server.alive():
            server.kill()
