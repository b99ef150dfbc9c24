"""A real third-party upstream: pypiserver (HTML only, no PEP 658) behind a pypi-remote."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import RunningServer, mint_token, start_pypiserver, stop_group

from .conftest import create_repo, index_url, run, uid
from .dists import write_sdist, write_wheel

JSON = "application/vnd.pypi.simple.v1+json"


@pytest.fixture(scope="module")
def pypiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    folder = tmp_path_factory.mktemp("pypiserver")
    name = f"pps-{uid()}"
    write_wheel(folder, name, "1.0", requires_python=">=3.8")
    write_sdist(folder, name, "1.0")
    proc, url = start_pypiserver(folder, folder.parent)
    yield url, name
    stop_group(proc)


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
