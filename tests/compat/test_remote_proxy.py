"""A remote repository's own ``proxy`` setting (no server-wide proxy variables).

The same real forward proxy (``proxy.py`` with Basic auth) and peer gate as
``test_egress_proxy.py``: the HTTPS upstream lets through only connections made by the proxy's
processes. A Hub remote and a PyPI remote with ``proxy`` set reach it (pages, API calls and file
bodies); a remote of the same upstream without it goes direct and is refused at the gate. The
proxy's password is masked in the API, absent from the log, and encrypted in the database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi

from tests.compat.test_egress_proxy import (  # noqa: F401  (proxy_server: a fixture)
    PROXY_PASSWORD,
    PROXY_USER,
    PeerGate,
    proxy_server,
)
from tests.compat.test_upstream_tls import _certificates
from tests.pypi.dists import wheel_bytes, wheel_name
from tests.servers import RunningServer, mint_token, running, start_standalone


@pytest.fixture(scope="module")
def gated(
    tmp_path_factory: pytest.TempPathFactory,
    upstream: RunningServer,
    proxy_server: tuple[int, int],  # noqa: F811
) -> Iterator[tuple[RunningServer, PeerGate]]:
    """A vault with no proxy variables (trusting the gate's CA), and the gate."""
    base = tmp_path_factory.mktemp("remote-proxy")
    ca, cert, key = _certificates(base)
    gate = PeerGate(upstream.port, cert, key, proxy_server[1])
    env = {"SSL_CERT_FILE": str(ca)}
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"):
        assert name not in os.environ and name.lower() not in os.environ
    with running(start_standalone(base / "vault", env=env)) as vault:
        yield vault, gate
    gate.close()


def _create(vault: RunningServer, kind: str, config: dict[str, object]) -> httpx.Response:
    key = f"{kind.split('-')[0]}-{uuid.uuid4().hex[:6]}"
    return httpx.post(
        vault.api("repositories"),
        json={"key": key, "kind": kind, "config": config},
        headers=vault.headers(),
    )


def _proxy_url(server: tuple[int, int]) -> str:
    return f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{server[0]}"


def test_a_remote_with_its_own_proxy_goes_through_it_and_one_without_does_not(
    gated: tuple[RunningServer, PeerGate],
    upstream: RunningServer,
    proxy_server: tuple[int, int],  # noqa: F811
) -> None:
    vault, gate = gated
    api = HfApi(endpoint=upstream.hf_endpoint(), token=upstream.admin_token)
    repo_id = f"up/rp-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo_id)
    api.upload_file(
        path_or_fileobj=b"---\nlicense: mit\n---\n", path_in_repo="README.md", repo_id=repo_id
    )
    body = os.urandom(2 * 1024 * 1024)
    api.upload_file(path_or_fileobj=body, path_in_repo="weights.bin", repo_id=repo_id)
    hub = f"https://127.0.0.1:{gate.port}/modelvault/hf/models"
    token = mint_token(upstream.data_dir, "read", "mirror")

    created = _create(
        vault,
        "hf-remote",
        {"upstream": hub, "upstream_token": token, "proxy": _proxy_url(proxy_server)},
    )
    assert created.status_code == 201, created.text
    config = created.json()["config"]
    assert config["proxy"] == f"http://127.0.0.1:{proxy_server[0]}"  # no credentials in the URL
    assert config["proxy_username"] == PROXY_USER and config["proxy_password"] == "***"
    assert PROXY_PASSWORD not in created.text
    via = created.json()["key"]

    accepted, refused = gate.accepted, gate.refused
    got = httpx.get(
        f"{vault.hf_endpoint(via)}/{repo_id}/resolve/main/weights.bin",
        headers=vault.headers(),
        timeout=60,
    )
    assert got.status_code == 200, got.text
    assert got.content == body
    files = HfApi(endpoint=vault.hf_endpoint(via), token=vault.admin_token).list_repo_files(repo_id)
    assert sorted(files) == ["README.md", "weights.bin"]
    assert gate.accepted >= accepted + 2 and gate.refused == refused  # API and file: proxied

    # the same upstream without a proxy setting: a direct connection, refused at the gate
    direct = _create(vault, "hf-remote", {"upstream": hub, "upstream_token": token})
    assert direct.status_code == 201, direct.text
    failed = httpx.get(
        f"{vault.hf_endpoint(direct.json()['key'])}/{repo_id}/resolve/main/weights.bin",
        headers=vault.headers(),
        timeout=60,
    )
    assert failed.status_code in (502, 503, 504), failed.text
    assert gate.refused > refused

    # read back and saved again as read ("***"): the stored password stays and still works
    shown = httpx.get(vault.api(f"repositories/{via}"), headers=vault.headers()).json()
    assert shown["config"]["proxy_password"] == "***" and PROXY_PASSWORD not in str(shown)
    again = httpx.patch(
        vault.api(f"repositories/{via}"),
        json={"config": {**shown["config"], "revision_ttl_seconds": 0}},
        headers=vault.headers(),
    )
    assert again.status_code == 200, again.text
    refreshed = httpx.get(
        f"{vault.hf_endpoint(via)}/{repo_id}/resolve/main/README.md", headers=vault.headers()
    )
    assert refreshed.status_code == 200, refreshed.text

    assert PROXY_PASSWORD not in vault.log()
    for name in os.listdir(vault.data_dir):  # encrypted at rest: the database and its WAL
        path = Path(vault.data_dir) / name
        if path.is_file():
            assert PROXY_PASSWORD.encode() not in path.read_bytes(), name


def test_a_pypi_remote_with_its_own_proxy(
    gated: tuple[RunningServer, PeerGate],
    upstream: RunningServer,
    proxy_server: tuple[int, int],  # noqa: F811
) -> None:
    vault, gate = gated
    local = f"pypi-{uuid.uuid4().hex[:6]}"
    r = httpx.post(
        upstream.api("repositories"),
        json={"key": local, "kind": "pypi-local", "config": {}},
        headers=upstream.headers(),
    )
    assert r.status_code == 201, r.text
    project = f"proxied-{uuid.uuid4().hex[:6]}"
    wheel = wheel_bytes(project, "1.0")
    r = httpx.post(
        f"{upstream.url}modelvault/pypi/{local}/",
        data={":action": "file_upload", "protocol_version": "1"},
        files={"content": (wheel_name(project, "1.0"), wheel)},
        auth=("__token__", upstream.admin_token),
    )
    assert r.status_code == 200, r.text

    index = f"https://127.0.0.1:{gate.port}/modelvault/pypi/{local}/simple/"
    created = _create(
        vault,
        "pypi-remote",
        {
            "upstream": index,
            "upstream_username": "__token__",
            "upstream_password": upstream.admin_token,
            "proxy": _proxy_url(proxy_server),
        },
    )
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    refused = gate.refused
    page = httpx.get(
        f"{vault.url}modelvault/pypi/{key}/simple/{project}/",
        headers={**vault.headers(), "Accept": "application/vnd.pypi.simple.v1+json"},
        timeout=30,
    )
    assert page.status_code == 200, page.text
    (link,) = page.json()["files"]
    got = httpx.get(httpx.URL(page.url).join(link["url"]), headers=vault.headers(), timeout=60)
    assert got.status_code == 200, got.text
    assert got.content == wheel
    assert gate.refused == refused  # page and file both went through the proxy


@pytest.mark.parametrize(
    ("proxy", "message"),
    [
        ("https://127.0.0.1:3128", "only http://"),
        ("http://169.254.169.254:80", "metadata"),
        ("http://127.0.0.1:99999", "invalid port"),
        ("http://127.0.0.1:3128/some/path", "no path"),
    ],
)
def test_an_unusable_proxy_setting_is_refused(
    gated: tuple[RunningServer, PeerGate], proxy: str, message: str
) -> None:
    vault, _ = gated
    r = _create(vault, "hf-remote", {"upstream": "https://example.org", "proxy": proxy})
    assert r.status_code == 400, r.text
    assert message in r.text
