"""Fixtures for the PyPI side: a fault-injecting upstream, scrubbed client environments and
helpers to create repositories on the shared real servers (tests/conftest.py `server`)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import RunningServer

from .upstream import FaultyIndex

BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def faulty() -> Iterator[FaultyIndex]:
    index = FaultyIndex()
    yield index
    index.close()


def uid() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture
def client_env(tmp_path: Path) -> dict[str, str]:
    """pip/uv/twine isolated from this machine's config (find-links, extra indexes, netrc)."""
    home = tmp_path / "client-home"
    home.mkdir()
    return {
        "HOME": str(home),
        "PATH": f"{BIN}:/usr/bin:/bin",
        "PIP_CONFIG_FILE": "/dev/null",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_INPUT": "1",
        "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
        "UV_NO_CONFIG": "1",
        "UV_PYTHON": sys.executable,
        "NO_COLOR": "1",
    }


def run(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        list(args), env=env, capture_output=True, text=True, timeout=180, cwd=env["HOME"]
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{args[:3]} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def create_repo(
    server: RunningServer,
    kind: str,
    config: dict[str, object] | None = None,
    *,
    key: str | None = None,
    public: bool = False,
) -> str:
    key = key or f"{kind}-{uid()}"
    r = httpx.post(
        server.api("repositories"),
        headers=server.headers(),
        json={"key": key, "kind": kind, "config": config or {}, "public": public},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    return key


def index_url(server: RunningServer, key: str, token: str | None = None) -> str:
    url = f"{server.url}modelvault/pypi/{key}/simple/"
    if token is None:
        return url
    return url.replace("http://", f"http://__token__:{token}@", 1)


def upload_url(server: RunningServer, key: str) -> str:
    return f"{server.url}modelvault/pypi/{key}/"


@pytest.fixture(autouse=True)
def _no_client_config(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("PIP_", "UV_", "TWINE_")):
            monkeypatch.delenv(name, raising=False)
