"""pypi-remote with ``cache_quota_bytes``: the wheel read least recently is evicted when a new
one would not fit, audited, and fetched from the upstream again on its next request."""

from __future__ import annotations

import hashlib
import time

import httpx

from tests.servers import RunningServer

from .conftest import create_repo, index_url, uid
from .dists import wheel_bytes, wheel_name
from .upstream import FaultyIndex

JSON = "application/vnd.pypi.simple.v1+json"


def _file(server: RunningServer, key: str, project: str) -> tuple[str, int, bytes]:
    """The file's URL, size, and its bytes as served."""
    page = httpx.get(
        index_url(server, key) + f"{project}/",
        headers={**server.headers(), "Accept": JSON},
        timeout=60,
    )
    assert page.status_code == 200, page.text
    f = page.json()["files"][0]
    url = index_url(server, key) + f"{project}/" + f["url"]
    got = httpx.get(url, headers=server.headers(), timeout=60)
    assert got.status_code == 200, got.text
    return url, int(f["size"]), got.content


def _evicted(server: RunningServer, key: str) -> list[str]:
    events = httpx.get(
        server.api("audit"),
        params={"action": "cache.evicted", "repository": key, "limit": 100},
        headers=server.headers(),
    ).json()["events"]
    return [str(e["subject"]) for e in reversed(events)]


def test_pypi_remote_evicts_the_least_recently_read_wheel(
    standalone_server: RunningServer, faulty: FaultyIndex
) -> None:
    server = standalone_server
    scenario = f"s{uid()}"
    projects = [f"quota-{n}-{uid()}" for n in "abc"]
    wheels = {
        p: wheel_bytes(p, "1.0", payload=f"{scenario}:{p}".encode() + bytes(range(256)) * 120)
        for p in projects
    }
    faulty.add(scenario, {wheel_name(p, "1.0"): w for p, w in wheels.items()})
    largest = max(len(w) for w in wheels.values())
    key = create_repo(
        server,
        "pypi-remote",
        {"upstream": faulty.url(scenario), "cache_quota_bytes": 2 * largest + largest // 2},
    )
    a, b, c = projects
    for p in (a, b):
        assert _file(server, key, p)[2] == wheels[p]
        time.sleep(1.2)  # entries are recorded once stored; keep the order unambiguous
    assert _file(server, key, a)[2] == wheels[a]  # a warm read: b is now the oldest
    assert _file(server, key, c)[2] == wheels[c]
    sha = {p: hashlib.sha256(w).hexdigest() for p, w in wheels.items()}
    assert _evicted(server, key) == [sha[b]]

    before = faulty.count(scenario, "file")
    assert _file(server, key, b)[2] == wheels[b]  # fetched from the upstream again
    assert faulty.count(scenario, "file") == before + 1
    assert _evicted(server, key) == [sha[b], sha[a]]
