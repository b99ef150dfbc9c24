"""Multipart LFS uploads (the Hub's transfer for files over 5 GB), exercised with a small
threshold set through the standalone server's config file."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download

from tests.servers import running, start_standalone

MiB = 1024 * 1024


def test_multipart_upload_roundtrip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "jupyter_modelvault_config.py"
    config.write_text(
        "c.VaultSettings.lfs_multipart_threshold_bytes = 16 * 1024 * 1024\n"
        "c.VaultSettings.lfs_part_size_bytes = 5 * 1024 * 1024\n"
    )
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_DISABLE_XET", True)
    with running(start_standalone(tmp_path / "vault", "--config", str(config))) as server:
        api = HfApi(endpoint=server.hf_endpoint(), token=server.admin_token)
        api.create_repo("mp/model")
        data = os.urandom(17 * MiB + 123)  # 4 parts: 5+5+5+2 MiB(+123 bytes)
        src = tmp_path / "weights.bin"
        src.write_bytes(data)
        api.upload_file(path_or_fileobj=str(src), path_in_repo="weights.bin", repo_id="mp/model")
        got = hf_hub_download(
            "mp/model",
            "weights.bin",
            endpoint=server.hf_endpoint(),
            token=server.admin_token,
            cache_dir=tmp_path / "cache",
        )
        assert (
            hashlib.sha256(Path(got).read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
        )
        # parts were temporary blobs: only the assembled object (and small files) remain
        stored = [p for p in (server.data_dir / "blobs" / "sha256").rglob("*") if p.is_file()]
        assert sum(p.stat().st_size for p in stored) < len(data) + MiB

        # a completion that lists parts out of order, or a part of the wrong size, is refused
        oid = hashlib.sha256(b"another" + data).hexdigest()
        batch = httpx.post(
            f"{server.hf_endpoint()}/mp/model.git/info/lfs/objects/batch",
            json={"operation": "upload", "objects": [{"oid": oid, "size": len(data)}]},
            headers=server.headers(),
        ).json()
        action = batch["objects"][0]["actions"]["upload"]
        assert batch["transfer"] == "multipart" and action["header"]["chunk_size"] == str(5 * MiB)
        r = httpx.put(action["header"]["1"], content=b"x" * 10)
        assert r.status_code == 400 and "does not match the announced size" in r.json()["error"]
        r = httpx.post(
            action["href"], json={"oid": oid, "parts": [{"partNumber": 2, "etag": "a" * 64}]}
        )
        assert r.status_code == 400 and "parts 1..4" in r.json()["error"]

        # Parts are the bytes sent for this upload, never other stored blobs named by their
        # sha256: a completion assembling blobs of the store is refused (else it would grant
        # the object without its bytes ever being sent by the caller).
        target = os.urandom(len(data))
        parts = [target[i : i + 5 * MiB] for i in range(0, len(target), 5 * MiB)]
        api.create_repo("mp/parts")
        for n, part in enumerate(parts):  # inline (regular) files: stored blobs
            api.upload_file(path_or_fileobj=part, path_in_repo=f"p{n}", repo_id="mp/parts")
        target_oid = hashlib.sha256(target).hexdigest()
        batch = httpx.post(
            f"{server.hf_endpoint()}/mp/model.git/info/lfs/objects/batch",
            json={"operation": "upload", "objects": [{"oid": target_oid, "size": len(target)}]},
            headers=server.headers(),
        ).json()
        complete = batch["objects"][0]["actions"]["upload"]["href"]
        stored_as_parts = [hashlib.sha256(p).hexdigest() for p in parts]
        r = httpx.post(
            complete,
            json={
                "oid": target_oid,
                "parts": [{"partNumber": n + 1, "etag": e} for n, e in enumerate(stored_as_parts)],
            },
        )
        assert r.status_code == 400 and "not issued for this upload" in r.json()["error"], r.text
