"""Kernels started by a Jupyter server with ModelVault get the vault environment and their own read
token before any user code runs; what they fetch is in the audit log under that token, tied to
the notebook (lineage), and ``%modelvault lock`` writes it down."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi

from tests.kernel.conftest import PYPI_KEY, WHEEL
from tests.kernel.kernels import Kernel
from tests.kernel.test_magics import magics
from tests.servers import RunningServer

ENV_CODE = """
import json, os
print(json.dumps({k: v for k, v in os.environ.items()
                  if k.startswith(("HF_", "PIP_", "UV_", "MODELVAULT_"))}))
"""
APACHE_CARD = b"---\nlicense: apache-2.0\n---\n# tiny\n"


def kernel_env(kernel: Kernel) -> dict[str, str]:
    out = kernel.execute(ENV_CODE)
    assert out.error is None, out.error
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def token_record(server: RunningServer, token: str) -> dict[str, object]:
    token_id = token.split("_")[1]
    tokens = httpx.get(server.api("tokens"), headers=server.headers()).json()["tokens"]
    return next(t for t in tokens if t["id"] == token_id)


@pytest.fixture(scope="module")
def notebook_kernel(kernel_server: RunningServer) -> Iterator[Kernel]:
    kernel = Kernel(kernel_server, notebook="work/analysis.ipynb")
    yield kernel
    kernel.shutdown()


@pytest.fixture(scope="module")
def model_repo(kernel_server: RunningServer) -> str:
    api = HfApi(endpoint=kernel_server.hf_endpoint(), token=kernel_server.admin_token)
    repo_id = f"acme/tiny-{uuid.uuid4().hex[:6]}"
    api.create_repo(repo_id)
    api.create_commit(
        repo_id,
        [
            CommitOperationAdd("README.md", APACHE_CARD),
            CommitOperationAdd("config.json", b'{"model_type": "bert"}'),
        ],
        commit_message="publish",
    )
    return repo_id


def test_rest_kernel_gets_the_vault_environment(kernel_server: RunningServer) -> None:
    kernel = Kernel(kernel_server)  # POST /api/kernels, no session
    try:
        env = kernel_env(kernel)
    finally:
        kernel.shutdown()
    assert env["HF_ENDPOINT"] == kernel_server.hf_endpoint("models")
    token = env["HF_TOKEN"]
    assert token.startswith("mvt_") and token != kernel_server.admin_token
    assert env["MODELVAULT_TOKEN"] == token and env["MODELVAULT_URL"] == kernel_server.url
    assert "HF_HUB_DISABLE_XET" not in env  # the vault serves Xet (core/xet)
    assert env["HF_HUB_DOWNLOAD_TIMEOUT"] == "120" and env["HF_HUB_ETAG_TIMEOUT"] == "60"
    assert env["PIP_DEFAULT_TIMEOUT"] == "120"
    index = kernel_server.url.replace("http://", f"http://__token__:{token}@", 1)
    assert env["PIP_INDEX_URL"] == f"{index}modelvault/pypi/{PYPI_KEY}/simple/"
    assert env["UV_INDEX_URL"] == env["PIP_INDEX_URL"]
    record = token_record(kernel_server, token)
    assert record["scope"] == "read" and record["expires_at"] is not None
    assert record["revoked_at"] is not None  # revoked when the kernel was shut down
    # a revoked token no longer works
    r = httpx.get(kernel_server.api("repositories"), headers=kernel_server.headers(token))
    assert r.status_code == 401


def test_notebook_kernel_fetches_are_audited_with_its_token(
    kernel_server: RunningServer, notebook_kernel: Kernel, model_repo: str, tmp_path: Path
) -> None:
    env = kernel_env(notebook_kernel)
    token_id = env["HF_TOKEN"].split("_")[1]
    out = notebook_kernel.execute(
        f"""
import os, subprocess, sys, tempfile
from huggingface_hub import hf_hub_download
path = hf_hub_download({model_repo!r}, "config.json")
print("MODEL", open(path).read())
d = tempfile.mkdtemp()
p = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir",
                    "-d", d, {WHEEL!r}], capture_output=True, text=True,
                   env={{**os.environ, "PIP_CONFIG_FILE": "/dev/null", "PIP_FIND_LINKS": ""}})
print("PIP", p.returncode, sorted(os.listdir(d)), p.stderr[-2000:])
"""
    )
    assert out.error is None, out.error
    assert 'MODEL {"model_type": "bert"}' in out.stdout
    assert "PIP 0 ['kernel_dep-1.0.0-py3-none-any.whl']" in out.stdout, out.stdout

    events = httpx.get(
        kernel_server.api("audit"), params={"limit": 1000}, headers=kernel_server.headers()
    ).json()["events"]
    mine = [e for e in events if e["token_id"] == token_id]
    actions = {e["action"] for e in mine}
    assert {"hub.file.download", "pypi.file.download"} <= actions, mine
    record = token_record(kernel_server, env["HF_TOKEN"])
    assert record["scope"] == "read" and record["revoked_at"] is None

    # lineage: who fetched the model, from which notebook
    r = httpx.get(
        kernel_server.api("lineage"),
        params={"subject": model_repo},
        headers=kernel_server.headers(),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    fetch = body["fetches"][0]
    assert fetch["repo_id"] == model_repo and fetch["path"] == "config.json"
    assert len(fetch["commit"]) == 40
    assert fetch["token_id"] == token_id and fetch["kernel_id"] == notebook_kernel.id
    assert fetch["notebook"] == "work/analysis.ipynb"
    assert body["affected"][0]["notebook"] == "work/analysis.ipynb"
    r = httpx.get(
        kernel_server.api("lineage"), params={"subject": WHEEL}, headers=kernel_server.headers()
    )
    assert [f["filename"] for f in r.json()["fetches"]] == ["kernel_dep-1.0.0-py3-none-any.whl"]
    # the kernel's own (read) token may not ask who else fetched something
    r = httpx.get(
        kernel_server.api("lineage"),
        params={"subject": model_repo},
        headers=kernel_server.headers(env["HF_TOKEN"]),
    )
    assert r.status_code == 403

    # %modelvault lock: exactly what this kernel fetched, pinned
    out = notebook_kernel.execute(
        "%load_ext modelvault_jlab\n_lock = %modelvault lock -o kernel.lock.json\n"
        "print(open('kernel.lock.json').read())"
    )
    assert out.error is None, out.error
    lock = json.loads(out.stdout)
    assert lock["notebook"] == "work/analysis.ipynb"
    [model] = lock["models"]
    assert model["repo_id"] == model_repo and model["repository"] == "models"
    assert len(model["commit"]) == 40
    assert [f["path"] for f in model["files"]] == ["config.json"]
    [package] = lock["packages"]
    assert package["filename"] == "kernel_dep-1.0.0-py3-none-any.whl"
    assert package["repository"] == PYPI_KEY and len(package["sha256"]) == 64

    # a bundle pins what the lock names; the kernel's read token may not create one, an admin may
    out = notebook_kernel.execute("%modelvault bundle create nb-bundle 1.0.0")
    assert "lacks the 'write' permission" in out.text(), out.text()
    (tmp_path / "kernel.lock.json").write_text(json.dumps(lock))
    created, listed = magics(
        ["bundle create nb-bundle 1.0.0 --lock kernel.lock.json", "bundle list"],
        tmp_path,
        {"MODELVAULT_URL": kernel_server.url, "MODELVAULT_TOKEN": kernel_server.admin_token},
    )
    assert "Bundle nb-bundle 1.0.0" in created["text"], created["text"]
    assert model_repo in created["text"], created["text"]
    assert "==1.0.0" in created["text"], created["text"]
    assert "nb-bundle" in listed["text"]

    # offline preflight: the model is in the HF cache; the wheel is not in ./wheelhouse until warmed
    out = notebook_kernel.execute("%modelvault offline check")
    assert out.error is None, out.error
    assert "cached" in out.text() and "missing" in out.text()
    assert "not available offline" in out.text() and "<table>" in out.html()
    out = notebook_kernel.execute("%modelvault offline check --warm")
    assert "warmed" in out.text(), out.text()
    out = notebook_kernel.execute("%modelvault offline check")
    assert "All 2 locked files are available offline" in out.text(), out.text()


def test_status_magic_in_a_server_kernel(notebook_kernel: Kernel) -> None:
    out = notebook_kernel.execute("%load_ext modelvault_jlab\n%modelvault status")
    assert out.error is None, out.error
    text = out.text()
    assert "HF_ENDPOINT" in text and "/modelvault/hf/models" in text
    assert "signed in as" in text and "scope read" in text
    assert "PIP_INDEX_URL" in text and "__token__:***@" in text  # the secret is masked
    assert "<table>" in out.html()


def test_kernels_untouched_when_switched_off(disabled_server: RunningServer) -> None:
    kernel = Kernel(disabled_server, notebook="plain.ipynb")
    try:
        env = kernel_env(kernel)
        out = kernel.execute("%load_ext modelvault_jlab\n%modelvault status")
    finally:
        kernel.shutdown()
    assert "HF_ENDPOINT" not in env and "HF_TOKEN" not in env and "MODELVAULT_URL" not in env
    assert "not started by a Jupyter server with ModelVault" in out.text()
