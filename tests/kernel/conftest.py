"""A Jupyter server with ModelVault whose kernels get the vault environment, including a default
PyPI repository; kernels import modelvault_jlab from this checkout (PYTHONPATH)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.pypi.dists import write_wheel
from tests.servers import RunningServer, running, start_jupyter

REPO_ROOT = Path(__file__).resolve().parents[2]
PYPI_KEY = "kernel-pypi"
WHEEL = "kernel-dep"


@contextlib.contextmanager
def server_env(config_dir: Path, config: str) -> Iterator[None]:
    """Environment for a server started now: a config dir and this checkout importable."""
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "jupyter_server_config.py").write_text(config)
    saved = {k: os.environ.get(k) for k in ("JUPYTER_CONFIG_DIR", "PYTHONPATH")}
    os.environ["JUPYTER_CONFIG_DIR"] = str(config_dir)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT), saved["PYTHONPATH"]) if p
    )
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="session")
def kernel_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    base = tmp_path_factory.mktemp("kernels")
    config = f"c.VaultSettings.kernel_pypi_repository = {PYPI_KEY!r}\n"
    with server_env(base / "config", config):
        server = start_jupyter(base / "vault", base / "root")
    with running(server):
        r = httpx.post(
            server.api("repositories"),
            json={"key": PYPI_KEY, "kind": "pypi-local"},
            headers=server.headers(),
            timeout=30,
        )
        assert r.status_code == 201, r.text
        wheel = write_wheel(base / "dists", WHEEL, "1.0.0")
        subprocess.run(
            [
                str(Path(sys.executable).parent / "twine"),
                "upload",
                "--non-interactive",
                "--disable-progress-bar",
                "--repository-url",
                f"{server.url}modelvault/pypi/{PYPI_KEY}/",
                str(wheel),
            ],
            env={
                **os.environ,
                "TWINE_USERNAME": "__token__",
                "TWINE_PASSWORD": server.admin_token,
            },
            check=True,
            capture_output=True,
            timeout=120,
        )
        yield server


@pytest.fixture(scope="session")
def disabled_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """ModelVault enabled, its kernel environment switched off."""
    base = tmp_path_factory.mktemp("kernels-off")
    with server_env(base / "config", "c.VaultSettings.kernel_env_enabled = False\n"):
        server = start_jupyter(base / "vault", base / "root")
    with running(server):
        yield server
