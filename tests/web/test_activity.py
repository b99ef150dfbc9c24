"""``GET modelvault/api/activity`` against real servers: a cold transfer held in flight by a
stalling proxy in front of an upstream ModelVault, a bundle export held by a slow reader, and
who may see which operation."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi

from tests.bundles.conftest import APACHE_CARD
from tests.bundles.test_http import _repo, _upload_wheel
from tests.compat.test_hf_remote import BIG, _lfs_upload, _remote
from tests.faulty_upstream import FaultyProxy
from tests.pypi.test_remote import _file_url, _scenario
from tests.pypi.test_remote import _remote as _pypi_remote
from tests.pypi.upstream import FaultyIndex
from tests.servers import RunningServer, mint_token


@pytest.fixture
def big_model(upstream: RunningServer) -> tuple[str, bytes]:
    api = HfApi(endpoint=upstream.hf_endpoint(), token=upstream.admin_token)
    repo_id = f"up/act-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo_id)
    api.create_commit(repo_id, [CommitOperationAdd("README.md", APACHE_CARD)], commit_message="c")
    data = os.urandom(BIG)  # unique: never cached by an earlier test
    _lfs_upload(api, repo_id, "model.safetensors", data)
    return repo_id, data


def _activity(server: RunningServer, token: str | None = None) -> list[dict[str, Any]]:
    r = httpx.get(server.api("activity"), headers=server.headers(token), timeout=10)
    assert r.status_code == 200, r.text
    ops: list[dict[str, Any]] = r.json()["operations"]
    return ops


def _wait_for(
    server: RunningServer, found: Callable[[dict[str, Any]], bool], timeout: float = 20
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for op in _activity(server):
            if found(op):
                return op
        time.sleep(0.1)
    raise AssertionError(f"no such operation; last seen: {_activity(server)}")


def test_cold_transfer_is_listed_while_in_flight_then_gone(
    standalone_server: RunningServer,
    upstream: RunningServer,
    proxy: FaultyProxy,
    big_model: tuple[str, bytes],
) -> None:
    s = standalone_server
    repo_id, data = big_model
    key = _remote(s, upstream, proxy)
    HfApi(endpoint=s.hf_endpoint(key), token=s.admin_token).model_info(repo_id)
    other = f"other-{uuid.uuid4().hex[:6]}"
    _repo(s, other, "hf-local")
    outsider = mint_token(s.data_dir, "read", "outsider", other)
    reader = mint_token(s.data_dir, "read", "reader", key)
    proxy.release.clear()
    proxy.stall_seconds = 30
    proxy.mode = "stall"  # half the file, then wait for release
    body: list[bytes] = []
    url = f"{s.hf_endpoint(key)}/{repo_id}/resolve/main/model.safetensors"
    client = threading.Thread(
        target=lambda: body.append(httpx.get(url, headers=s.headers(), timeout=60).content)
    )
    client.start()
    try:
        subject = f"{repo_id}/model.safetensors"
        op = _wait_for(s, lambda o: o["subject"] == subject and o["bytes_done"] > 0)
        assert op["kind"] == "transfer" and op["repository"] == key
        assert op["total"] == BIG and 0 < op["bytes_done"] < BIG
        assert op["state"] == "running" and op["started_at"] > 0
        # A reader of the repository sees it; a token limited to another repository does not.
        assert [o["id"] for o in _activity(s, reader) if o["subject"] == subject] == [op["id"]]
        assert not [o for o in _activity(s, outsider) if o["subject"] == subject]
    finally:
        proxy.release.set()
        client.join(60)
        proxy.mode = "ok"
    assert body == [data]
    assert not [o for o in _activity(s) if o["subject"] == subject]


def test_failed_transfer_stays_listed_with_the_reason(
    standalone_server: RunningServer,
    upstream: RunningServer,
    proxy: FaultyProxy,
    big_model: tuple[str, bytes],
) -> None:
    s = standalone_server
    repo_id, _ = big_model
    key = _remote(s, upstream, proxy, timeout_seconds=4)
    HfApi(endpoint=s.hf_endpoint(key), token=s.admin_token).model_info(repo_id)
    proxy.mode = "short"  # fewer bytes than announced: verification fails
    try:
        with pytest.raises(httpx.HTTPError):
            r = httpx.get(
                f"{s.hf_endpoint(key)}/{repo_id}/resolve/main/model.safetensors",
                headers=s.headers(),
                timeout=30,
            )
            r.raise_for_status()
    finally:
        proxy.mode = "ok"
    op = _wait_for(
        s, lambda o: o["subject"] == f"{repo_id}/model.safetensors" and o["state"] == "failed"
    )
    # The server's own reason (which depends on where the transfer broke), never a blank.
    assert op["repository"] == key and op["total"] == BIG and op["bytes_done"] < BIG
    assert op["message"] and "Traceback" not in op["message"]


@pytest.fixture(scope="module")
def pypi_upstream() -> Iterator[FaultyIndex]:
    index = FaultyIndex()
    yield index
    index.close()


def test_cold_pypi_file_is_listed_under_its_repository(
    standalone_server: RunningServer, pypi_upstream: FaultyIndex
) -> None:
    s = standalone_server
    project = f"big-{uuid.uuid4().hex[:8]}"
    scenario = _scenario(pypi_upstream, project, big=4_000_000, file="gate")
    key = _pypi_remote(s, pypi_upstream, scenario)
    url, f = _file_url(s, key, project)
    gate = pypi_upstream.scenarios[scenario].gate
    try:
        with httpx.stream("GET", url, headers=s.headers(), timeout=60) as r:
            assert r.headers["X-ModelVault-Cache"] == "miss"
            op = _wait_for(s, lambda o: o["subject"] == f["filename"] and o["bytes_done"] > 0)
            # The upstream sent half and waits: the transfer is in flight, size known.
            assert op["kind"] == "transfer" and op["repository"] == key
            assert op["total"] == f["size"] and op["bytes_done"] < f["size"]
            gate.set()
            r.read()
    finally:
        gate.set()
    assert not [o for o in _activity(s) if o["subject"] == f["filename"]]


def test_export_is_listed_while_streaming_and_a_cut_short_one_fails(
    standalone_server: RunningServer,
) -> None:
    s = standalone_server
    tag = uuid.uuid4().hex[:8]
    size = 48 * 1024 * 1024  # far more than the socket buffers hold: the export waits on us
    r = httpx.put(
        s.api(f"files/blob-{tag}.bin"), content=bytes(size), headers=s.headers(), timeout=60
    )
    assert r.status_code == 201, r.text
    r = httpx.post(
        s.api("bundles"),
        json={
            "name": f"act-{tag}",
            "version": "1.0.0",
            "components": [{"kind": "file", "name": f"blob-{tag}.bin"}],
        },
        headers=s.headers(),
        timeout=60,
    )
    assert r.status_code == 201, r.text
    subject = f"act-{tag}@1.0.0"
    limited = f"lim-{tag}"
    _repo(s, limited, "hf-local")
    repo_reader = mint_token(s.data_dir, "read", "lim", limited)
    with httpx.stream(
        "GET", s.api(f"bundles/act-{tag}/1.0.0/archive"), headers=s.headers(), timeout=30
    ) as response:
        assert response.status_code == 200
        next(response.iter_raw(65536))  # read a little, then stall
        op = _wait_for(s, lambda o: o["subject"] == subject)
        assert op["kind"] == "export" and op["repository"] is None
        assert op["total"] == int(response.headers["Content-Length"]) > size
        assert 0 < op["bytes_done"] < op["total"]
        # Bundles are vault-wide: a token limited to one repository does not see exports.
        assert not [o for o in _activity(s, repo_reader) if o["subject"] == subject]
    op = _wait_for(s, lambda o: o["subject"] == subject and o["state"] == "failed")
    assert "cut short" in op["message"]


def test_package_projects_and_files_for_the_wizard(standalone_server: RunningServer) -> None:
    s = standalone_server
    tag = uuid.uuid4().hex[:8]
    key, pkg = f"pk-{tag}", f"pkg{tag}"
    _repo(s, key, "pypi-local")
    _upload_wheel(s, key, pkg, "1.0.0")
    _upload_wheel(s, key, pkg, "1.1.0")
    r = httpx.get(s.api(f"repositories/{key}/packages"), headers=s.headers())
    assert r.status_code == 200 and r.json() == {"projects": [pkg]}
    r = httpx.get(s.api(f"repositories/{key}/packages/{pkg}"), headers=s.headers())
    assert r.status_code == 200
    files = r.json()["files"]
    assert sorted(f["version"] for f in files) == ["1.0.0", "1.1.0"]
    assert all(len(f["sha256"]) == 64 and f["size"] > 0 for f in files)
    hub = f"hub-{tag}"
    _repo(s, hub, "hf-local")
    r = httpx.get(s.api(f"repositories/{hub}/packages"), headers=s.headers())
    assert r.status_code == 404 and "pypi" in r.json()["message"]
    outsider = mint_token(s.data_dir, "read", "outsider", hub)
    r = httpx.get(s.api(f"repositories/{key}/packages"), headers=s.headers(outsider))
    assert r.status_code == 403
