"""Units of the kernel integration that need no server: the environment, the kernel manager hook
(never breaks a kernel), lineage subjects, lock building, masking."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from modelvault_jlab.jupyter.kernel_env import (
    KernelEnvHook,
    KernelEnvOptions,
    install,
    parse_description,
    token_description,
    vault_env,
)
from modelvault_jlab.magics.client import Connection, VaultClient, connection_from_env, split_repo
from modelvault_jlab.magics.commands import masked
from modelvault_jlab.magics.lockfile import build_lock
from modelvault_jlab.magics.release import lock_components
from modelvault_jlab.web.api.lineage import subject_prefixes

OPTIONS = KernelEnvOptions("models", "", 3600.0, {"HF_HUB_ETAG_TIMEOUT": "60"})


def test_vault_env_without_and_with_a_pypi_repository() -> None:
    env = vault_env("http://h:1/jp/", "mvt_a_b/c", OPTIONS)
    assert env["HF_ENDPOINT"] == "http://h:1/jp/modelvault/hf/models"
    assert env["HF_TOKEN"] == "mvt_a_b/c" and env["HF_HUB_ETAG_TIMEOUT"] == "60"
    assert "PIP_INDEX_URL" not in env and "UV_INDEX_URL" not in env
    env = vault_env(
        "http://h:1/",
        "mvt_a_b/c",
        OPTIONS.__class__(**{**OPTIONS.__dict__, "pypi_repository": "py"}),
    )
    assert env["PIP_INDEX_URL"] == "http://__token__:mvt_a_b%2Fc@h:1/modelvault/pypi/py/simple/"


class FakeKernelManager:
    def __init__(self) -> None:
        self.started: list[dict[str, Any]] = []

    def __contains__(self, kernel_id: str) -> bool:
        return any(k["kernel_id"] == kernel_id for k in self.started)

    async def start_kernel(self, **kwargs: Any) -> str:
        self.started.append(kwargs)
        return str(kwargs["kernel_id"])

    async def shutdown_kernel(self, kernel_id: str, **kwargs: Any) -> None:
        return None


class BrokenHook(KernelEnvHook):
    def env_for(
        self, kernel_id: str, notebook: str | None, kernel_name: str | None
    ) -> dict[str, str]:
        raise RuntimeError("vault storage is gone")


def test_a_failing_vault_never_breaks_kernel_start() -> None:
    km = FakeKernelManager()
    hook = BrokenHook(None, OPTIONS, lambda: "http://h/")  # type: ignore[arg-type]
    assert install(km, hook) and not install(km, hook)  # wrapped once
    kernel_id = asyncio.run(km.start_kernel(kernel_name="python3", env={"A": "1"}))
    assert km.started[0]["env"] == {"A": "1"} and kernel_id == km.started[0]["kernel_id"]


def test_token_description_round_trip() -> None:
    text = token_description("k1", "work/a.ipynb", "python3")
    assert parse_description(text)["notebook"] == "work/a.ipynb"
    assert parse_description("a laptop token") == {}


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("acme/bert", ["models/acme/bert@", "datasets/acme/bert@"]),
        ("models/acme/bert", ["models/acme/bert@"]),
        (
            "acme/bert@" + "a" * 40,
            ["models/acme/bert@" + "a" * 40, "datasets/acme/bert@" + "a" * 40],
        ),
        ("My.Pkg", ["My.Pkg", "my_pkg", "my_pkg-"]),
    ],
)
def test_lineage_subjects(subject: str, expected: list[str]) -> None:
    assert sorted(subject_prefixes(subject)) == sorted(expected)


def test_lock_and_bundle_components() -> None:
    client = VaultClient(Connection("http://h/", "t"))
    fetches: list[dict[str, Any]] = [
        {
            "action": "hub.file.download",
            "repository": "models",
            "repo_type": "model",
            "repo_id": "a/b",
            "commit": "c" * 40,
            "path": "w.bin",
            "sha256": "s",
            "size": 1,
        },
        {
            "action": "hub.file.download",
            "repository": "models",
            "repo_type": "model",
            "repo_id": "a/b",
            "commit": "c" * 40,
            "path": "config.json",
            "sha256": "",
            "size": 2,
        },
        {
            "action": "pypi.file.download",
            "repository": "py",
            "subject": "dep_x-1.2-py3-none-any.whl",
            "sha256": "d" * 64,
        },
    ]
    lock = build_lock(client, fetches)
    client.close()
    [model] = lock["models"]
    assert [f["path"] for f in model["files"]] == ["config.json", "w.bin"]
    assert model["files"][0]["sha256"] is None
    assert lock["packages"][0]["url"].endswith(
        f"/modelvault/pypi/py/files/{'d' * 64}/dep_x-1.2-py3-none-any.whl"
    )
    hub, pkg = lock_components(lock)
    assert hub["revision"] == "c" * 40
    assert (pkg["name"], pkg["version"]) == ("dep_x", "1.2")


def test_connection_from_kernel_env_and_masking() -> None:
    conn = connection_from_env({"HF_ENDPOINT": "http://h:8/jp/modelvault/hf/team", "HF_TOKEN": "t"})
    assert (conn.base_url, conn.token, conn.hf_repository) == ("http://h:8/jp/", "t", "team")
    assert split_repo("k:a/b", "models") == ("k", "a/b") and split_repo("a/b", "m") == ("m", "a/b")
    assert masked("PIP_INDEX_URL", "http://__token__:secret@h/") == "http://__token__:***@h/"
    assert "secret" not in masked("HF_TOKEN", "mvt_0123456789ab_secretsecret")
