"""PyPI file downloads redirected to presigned S3 URLs: pip and uv follow the 302 to the object
store (another origin, so they do not send the vault credentials there) and install."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.s3_service import S3Service, start_standalone_on_s3
from tests.servers import RunningServer, mint_token, running

from .conftest import create_repo, index_url, run, uid, upload_url
from .dists import write_wheel


@pytest.fixture(scope="module")
def redirecting(
    s3_service: S3Service, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    server, _ = start_standalone_on_s3(
        tmp_path_factory.mktemp("pypi-s3") / "vault", s3_service, redirect=True
    )
    with running(server):
        yield server


def test_pip_and_uv_install_through_a_redirect(
    redirecting: RunningServer, s3_service: S3Service, tmp_path: Path, client_env: dict[str, str]
) -> None:
    server = redirecting
    key = create_repo(server, "pypi-local")
    name = f"s3-pkg-{uid()}"
    wheel = write_wheel(tmp_path / "dists", name, "1.0.0")
    writer = mint_token(server.data_dir, "write", "ci", key)
    run(
        {**client_env, "TWINE_USERNAME": "__token__", "TWINE_PASSWORD": writer},
        "twine",
        "upload",
        "--non-interactive",
        "--disable-progress-bar",
        "--repository-url",
        upload_url(server, key),
        str(wheel),
    )
    reader = mint_token(server.data_dir, "read", "dev", key)

    page = httpx.get(
        f"{index_url(server, key)}{name}/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json", **server.headers(reader)},
    ).json()
    file_url = httpx.URL(f"{index_url(server, key)}{name}/").join(page["files"][0]["url"])
    r = httpx.get(file_url, headers=server.headers(reader))
    assert r.status_code == 302
    location = urlsplit(r.headers["location"])
    assert f"{location.hostname}:{location.port}" == s3_service.host
    assert httpx.get(r.headers["location"]).content == wheel.read_bytes()

    pip = run(
        {**client_env, "PIP_INDEX_URL": index_url(server, key, reader)},
        "pip",
        "install",
        "--no-cache-dir",
        "--no-deps",
        "--target",
        str(tmp_path / "t1"),
        name,
    )
    assert "Successfully installed" in pip.stdout
    uv = run(
        {**client_env, "UV_INDEX_URL": index_url(server, key, reader)},
        "uv",
        "pip",
        "install",
        "--no-cache",
        "--no-deps",
        "--target",
        str(tmp_path / "t2"),
        name,
    )
    assert f"+ {name}" in uv.stderr, uv.stderr
