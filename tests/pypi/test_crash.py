"""SIGKILL during a stream-through, then restart: nothing half-written is ever served."""

from __future__ import annotations

import hashlib
import signal
from pathlib import Path

import httpx

from tests.servers import running, start_standalone

from .conftest import create_repo, index_url, uid
from .dists import wheel_bytes, wheel_name
from .upstream import FaultyIndex

JSON = "application/vnd.pypi.simple.v1+json"


def test_sigkill_during_stream_through(tmp_path: Path, faulty: FaultyIndex) -> None:
    project = f"crash-{uid()}"
    scenario = f"s{uid()}"
    data = wheel_bytes(project, "1.0", payload=scenario.encode() + b"\0" * 3_000_000)
    sha = hashlib.sha256(data).hexdigest()
    faulty.add(scenario, {wheel_name(project, "1.0"): data}, file="gate")
    vault = tmp_path / "vault"
    with running(start_standalone(vault)) as server:
        key = create_repo(server, "pypi-remote", {"upstream": faulty.url(scenario)})
        page = httpx.get(
            index_url(server, key) + f"{project}/", headers={**server.headers(), "Accept": JSON}
        ).json()
        url_path = page["files"][0]["url"]
        with httpx.stream(
            "GET",
            index_url(server, key) + f"{project}/{url_path}",
            headers=server.headers(),
            timeout=30,
        ) as r:
            assert next(r.iter_raw())  # the transfer is under way, upstream blocked half-way
            assert list((vault / "blobs" / "tmp").iterdir()), "a partial temp file exists"
            server.kill(signal.SIGKILL)
    faulty.scenarios[scenario].gate.set()
    blob = vault / "blobs" / "sha256" / sha[:2] / sha[2:4] / sha
    assert not blob.exists()
    faulty.scenarios[scenario].file = "ok"
    with running(start_standalone(vault)) as server:
        assert not list((vault / "blobs" / "tmp").iterdir()), "restart removed the partial file"
        r = httpx.get(
            index_url(server, key) + f"{project}/{url_path}", headers=server.headers(), timeout=30
        )
        assert r.status_code == 200 and r.headers["X-ModelVault-Cache"] == "miss"
        assert hashlib.sha256(r.content).hexdigest() == sha
        assert faulty.count(scenario, "file") == 2
        assert blob.exists()
