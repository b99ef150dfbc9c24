"""An authenticated pypi-remote upstream: the credentials reach the index (pages, files,
metadata) and nothing else — not another origin, not a redirect target, not the repository
listing, not a log line, not the database in the clear."""

from __future__ import annotations

import asyncio
import base64
import logging
import sqlite3
from pathlib import Path

import httpx
import pytest

from modelvault_jlab.core.pypi.ports import UpstreamCredentials
from modelvault_jlab.upstream.log_filter import mask_client_logs
from modelvault_jlab.upstream.pypi_http import HttpxPypiUpstream
from tests.servers import RunningServer, mint_token

from .conftest import create_repo, index_url, run, uid
from .dists import wheel_bytes, wheel_name
from .upstream import FaultyIndex


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _authenticated(
    faulty: FaultyIndex, password: str, scenario: str | None = None, **options: object
) -> tuple[str, str]:
    scenario, project = scenario or f"s{uid()}", f"priv-{uid()}"
    wheel = wheel_bytes(project, "1.0", payload=scenario.encode())
    faulty.add(
        scenario, {wheel_name(project, "1.0"): wheel}, auth=_basic("alice", password), **options
    )
    return scenario, project


def _secret_free(text: str, password: str) -> None:
    assert password not in text
    assert base64.b64encode(f"alice:{password}".encode()).decode() not in text


def test_authenticated_upstream_serves_files_and_keeps_its_secret(
    standalone_server: RunningServer,
    faulty: FaultyIndex,
    tmp_path: Path,
    client_env: dict[str, str],
) -> None:
    server = standalone_server
    password = f"pw-{uid()}/@:x"
    scenario, project = _authenticated(faulty, password)
    quoted = password.replace("/", "%2F").replace("@", "%40").replace(":", "%3A")
    upstream = faulty.url(scenario).replace("http://", f"http://alice:{quoted}@", 1)
    key = create_repo(server, "pypi-remote", {"upstream": upstream})

    reader = mint_token(server.data_dir, "read", "rita", key)
    for token in (server.admin_token, reader):
        listing = httpx.get(server.api("repositories"), headers=server.headers(token)).text
        _secret_free(listing, password)
    config = next(
        r["config"]
        for r in httpx.get(server.api("repositories"), headers=server.headers()).json()[
            "repositories"
        ]
        if r["key"] == key
    )
    assert config["upstream"] == faulty.url(scenario)  # the userinfo moved out of the URL
    assert config["upstream_username"] == "alice" and config["upstream_password"] == "***"

    run(
        {**client_env, "PIP_INDEX_URL": index_url(server, key, reader)},
        "pip",
        "install",
        "--no-cache-dir",
        "--no-deps",
        "--target",
        str(tmp_path / "t"),
        project,
    )
    assert any(p.name.endswith(".dist-info") for p in (tmp_path / "t").iterdir())
    mine = [r for r in faulty.requests if f"/{scenario}/" in str(r["path"])]
    assert {str(r["path"]).split("/")[2] for r in mine} == {"simple", "files"}
    assert all(r["auth"] == _basic("alice", password) for r in mine)

    # Re-saving the config as read back (password "***") keeps the credentials.
    r = httpx.patch(
        server.api(f"repositories/{key}"),
        headers=server.headers(),
        json={"config": {**config, "ttl_seconds": 0}},
    )
    assert r.status_code == 200, r.text
    _secret_free(r.text, password)
    seen = len(faulty.requests)
    page = httpx.get(index_url(server, key) + f"{project}/", headers=server.headers())
    assert page.status_code == 200
    again = [r for r in faulty.requests[seen:] if f"/{scenario}/" in str(r["path"])]
    assert again and all(r["auth"] == _basic("alice", password) for r in again)

    _secret_free(server.log(), password)
    database = server.data_dir / "metadata.sqlite3"
    with sqlite3.connect(database) as db:
        stored = db.execute("SELECT config FROM repositories WHERE key = ?", (key,)).fetchone()[0]
    assert "enc:v1:" in stored
    for path in server.data_dir.glob("metadata.sqlite3*"):
        _secret_free(path.read_bytes().decode("latin-1"), password)


@pytest.mark.parametrize("where", ["files_base", "redirect_files"])
def test_credentials_never_cross_origins(
    standalone_server: RunningServer, faulty: FaultyIndex, where: str
) -> None:
    """Files listed on another host, or redirected there, are fetched without credentials."""
    server = standalone_server
    password = f"pw-{uid()}"
    scenario = f"s{uid()}"
    other_origin = f"http://localhost:{faulty.port}/{scenario}/files/"
    _, project = _authenticated(faulty, password, scenario, **{where: other_origin})
    key = create_repo(
        server,
        "pypi-remote",
        {
            "upstream": faulty.url(scenario),
            "upstream_username": "alice",
            "upstream_password": password,
        },
    )
    page = httpx.get(
        index_url(server, key) + f"{project}/",
        headers={**server.headers(), "Accept": "application/vnd.pypi.simple.v1+json"},
    )
    assert page.status_code == 200, page.text
    f = page.json()["files"][0]
    got = httpx.get(index_url(server, key) + f"{project}/" + f["url"], headers=server.headers())
    assert got.status_code == 200, got.text
    mine = [r for r in faulty.requests if f"/{scenario}/" in str(r["path"])]
    on_index = [r for r in mine if str(r["host"]).startswith("127.0.0.1")]
    elsewhere = [r for r in mine if str(r["host"]).startswith("localhost")]
    assert on_index and elsewhere, mine
    assert all(r["auth"] == _basic("alice", password) for r in on_index)
    assert all(r["auth"] is None for r in elsewhere)


def test_client_logs_no_credentials(faulty: FaultyIndex, caplog: pytest.LogCaptureFixture) -> None:
    password = f"pw-{uid()}"
    scenario, project = _authenticated(faulty, password)
    auth = UpstreamCredentials.for_index(faulty.url(scenario), "alice", password)
    caplog.set_level(logging.DEBUG)

    async def fetch() -> None:
        client = HttpxPypiUpstream(user_agent="test")
        try:
            page = await client.fetch_page(
                f"{faulty.url(scenario)}{project}/", etag=None, timeout=10, auth=auth
            )
            assert page.status == 200 and page.links
            url = page.links[0].url
            data = await client.fetch_small(url, limit=1 << 20, timeout=10, auth=auth)
            assert data.startswith(b"PK")
        finally:
            await client.aclose()

    asyncio.run(fetch())
    assert "HTTP Request" in caplog.text  # httpx did log the requests...
    _secret_free(caplog.text, password)  # ...without the credentials
    assert password not in repr(auth)


def test_urls_with_credentials_are_masked_in_http_client_logs(
    faulty: FaultyIndex, caplog: pytest.LogCaptureFixture
) -> None:
    """Defence in depth: a URL an upstream hands over with ``user:password@`` (a redirect, a
    file link) is masked in httpx's own log lines."""
    password = f"pw-{uid()}"
    mask_client_logs()
    caplog.set_level(logging.INFO)
    httpx.get(f"http://bob:{password}@127.0.0.1:{faulty.port}/none/simple/")
    assert "HTTP Request" in caplog.text and "bob:***@" in caplog.text
    assert password not in caplog.text
