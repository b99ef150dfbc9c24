"""An hf-remote repository whose upstream is a Xet-serving ModelVault: a cold file comes through
the upstream's reconstruction and signed xorb fetches (not its plain resolve GET), verified, and
is then served warm from the cache even with the upstream stopped."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.compat.hub_client import run_client
from tests.servers import RunningServer, mint_token, running, start_standalone
from tests.xet.server_counters import metric_total

MiB = 1024**2

PUSH = """
from huggingface_hub import constants
assert not constants.HF_HUB_DISABLE_XET
api.create_repo(os.environ["REPO_ID"])
api.upload_file(path_or_fileobj=b"---\\nlicense: apache-2.0\\n---\\n# xet upstream\\n",
                path_in_repo="README.md", repo_id=os.environ["REPO_ID"])
api.upload_file(path_or_fileobj=os.environ["SRC"], path_in_repo="model.safetensors",
                repo_id=os.environ["REPO_ID"])
emit(True)
"""


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RunningServer, RunningServer]]:
    base = tmp_path_factory.mktemp("xet-remote")
    with (
        running(start_standalone(base / "upstream")) as up,
        running(start_standalone(base / "vault")) as vault,
    ):
        yield up, vault


def _count(server: RunningServer, family: str, name: str = "modelvault_http_requests") -> float:
    return metric_total(server.url, server.admin_token, name, family=family)


def test_cold_file_from_a_xet_upstream(
    servers: tuple[RunningServer, RunningServer], tmp_path: Path
) -> None:
    up, vault = servers
    repo_id = f"up/xet-{uuid.uuid4().hex[:8]}"
    data = os.urandom(12 * MiB)
    (tmp_path / "model.safetensors").write_bytes(data)
    run_client(PUSH, endpoint=up.hf_endpoint(), token=up.admin_token, hf_home=tmp_path / "h",
               extra_env={"REPO_ID": repo_id, "SRC": str(tmp_path / "model.safetensors")})  # fmt: skip
    key = f"xet-remote-{uuid.uuid4().hex[:6]}"
    r = httpx.post(
        vault.api("repositories"),
        json={
            "key": key,
            "kind": "hf-remote",
            "config": {
                "upstream": up.hf_endpoint(),
                "upstream_token": mint_token(up.data_dir, "read", "mirror"),
                "timeout_seconds": 30,
            },
        },
        headers=vault.headers(),
    )
    assert r.status_code == 201, r.text

    plans, fetches = _count(up, "xet_reconstruction"), _count(up, "xet_fetch")
    plain = _count(up, "hf_resolve", "modelvault_http_response_bytes")
    url = f"{vault.hf_endpoint(key)}/{repo_id}/resolve/main/model.safetensors"
    cold = httpx.get(url, headers=vault.headers(), follow_redirects=True, timeout=120)
    assert cold.status_code == 200, cold.text
    assert hashlib.sha256(cold.content).digest() == hashlib.sha256(data).digest()
    # the bytes came through the upstream's CAS: one plan, signed ranged fetches, no plain body
    assert _count(up, "xet_reconstruction") == plans + 1
    assert _count(up, "xet_fetch") > fetches
    # (the only plain resolve body is the small README the licence policy reads)
    assert _count(up, "hf_resolve", "modelvault_http_response_bytes") - plain < MiB

    # warm: served from the vault's cache with the upstream gone
    up.kill()
    warm = httpx.get(url, headers=vault.headers(), follow_redirects=True, timeout=120)
    assert warm.status_code == 200
    assert hashlib.sha256(warm.content).digest() == hashlib.sha256(data).digest()
