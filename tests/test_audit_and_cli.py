"""The audit log answers who uploaded, downloaded, created and deleted what, with which token;
the admin CLI issues tokens and repositories."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download

from tests.servers import RunningServer, cli, mint_token


def test_audit_trail_of_a_repo(server: RunningServer, tmp_path: Path) -> None:
    token = mint_token(server.data_dir, "write", "auditor-" + server.kind)
    token_id = token.split("_")[1]
    api = HfApi(endpoint=server.hf_endpoint(), token=token)
    repo_id = f"audit/r-{uuid.uuid4().hex[:6]}"
    api.create_repo(repo_id)
    api.upload_file(path_or_fileobj=b"weights", path_in_repo="w.bin", repo_id=repo_id)
    hf_hub_download(
        repo_id, "w.bin", endpoint=server.hf_endpoint(), token=token, cache_dir=tmp_path
    )
    api.delete_repo(repo_id)

    r = httpx.get(
        server.api("audit"), params={"actor": "auditor-" + server.kind}, headers=server.headers()
    )
    assert r.status_code == 200
    events = r.json()["events"]
    actions = [e["action"] for e in reversed(events)]
    assert actions == ["hub.repo.create", "hub.commit", "hub.file.download", "hub.repo.delete"]
    assert {e["token_id"] for e in events} == {token_id}
    download = next(e for e in events if e["action"] == "hub.file.download")
    assert download["subject"].startswith(f"models/{repo_id}@") and download["subject"].endswith(
        "/w.bin"
    )
    assert download["detail"]["size"] == 7 and download["remote_addr"] == "127.0.0.1"
    assert download["repository"] == "models"


def test_cli_tokens_and_repositories(tmp_path: Path) -> None:
    data = tmp_path / "vault"
    token = cli(data, "token", "create", "--scope", "write", "--user", "ci", "--name", "pipeline")
    assert token.startswith("mvt_")
    listing = cli(data, "token", "list")
    assert "pipeline" in listing and "scope=write" in listing and token not in listing
    cli(data, "repo", "create", "team-models", "--description", "the team's")
    assert "team-models" in cli(data, "repo", "list")
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelvault_jlab.cli",
            "repo",
            "create",
            "../evil",
            "--data-dir",
            str(data),
        ],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "Invalid repository key" in bad.stderr
    dup = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelvault_jlab.cli",
            "repo",
            "create",
            "team-models",
            "--data-dir",
            str(data),
        ],
        capture_output=True,
        text=True,
    )
    assert dup.returncode == 2 and "already exists" in dup.stderr


@pytest.mark.parametrize("module", ["modelvault_jlab"])
def test_importing_the_package_stays_cheap(module: str) -> None:
    """Kernels import the package for the magics: no server, scanner or IPython stacks."""
    code = (
        f"import sys, {module}\n"
        "heavy = [m for m in ('tornado', 'jupyter_server', 'fickling', 'IPython', 'torch') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
