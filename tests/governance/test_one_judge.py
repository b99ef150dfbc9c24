"""One judge for every entry point: a model whose *base model* is under a denied licence is
blocked alike by downloads (huggingface_hub), the sidebar's browse API, the magics' client and
bundle creation (403 with the violations, not "download it first"), through real servers; and a
mirrored regular file the vault has scanned is shown with its verdict, not as "not scanned"."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download
from huggingface_hub import errors as hf_errors

from modelvault_jlab.magics.client import Connection, VaultClient
from tests.servers import RunningServer

BASE_REASON = "its base model model {base} is licensed GPL-3.0-only, which is denied"


@dataclass(frozen=True)
class Mirror:
    vault: RunningServer
    key: str
    base: str
    derived: str
    fine: str


@pytest.fixture(scope="module")
def mirror(standalone_server: RunningServer, upstream: RunningServer) -> Iterator[Mirror]:
    """An hf-remote repository of ``upstream`` (playing the Hub) that denies GPL-3.0-only."""
    tag = uuid.uuid4().hex[:6]
    base, derived, fine = f"org/base-{tag}", f"org/derived-{tag}", f"org/fine-{tag}"
    up = HfApi(endpoint=upstream.hf_endpoint(), token=upstream.admin_token)
    cards = {
        base: "license: gpl-3.0",
        derived: f"license: mit\nbase_model: {base}",
        fine: "license: apache-2.0",
    }
    for repo_id, card in cards.items():
        up.create_repo(repo_id)
        up.create_commit(
            repo_id,
            [
                CommitOperationAdd("README.md", f"---\n{card}\n---\n# m\n".encode()),
                CommitOperationAdd("config.json", b'{"model_type": "bert"}'),
                CommitOperationAdd("vocab.txt", b"[PAD]\n[UNK]\nhello\n"),
            ],
            commit_message="publish",
        )
    key = f"judged-{tag}"
    r = httpx.post(
        standalone_server.api("repositories"),
        json={
            "key": key,
            "kind": "hf-remote",
            "config": {
                "upstream": upstream.hf_endpoint(),
                "upstream_token": upstream.admin_token,
                "policies": [{"name": "approved-licenses", "params": {"deny": ["GPL-3.0-only"]}}],
            },
        },
        headers=standalone_server.headers(),
    )
    assert r.status_code == 201, r.text
    yield Mirror(standalone_server, key, base, derived, fine)


def test_every_entry_point_blocks_a_model_by_its_base_models_licence(
    mirror: Mirror, tmp_path: Path
) -> None:
    vault, key = mirror.vault, mirror.key
    reason = BASE_REASON.format(base=mirror.base)
    # downloads (the stock client)
    with pytest.raises(hf_errors.GatedRepoError) as err:
        hf_hub_download(
            mirror.derived,
            "config.json",
            endpoint=vault.hf_endpoint(key),
            token=vault.admin_token,
            cache_dir=tmp_path,
        )
    assert reason in str(err.value)
    # the sidebar's browse API
    r = httpx.get(
        vault.api(f"repositories/{key}/hub/models/{mirror.derived}/files"),
        headers=vault.headers(),
    )
    assert r.status_code == 200, r.text
    decision = r.json()["decision"]
    assert decision["status"] == "blocked"
    assert any(reason in v["reason"] for v in decision["violations"])
    # the magics' client (what %modelvault files / why show)
    client = VaultClient(Connection(vault.url, vault.admin_token))
    try:
        listing = client.repo_files(key, mirror.derived)
    finally:
        client.close()
    assert listing["decision"] == decision
    # bundles: refused by policy at once, although no file of it is in the vault
    spec = {
        "name": f"judged-{uuid.uuid4().hex[:6]}",
        "version": "1",
        "components": [{"kind": "hub", "repository": key, "repo_id": mirror.derived}],
    }
    r = httpx.post(vault.api("bundles"), json=spec, headers=vault.headers(), timeout=60)
    assert r.status_code == 403, r.text
    body = r.json()
    assert body["code"] == "BundleBlocked"
    assert any(reason in v["reason"] for v in body["details"]["violations"])


def test_the_base_model_itself_and_an_unrelated_model(mirror: Mirror, tmp_path: Path) -> None:
    vault, key = mirror.vault, mirror.key
    with pytest.raises(hf_errors.GatedRepoError, match=r"GPL-3\.0-only, which is denied"):
        hf_hub_download(
            mirror.base,
            "config.json",
            endpoint=vault.hf_endpoint(key),
            token=vault.admin_token,
            cache_dir=tmp_path,
        )
    path = hf_hub_download(
        mirror.fine,
        "config.json",
        endpoint=vault.hf_endpoint(key),
        token=vault.admin_token,
        cache_dir=tmp_path,
    )
    assert Path(path).read_bytes() == b'{"model_type": "bert"}'


def test_a_mirrored_regular_file_shows_its_verdict(mirror: Mirror, tmp_path: Path) -> None:
    vault, key = mirror.vault, mirror.key
    url = vault.api(f"repositories/{key}/hub/models/{mirror.fine}/files")
    before = {f["path"]: f for f in httpx.get(url, headers=vault.headers()).json()["files"]}
    assert before["vocab.txt"]["status"] == "not-scanned"  # not in the vault yet
    hf_hub_download(
        mirror.fine,
        "vocab.txt",
        endpoint=vault.hf_endpoint(key),
        token=vault.admin_token,
        cache_dir=tmp_path,
    )
    after = {f["path"]: f for f in httpx.get(url, headers=vault.headers()).json()["files"]}
    assert after["vocab.txt"]["verdict"] == "clean"
    assert after["vocab.txt"]["status"] == "clean"
    assert len(after["vocab.txt"]["sha256"]) == 64
