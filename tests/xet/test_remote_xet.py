"""An hf-remote repository whose upstream is a Xet-serving ModelVault: a cold file comes through
the upstream's reconstruction and signed xorb fetches (not its plain resolve GET), verified, and
its chunks are cached by hash: a fine-tune sharing 95 % of the chunks fetches only the changed
ones, the cached files are served to clients by Xet and by the bridge, also with the upstream
stopped."""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.compat.hub_client import run_client
from tests.remotes import create_hf_remote
from tests.servers import RunningServer, running, start_standalone
from tests.xet.server_counters import metric_total

MiB = 1024**2
SIZE = 40 * MiB
CHANGED = (16 * MiB, 16 * MiB + SIZE // 20)
"""The fine-tune rewrites 5 % of the base file, in the middle (a changed tensor)."""

PUSH = """
from huggingface_hub import constants
assert not constants.HF_HUB_DISABLE_XET
api.create_repo(os.environ["REPO_ID"])
api.upload_file(path_or_fileobj=b"---\\nlicense: apache-2.0\\n---\\n# xet upstream\\n",
                path_in_repo="README.md", repo_id=os.environ["REPO_ID"])
for name in ("base", "tuned"):
    api.upload_file(path_or_fileobj=os.environ["SRC"] + "/" + name + ".safetensors",
                    path_in_repo=name + ".safetensors", repo_id=os.environ["REPO_ID"])
emit(True)
"""

PULL = """
import hashlib
from huggingface_hub import constants, hf_hub_download
assert not constants.HF_HUB_DISABLE_XET
path = hf_hub_download(os.environ["REPO_ID"], "tuned.safetensors")
emit(hashlib.sha256(open(path, "rb").read()).hexdigest())
"""


@dataclass
class Setup:
    up: RunningServer
    vault: RunningServer
    key: str
    repo_id: str
    base: bytes
    tuned: bytes

    def url(self, name: str) -> str:
        return f"{self.vault.hf_endpoint(self.key)}/{self.repo_id}/resolve/main/{name}"


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    base_dir = tmp_path_factory.mktemp("xet-remote")
    rng = random.Random(16)
    base = rng.randbytes(SIZE)
    a, b = CHANGED
    tuned = base[:a] + rng.randbytes(b - a) + base[b:]
    (base_dir / "src").mkdir()
    (base_dir / "src" / "base.safetensors").write_bytes(base)
    (base_dir / "src" / "tuned.safetensors").write_bytes(tuned)
    with (
        running(start_standalone(base_dir / "upstream")) as up,
        running(start_standalone(base_dir / "vault")) as vault,
    ):
        repo_id = f"up/xet-{uuid.uuid4().hex[:8]}"
        run_client(PUSH, endpoint=up.hf_endpoint(), token=up.admin_token, hf_home=base_dir / "h",
                   extra_env={"REPO_ID": repo_id, "SRC": str(base_dir / "src")})  # fmt: skip
        key = create_hf_remote(vault, up, prefix="xet-remote", timeout_seconds=30)
        yield Setup(up, vault, key, repo_id, base, tuned)


def _count(server: RunningServer, family: str, name: str = "modelvault_http_requests") -> float:
    return metric_total(server.url, server.admin_token, name, family=family)


def _fetched(server: RunningServer) -> float:
    """Bytes the upstream sent on its xorb fetch URLs (counted at the upstream)."""
    return _count(server, "xet_fetch", "modelvault_http_response_bytes")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_cold_file_from_a_xet_upstream(setup: Setup) -> None:
    up, vault = setup.up, setup.vault
    plans, fetches = _count(up, "xet_reconstruction"), _count(up, "xet_fetch")
    plain = _count(up, "hf_resolve", "modelvault_http_response_bytes")
    sent = _fetched(up)
    cold = httpx.get(
        setup.url("base.safetensors"), headers=vault.headers(), follow_redirects=True, timeout=120
    )
    assert cold.status_code == 200, cold.text
    assert _sha(cold.content) == _sha(setup.base)
    # the bytes came through the upstream's CAS: one plan, signed ranged fetches, no plain body
    assert _count(up, "xet_reconstruction") == plans + 1
    assert _count(up, "xet_fetch") > fetches
    assert _fetched(up) - sent >= SIZE
    # (the only plain resolve body is the small README the licence policy reads)
    assert _count(up, "hf_resolve", "modelvault_http_response_bytes") - plain < MiB

    # the cached file is a Xet file of the vault too: the same file hash as the upstream's
    head = httpx.head(setup.url("base.safetensors"), headers=vault.headers(), timeout=30)
    upstream_head = httpx.head(
        f"{up.hf_endpoint()}/{setup.repo_id}/resolve/main/base.safetensors",
        headers=up.headers(),
        timeout=30,
    )
    assert head.headers["X-Xet-Hash"] == upstream_head.headers["X-Xet-Hash"]
    assert "xet-auth" in head.links


def test_a_fine_tune_fetches_only_its_changed_chunks(setup: Setup) -> None:
    up, vault = setup.up, setup.vault
    sent = _fetched(up)
    r = httpx.get(
        setup.url("tuned.safetensors"), headers=vault.headers(), follow_redirects=True, timeout=120
    )
    assert r.status_code == 200, r.text
    assert _sha(r.content) == _sha(setup.tuned)
    changed = CHANGED[1] - CHANGED[0]
    fetched = _fetched(up) - sent
    # the changed region, plus the chunks it shares with its neighbours (content-defined cuts)
    print(
        f"fine-tune: fetched {fetched:.0f} bytes for {changed} changed ({fetched / changed:.3f}x)"
    )
    assert changed <= fetched <= 1.2 * changed, (fetched, changed)


def test_cached_files_are_served_by_xet_and_by_the_bridge_without_the_upstream(
    setup: Setup, tmp_path: Path
) -> None:
    up, vault = setup.up, setup.vault
    up.kill()
    plans = _count(vault, "xet_reconstruction")
    got = run_client(PULL, endpoint=vault.hf_endpoint(setup.key), token=vault.admin_token,
                     hf_home=tmp_path / "h", extra_env={"REPO_ID": setup.repo_id})  # fmt: skip
    assert got == _sha(setup.tuned)
    assert _count(vault, "xet_reconstruction") == plans + 1  # hf_xet, from the vault's own CAS
    # the bridge: a plain ranged GET
    a = CHANGED[0] - 1000
    r = httpx.get(
        setup.url("tuned.safetensors"),
        headers={**vault.headers(), "Range": f"bytes={a}-{a + 99_999}"},
        follow_redirects=True,
        timeout=60,
    )
    assert r.status_code == 206
    assert r.content == setup.tuned[a : a + 100_000]
    warm = httpx.get(
        setup.url("base.safetensors"), headers=vault.headers(), follow_redirects=True, timeout=120
    )
    assert warm.status_code == 200
    assert _sha(warm.content) == _sha(setup.base)
