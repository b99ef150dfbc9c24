"""``%modelvault`` in an IPython shell (a fresh process, as in a kernel not started by the server)
against real vaults: setup, status, repos, ls, scan, why, waive — and clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi

from tests.kernel.conftest import REPO_ROOT
from tests.servers import RunningServer, free_port, mint_token, running, start_standalone

APACHE_CARD = b"---\nlicense: apache-2.0\n---\n# a fine model\n"
SHELL = textwrap.dedent(
    """
    import json, sys
    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "modelvault_jlab")
    out = []
    r = None
    for line in json.loads(sys.argv[1]):
        if line.startswith("!click "):  # fill in and submit the waiver form under `why`
            form = r.widget
            form.children[1].value = line[len("!click "):]
            form.children[2].click()
            r = form.last_result
        else:
            r = shell.run_line_magic("modelvault", line)
        out.append({"text": repr(r), "html": r._repr_html_(), "data": getattr(r, "data", None)})
    print("__OUT__" + json.dumps(out, default=str))
    """
)


def magics(lines: list[str], tmp: Path, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HF_", "MODELVAULT_", "PIP_INDEX", "UV_INDEX"))
    }
    proc = subprocess.run(
        [sys.executable, "-c", SHELL, json.dumps(lines)],
        env={**base, "PYTHONPATH": str(REPO_ROOT), "HF_HOME": str(tmp / "hf"), **(env or {})},
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("__OUT__"))
    return json.loads(line[len("__OUT__") :])  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def story(
    tmp_path_factory: pytest.TempPathFactory, standalone_server: RunningServer
) -> Iterator[tuple[RunningServer, str, dict[str, str]]]:
    """An upstream 'public hub' with an apache-2.0 and an unlicensed model, mirrored by the
    vault through an hf-remote repository."""
    base = tmp_path_factory.mktemp("magics")
    vault = standalone_server
    with running(start_standalone(base / "upstream")) as upstream:
        up = HfApi(endpoint=upstream.hf_endpoint(), token=upstream.admin_token)
        tag = uuid.uuid4().hex[:6]
        repos = {"apache": f"acme/fine-{tag}", "unlicensed": f"acme/nolicence-{tag}"}
        for kind, repo_id in repos.items():
            up.create_repo(repo_id)
            ops = [CommitOperationAdd("config.json", b'{"model_type": "bert"}')]
            if kind == "apache":
                ops.append(CommitOperationAdd("README.md", APACHE_CARD))
            up.create_commit(repo_id, ops, commit_message="publish")
        key = f"hub-{tag}"
        r = httpx.post(
            vault.api("repositories"),
            json={
                "key": key,
                "kind": "hf-remote",
                "config": {
                    "upstream": upstream.hf_endpoint(),
                    "upstream_token": mint_token(upstream.data_dir, "read", "mirror"),
                },
            },
            headers=vault.headers(),
        )
        assert r.status_code == 201, r.text
        yield vault, key, repos


def test_magics_as_admin(story: tuple[RunningServer, str, dict[str, str]], tmp_path: Path) -> None:
    vault, key, repos = story
    out = magics(
        [
            f"setup {vault.url} {vault.admin_token} --repo {key}",
            "status",
            "repos",
            f"ls {repos['apache']}",
            f"scan {key}:{repos['apache']}/README.md",
            f"why {repos['unlicensed']}",
            "!click internal evaluation only",
            f"why {repos['apache']}",
        ],
        tmp_path,
    )
    setup, status, repos_out, ls, scan, why, waive, why_ok = out
    assert f"{vault.url}modelvault/hf/{key}" in setup["text"]
    assert "signed in as admin" in setup["text"]
    assert "signed in as admin (scope admin, admin)" in status["text"]
    assert vault.admin_token not in status["text"]  # tokens are masked
    assert key in repos_out["text"] and "hf-remote" in repos_out["text"]
    assert "<table>" in repos_out["html"]
    assert "README.md" in ls["text"] and "config.json" in ls["text"]
    assert "licence: apache-2.0" in ls["text"].lower()
    assert ls["data"]["commit"] and len(ls["data"]["commit"]) == 40
    assert f'href="#modelvault-page/{key}/model/' in ls["html"]  # the model page link
    assert "README.md" in scan["text"] and "config.json" not in scan["text"]
    expected = f"blocked by policy 'approved-licenses': model {repos['unlicensed']} has no licence"
    assert expected in why["text"], why["text"]
    assert "approved-licenses" in why["html"]
    assert "Nothing blocks it" in why_ok["text"], why_ok["text"]
    assert "granted" in waive["text"] and waive["data"]["granted"] is True
    assert waive["data"]["waiver"]["policy"] == "approved-licenses"


def test_waive_as_reader_explains_an_admin_must_grant(
    story: tuple[RunningServer, str, dict[str, str]], tmp_path: Path
) -> None:
    vault, key, repos = story
    reader = mint_token(vault.data_dir, "read", "rita")
    [waive] = magics(
        [f"waive {key}:{repos['unlicensed']} --policy approved-licenses --reason 'please'"],
        tmp_path,
        {"MODELVAULT_URL": vault.url, "MODELVAULT_TOKEN": reader},
    )
    assert "an admin must" in waive["text"] and waive["data"]["granted"] is False
    assert waive["data"]["request"]["repo_id"] == repos["unlicensed"]


def test_errors_are_clear(story: tuple[RunningServer, str, dict[str, str]], tmp_path: Path) -> None:
    vault, _, _ = story
    [no_config] = magics(["repos"], tmp_path)
    assert "No ModelVault configured" in no_config["text"]
    assert "%modelvault setup URL TOKEN" in no_config["text"]

    down = f"http://127.0.0.1:{free_port()}/"
    [setup_down, repos_down] = magics(
        [f"setup {down} mvt_x_y", "repos"], tmp_path, {"MODELVAULT_URL": down}
    )
    for r in (setup_down, repos_down):
        assert f"Cannot reach ModelVault at {down}" in r["text"], r["text"]
        assert "Traceback" not in r["text"]

    bad = "mvt_0123456789ab_wrongsecret"
    [setup_bad, status_bad] = magics(
        [f"setup {vault.url} {bad}", "status"],
        tmp_path,
        {"MODELVAULT_URL": vault.url, "MODELVAULT_TOKEN": bad},
    )
    assert "ModelVault refused the token" in setup_bad["text"], setup_bad["text"]
    assert "ModelVault refused the token" in status_bad["text"]

    [unknown, unknown_key, usage] = magics(
        [f"ls acme/does-not-exist-{uuid.uuid4().hex[:6]}", "ls nosuchrepo:acme/x", "ls"],
        tmp_path,
        {"MODELVAULT_URL": vault.url, "MODELVAULT_TOKEN": vault.admin_token},
    )
    assert "failed" in unknown["text"] and "not found" in unknown["text"].lower()
    assert "nosuchrepo" in unknown_key["text"]
    assert "usage" in usage["text"] and "%modelvault ls" in usage["text"]


def test_stale_huggingface_hub_import_is_detected(
    story: tuple[RunningServer, str, dict[str, str]], tmp_path: Path
) -> None:
    vault, _, _ = story
    code = textwrap.dedent(
        f"""
        from huggingface_hub import hf_hub_download  # before the kernel points at the vault
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance()
        shell.run_line_magic("load_ext", "modelvault_jlab")
        print(repr(shell.run_line_magic("modelvault", "setup {vault.url} {vault.admin_token}")))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "huggingface_hub was imported before HF_ENDPOINT pointed at the vault" in proc.stdout
