"""A real third-party upstream: pypiserver (HTML only, no PEP 658) behind a pypi-remote."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import RunningServer, free_port, mint_token

from .conftest import create_repo, index_url, run, uid
from .dists import write_sdist, write_wheel

JSON = "application/vnd.pypi.simple.v1+json"


@pytest.fixture(scope="module")
def pypiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    folder = tmp_path_factory.mktemp("pypiserver")
    name = f"pps-{uid()}"
    write_wheel(folder, name, "1.0", requires_python=">=3.8")
    write_sdist(folder, name, "1.0")
    port = free_port()
    exe = Path(sys.executable).parent / "pypi-server"
    proc = subprocess.Popen(
        [
            str(exe),
            "run",
            "-i",
            "127.0.0.1",
            "-p",
            str(port),
            "-a",
            ".",
            "-P",
            ".",
            "--disable-fallback",
            "--hash-algo",
            "sha256",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/simple/"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    yield url, name
    proc.terminate()
    proc.wait(10)


def test_pip_download_and_uv_through_pypiserver(
    standalone_server: RunningServer,
    pypiserver: tuple[str, str],
    tmp_path: Path,
    client_env: dict[str, str],
) -> None:
    server = standalone_server
    upstream, name = pypiserver
    key = create_repo(server, "pypi-remote", {"upstream": upstream})
    token = mint_token(server.data_dir, "read", "dev", key)
    page = httpx.get(
        index_url(server, key) + f"{name}/", headers={**server.headers(), "Accept": JSON}
    ).json()
    assert len(page["files"]) == 2 and all(f["core-metadata"] is False for f in page["files"])
    run(
        {**client_env, "PIP_INDEX_URL": index_url(server, key, token)},
        "pip",
        "download",
        "--no-cache-dir",
        "--no-deps",
        "-d",
        str(tmp_path / "dl"),
        name,
    )
    assert [p.suffix for p in (tmp_path / "dl").iterdir()] == [".whl"]
    # once cached, ModelVault extracts and advertises the wheel's METADATA itself (PEP 658)
    page = httpx.get(
        index_url(server, key) + f"{name}/", headers={**server.headers(), "Accept": JSON}
    ).json()
    wheel = next(f for f in page["files"] if f["filename"].endswith(".whl"))
    assert wheel["core-metadata"]["sha256"]
    uv = run(
        {**client_env, "UV_INDEX_URL": index_url(server, key, token)},
        "uv",
        "pip",
        "install",
        "--no-cache",
        "--target",
        str(tmp_path / "t"),
        name,
    )
    assert f"+ {name}==1.0" in uv.stderr
