"""The product story end to end, with the stock clients, through an hf-remote repository:

an upstream model with no licence is blocked with a clear message; a model under apache-2.0 is
served; a model whose pytorch_model.bin carries a malicious pickle is blocked with the finding;
after a waiver for the unlicensed one, it downloads. Locally uploaded malicious files are
quarantined at commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download, snapshot_download
from huggingface_hub import errors as hf_errors

from tests.compat.hub_client import run_client
from tests.servers import RunningServer, mint_token, running, start_standalone

APACHE_CARD = b"---\nlicense: apache-2.0\n---\n# a fine model\n"


def malicious_pickle() -> bytes:
    """A protocol-2 pickle calling posix.system (built from opcodes; never loaded)."""
    return (
        b"\x80\x02"  # PROTO 2
        b"cposix\nsystem\n"  # GLOBAL posix.system
        b"X\x0c\x00\x00\x00echo pwned!\x0a"  # BINUNICODE 'echo pwned!\n'
        b"\x85"  # TUPLE1
        b"R"  # REDUCE
        b"."  # STOP
    )


@pytest.fixture(scope="module")
def story(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RunningServer, str, dict[str, str]]]:
    base = tmp_path_factory.mktemp("story")
    with (
        running(start_standalone(base / "upstream")) as upstream,
        running(start_standalone(base / "vault")) as vault,
    ):
        # The upstream plays huggingface.co, which serves whatever was published.
        r = httpx.put(
            upstream.api("policies"),
            json={
                "policies": [
                    {"name": "malicious-models", "kind": "scan", "action": "audit"},
                    {"name": "approved-licenses", "enabled": False},  # off, explicitly
                    {"name": "custom-code", "enabled": False},
                ]
            },
            headers=upstream.headers(),
        )
        assert r.status_code == 200, r.text
        up = HfApi(endpoint=upstream.hf_endpoint(), token=upstream.admin_token)
        tag = uuid.uuid4().hex[:6]
        repos = {
            "unlicensed": f"acme/sentiment-{tag}",
            "apache": f"acme/owlvit-{tag}",
            "evil": f"acme/evil-{tag}",
        }
        for kind, repo_id in repos.items():
            up.create_repo(repo_id)
            ops = [CommitOperationAdd("config.json", b'{"model_type": "bert", "hidden_size": 8}')]
            if kind != "unlicensed":
                ops.append(CommitOperationAdd("README.md", APACHE_CARD))
            if kind == "evil":
                ops.append(CommitOperationAdd("pytorch_model.bin", malicious_pickle()))
            up.create_commit(repo_id, ops, commit_message="publish")
        r = httpx.post(
            vault.api("repositories"),
            json={
                "key": "hf-remote",
                "kind": "hf-remote",
                "config": {
                    "upstream": upstream.hf_endpoint(),
                    "upstream_token": mint_token(upstream.data_dir, "read", "mirror"),
                },
            },
            headers=vault.headers(),
        )
        assert r.status_code == 201
        yield vault, "hf-remote", repos


def _download(vault: RunningServer, key: str, repo_id: str, path: str, cache: Path) -> Path:
    return Path(
        hf_hub_download(
            repo_id, path, endpoint=vault.hf_endpoint(key), token=vault.admin_token, cache_dir=cache
        )
    )


def test_unlicensed_model_is_blocked_with_a_clear_message(
    story: tuple[RunningServer, str, dict[str, str]], tmp_path: Path
) -> None:
    vault, key, repos = story
    with pytest.raises(hf_errors.GatedRepoError) as err:
        _download(vault, key, repos["unlicensed"], "config.json", tmp_path)
    expected = f"blocked by policy 'approved-licenses': model {repos['unlicensed']} has no licence"
    assert expected in str(err.value)
    with pytest.raises(hf_errors.GatedRepoError) as err:
        snapshot_download(
            repos["unlicensed"],
            endpoint=vault.hf_endpoint(key),
            token=vault.admin_token,
            cache_dir=tmp_path / "s",
        )
    assert expected in str(err.value)
    # transformers shows it in the top-level exception too (HF_ENDPOINT/HF_TOKEN, a fresh process)
    out = run_client(
        f"""
from transformers import AutoConfig
try:
    AutoConfig.from_pretrained("{repos["unlicensed"]}")
    emit("loaded")
except OSError as exc:
    emit(str(exc))
""",
        endpoint=vault.hf_endpoint(key),
        token=vault.admin_token,
        hf_home=tmp_path / "tf",
    )
    assert expected in out


def test_apache_model_is_served(
    story: tuple[RunningServer, str, dict[str, str]], tmp_path: Path
) -> None:
    vault, key, repos = story
    snap = Path(
        snapshot_download(
            repos["apache"],
            endpoint=vault.hf_endpoint(key),
            token=vault.admin_token,
            cache_dir=tmp_path,
        )
    )
    assert (snap / "README.md").read_bytes() == APACHE_CARD


def test_malicious_pickle_is_blocked_with_its_finding(
    story: tuple[RunningServer, str, dict[str, str]], tmp_path: Path
) -> None:
    vault, key, repos = story
    assert _download(vault, key, repos["evil"], "config.json", tmp_path / "ok").exists()
    with pytest.raises(hf_errors.GatedRepoError) as err:
        _download(vault, key, repos["evil"], "pytorch_model.bin", tmp_path / "bad")
    message = str(err.value)
    assert "blocked by policy 'malicious-models': pytorch_model.bin is malicious" in message
    assert "posix.system" in message
    assert not list(
        (tmp_path / "bad").rglob("pytorch_model.bin")
    )  # no copy reached the client cache
    events = httpx.get(vault.api("violations"), headers=vault.headers()).json()["events"]
    assert any(
        e["detail"]["policy"] == "malicious-models" and repos["evil"] in e["subject"]
        for e in events
    )


def test_waiver_lets_the_unlicensed_model_through(
    story: tuple[RunningServer, str, dict[str, str]], tmp_path: Path
) -> None:
    vault, key, repos = story
    r = httpx.post(
        vault.api("waivers"),
        json={
            "policy": "approved-licenses",
            "repo_id": repos["unlicensed"],
            "justification": "internal evaluation only",
            "expires_in_seconds": 3600,
        },
        headers=vault.headers(),
    )
    assert r.status_code == 201, r.text
    waiver = r.json()
    assert (
        _download(vault, key, repos["unlicensed"], "config.json", tmp_path)
        .read_bytes()
        .startswith(b'{"model_type"')
    )
    # revoked: blocked again
    assert (
        httpx.delete(vault.api(f"waivers/{waiver['id']}"), headers=vault.headers()).status_code
        == 204
    )
    with pytest.raises(hf_errors.GatedRepoError):
        _download(vault, key, repos["unlicensed"], "config.json", tmp_path / "again")
    actions = [
        e["action"] for e in httpx.get(vault.api("audit"), headers=vault.headers()).json()["events"]
    ]
    assert "waiver.grant" in actions and "waiver.revoke" in actions and "policy.block" in actions


def test_waiver_validation(story: tuple[RunningServer, str, dict[str, str]]) -> None:
    vault, _, repos = story
    for body in (
        {
            "policy": "approved-licenses",
            "repo_id": repos["unlicensed"],
            "justification": "ok ok",
            "expires_in_seconds": 0,
        },
        {
            "policy": "approved-licenses",
            "repo_id": repos["unlicensed"],
            "justification": "",
            "expires_in_seconds": 60,
        },
        {"policy": "approved-licenses", "justification": "no target", "expires_in_seconds": 60},
        {
            "policy": "approved-licenses",
            "repo_id": "../x",
            "justification": "bad id",
            "expires_in_seconds": 60,
        },
    ):
        r = httpx.post(vault.api("waivers"), json=body, headers=vault.headers())
        assert r.status_code == 400, body
    reader = mint_token(vault.data_dir, "read", "rita")
    r = httpx.post(vault.api("waivers"), json={"policy": "x"}, headers=vault.headers(reader))
    assert r.status_code == 403


def test_local_malicious_upload_is_quarantined(
    story: tuple[RunningServer, str, dict[str, str]], tmp_path: Path
) -> None:
    vault, _, _ = story
    api = HfApi(endpoint=vault.hf_endpoint(), token=vault.admin_token)
    repo_id = f"team/upload-{uuid.uuid4().hex[:6]}"
    api.create_repo(repo_id)
    api.upload_file(path_or_fileobj=malicious_pickle(), path_in_repo="model.pkl", repo_id=repo_id)
    assert "model.pkl" in api.list_repo_files(repo_id)  # stored, in quarantine
    r = httpx.head(
        f"{vault.hf_endpoint()}/{repo_id}/resolve/main/model.pkl", headers=vault.headers()
    )
    assert r.status_code == 403 and r.headers["x-error-code"] == "GatedRepo"
    assert "malicious" in r.headers["x-error-message"]
