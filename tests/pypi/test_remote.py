"""pypi-remote against a real, fault-injecting upstream on 127.0.0.1 (tests/pypi/upstream.py)."""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import RunningServer, mint_token

from .conftest import create_repo, index_url, run, uid
from .dists import wheel_bytes, wheel_name
from .upstream import FaultyIndex

JSON = "application/vnd.pypi.simple.v1+json"


def _scenario(faulty: FaultyIndex, *projects: str, big: int = 0, **options: object) -> str:
    """A fresh scenario whose files are unique to it (so no blob is shared with other tests)."""
    name = f"s{uid()}"
    files = {}
    for p in projects:
        salt = f"{name}:{p}".encode() * 4
        files[wheel_name(p, "1.0")] = wheel_bytes(p, "1.0", payload=salt + b"\0" * big)
    faulty.add(name, files, **options)
    return name


def _remote(server: RunningServer, faulty: FaultyIndex, scenario: str, **config: object) -> str:
    return create_repo(server, "pypi-remote", {"upstream": faulty.url(scenario), **config})


def _page(server: RunningServer, key: str, project: str) -> httpx.Response:
    return httpx.get(
        index_url(server, key) + f"{project}/",
        headers={**server.headers(), "Accept": JSON},
        timeout=60,
    )


def _file_url(server: RunningServer, key: str, project: str) -> tuple[str, dict[str, object]]:
    r = _page(server, key, project)
    assert r.status_code == 200, r.text
    f = r.json()["files"][0]
    return index_url(server, key) + f"{project}/" + f["url"], f


def test_pip_and_uv_through_remote(
    server: RunningServer, faulty: FaultyIndex, tmp_path: Path, client_env: dict[str, str]
) -> None:
    app, dep = f"app-{uid()}", f"dep-{uid()}"
    scenario = f"s{uid()}"
    faulty.add(
        scenario,
        {
            wheel_name(app, "1.0"): wheel_bytes(app, "1.0", deps=(dep,), payload=scenario.encode()),
            wheel_name(dep, "1.0"): wheel_bytes(dep, "1.0", payload=scenario.encode()),
            wheel_name(dep, "2.0"): wheel_bytes(dep, "2.0", payload=scenario.encode()),
        },
        yanked={wheel_name(dep, "2.0"): "broken build"},
        page="html",
    )
    key = _remote(server, faulty, scenario)
    token = mint_token(server.data_dir, "read", "dev", key)
    # rewritten pages: relative URLs to ModelVault, hashes, metadata, yanked, requires-python
    page = _page(server, key, dep).json()
    by_name = {f["filename"]: f for f in page["files"]}
    yanked = by_name[wheel_name(dep, "2.0")]
    assert yanked["yanked"] == "broken build"
    assert yanked["url"].startswith("../../files/") and yanked["requires-python"] == ">=3.8"
    assert yanked["core-metadata"]["sha256"]
    html = httpx.get(index_url(server, key) + f"{dep}/", headers=server.headers()).text
    assert 'data-yanked="broken build"' in html and "127.0.0.1:" not in html

    pip = run(
        {**client_env, "PIP_INDEX_URL": index_url(server, key, token)},
        "pip",
        "install",
        "--no-cache-dir",
        "--target",
        str(tmp_path / "t1"),
        app,
    )
    assert f"{dep}-1.0" in pip.stdout  # the yanked 2.0 was skipped
    assert faulty.count(scenario, "file") == 2
    uv = run(
        {**client_env, "UV_INDEX_URL": index_url(server, key, token)},
        "uv",
        "pip",
        "install",
        "--no-cache",
        "--target",
        str(tmp_path / "t2"),
        app,
    )
    assert f"+ {dep}==1.0" in uv.stderr
    assert faulty.count(scenario, "file") == 2, "warm installs never go upstream for files"
    assert all(r["auth"] is None for r in faulty.requests if scenario in str(r["path"])), (
        "client credentials must never reach the upstream"
    )
    audit = httpx.get(
        server.api("audit"), params={"repository": key}, headers=server.headers()
    ).json()["events"]
    caches = sorted(e["detail"]["cache"] for e in audit if e["action"] == "pypi.file.download")
    assert caches == ["hit", "hit", "miss", "miss"]


def test_stream_through_and_single_flight(
    standalone_server: RunningServer, faulty: FaultyIndex
) -> None:
    server = standalone_server
    project = f"big-{uid()}"
    scenario = _scenario(faulty, project, big=4_000_000, file="gate")
    key = _remote(server, faulty, scenario)
    url, f = _file_url(server, key, project)
    gate = faulty.scenarios[scenario].gate
    results: list[bytes] = []

    def follower() -> None:
        results.append(httpx.get(url, headers=server.headers(), timeout=60).content)

    with httpx.stream("GET", url, headers=server.headers(), timeout=60) as leader:
        assert leader.headers["X-ModelVault-Cache"] == "miss"
        assert leader.headers["Content-Length"] == str(f["size"])
        chunks = leader.iter_raw()
        first = next(chunks)  # arrives while the upstream is still blocked half-way
        assert first and not gate.is_set()
        threads = [threading.Thread(target=follower) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        assert faulty.count(scenario, "file") == 1
        gate.set()
        body = first + b"".join(chunks)
    for t in threads:
        t.join()
    assert hashlib.sha256(body).hexdigest() == f["hashes"]["sha256"]
    assert [hashlib.sha256(b).hexdigest() for b in results] == [f["hashes"]["sha256"]] * 4
    assert faulty.count(scenario, "file") == 1, "N concurrent cold requests, 1 upstream fetch"
    again = httpx.get(url, headers=server.headers())
    assert again.headers["X-ModelVault-Cache"] == "hit" and again.content == body


@pytest.mark.parametrize("mode", ["reset", "short", "wrong", "500"])
def test_broken_transfers_cache_nothing(
    standalone_server: RunningServer, faulty: FaultyIndex, mode: str
) -> None:
    server = standalone_server
    project = f"broken-{uid()}"
    scenario = _scenario(faulty, project, big=300_000, file=mode)
    key = _remote(server, faulty, scenario)
    url, f = _file_url(server, key, project)
    received = b""
    expect = pytest.raises(httpx.HTTPError) if mode != "500" else contextlib.nullcontext()
    with expect, httpx.stream("GET", url, headers=server.headers(), timeout=30) as r:
        if mode == "500":
            assert r.status_code == 502
            r.read()
            assert "answered HTTP 500" in r.reason_phrase
        else:
            for chunk in r.iter_raw():
                received += chunk
    assert len(received) < int(f["size"]), "the client never gets a complete wrong file"
    blob = server.data_dir / "blobs" / "sha256" / f["hashes"]["sha256"][:2]
    assert not (blob / f["hashes"]["sha256"][2:4] / f["hashes"]["sha256"]).exists()
    # once the upstream behaves, the file is fetched again (nothing was cached) and served whole
    faulty.scenarios[scenario].file = "ok"
    good = httpx.get(url, headers=server.headers(), timeout=30)
    assert good.status_code == 200
    assert hashlib.sha256(good.content).hexdigest() == f["hashes"]["sha256"]
    assert faulty.count(scenario, "file") == 2


def test_page_failures_serve_stale_or_explain(
    standalone_server: RunningServer, faulty: FaultyIndex
) -> None:
    server = standalone_server
    cached, fresh = f"cached-{uid()}", f"fresh-{uid()}"
    scenario = _scenario(faulty, cached, fresh)
    key = _remote(server, faulty, scenario, ttl_seconds=0, timeout_seconds=1)
    assert _page(server, key, cached).status_code == 200
    for mode, expected in [
        ("500", "answered HTTP 500"),
        ("429", "answered HTTP 429"),
        ("malformed", "malformed index page"),
        ("hang", "timed out after 1s"),
    ]:
        faulty.scenarios[scenario].page = mode
        stale = _page(server, key, cached)
        assert stale.status_code == 200, (mode, stale.text)
        assert stale.headers["X-ModelVault-Notice"].startswith("stale; upstream failed")
        assert expected in stale.headers["X-ModelVault-Notice"]
        missing = _page(server, key, fresh)
        assert missing.status_code == 502, (mode, missing.text)
        assert expected in missing.reason_phrase and f"'{fresh}' is not cached" in missing.text
    assert "Serving stale page" in server.log()
    faulty.scenarios[scenario].page = "json"
    hangs = faulty.count(scenario, "page", cached)
    # a hung file transfer is a timeout too, with nothing cached
    faulty.scenarios[scenario].file = "hang"
    url, _ = _file_url(server, key, cached)
    r = httpx.get(url, headers=server.headers(), timeout=30)
    assert r.status_code == 502 and "timed out" in r.reason_phrase
    assert faulty.count(scenario, "page", cached) == hangs + 1


def test_ttl_etag_and_negative_cache(standalone_server: RunningServer, faulty: FaultyIndex) -> None:
    server = standalone_server
    project = f"ttl-{uid()}"
    scenario = _scenario(faulty, project)
    long_key = _remote(server, faulty, scenario)
    for _ in range(3):
        assert _page(server, long_key, project).status_code == 200
        assert _page(server, long_key, "absent-project").status_code == 404
    assert faulty.count(scenario, "page", project) == 1
    assert faulty.count(scenario, "page", "absent-project") == 1, "404s are negative-cached"
    short_key = _remote(server, faulty, scenario, ttl_seconds=0, negative_ttl_seconds=0)
    before = sum(1 for r in faulty.requests if r["inm"])
    for _ in range(2):
        assert _page(server, short_key, project).status_code == 200
        assert _page(server, short_key, "absent-project").status_code == 404
    assert faulty.count(scenario, "page", project) == 3
    assert sum(1 for r in faulty.requests if r["inm"]) == before + 1, "revalidated with ETag"


def test_offline_switch(standalone_server: RunningServer, faulty: FaultyIndex) -> None:
    server = standalone_server
    warm, cold = f"warm-{uid()}", f"cold-{uid()}"
    scenario = _scenario(faulty, warm, cold)
    key = _remote(server, faulty, scenario)
    url, _ = _file_url(server, key, warm)
    assert httpx.get(url, headers=server.headers()).status_code == 200
    assert _page(server, key, cold).status_code == 200  # page cached, file not
    # Switch the repository offline through the admin API.
    r = httpx.patch(
        server.api(f"repositories/{key}"),
        json={"config": {"upstream": faulty.url(scenario), "offline": True}},
        headers=server.headers(),
    )
    assert r.status_code == 200 and r.json()["config"]["offline"] is True
    hits = len(faulty.requests)
    assert httpx.get(url, headers=server.headers()).status_code == 200
    cold_page = _page(server, key, cold)
    assert cold_page.status_code == 200 and cold_page.json()["files"] == []
    assert cold_page.headers["X-ModelVault-Notice"] == "offline"
    unknown = _page(server, key, f"never-{uid()}")
    assert unknown.status_code == 503 and "offline" in unknown.reason_phrase
    assert len(faulty.requests) == hits, "offline never contacts the upstream"


@pytest.mark.parametrize(
    "path",
    [
        "simple/..%2f..%2fetc%2fpasswd/",
        "simple/%2e%2e/",
        "simple/a%00b/",
        "files/" + "0" * 64 + "/..%2f..%2fmetadata.sqlite3",
        "files/" + "0" * 64 + "/%2e%2e",
        "files/" + "0" * 64 + "/%2fetc%2fpasswd",
        "files/" + "0" * 64 + "/x-1.0-py3-none-any.whl%00.metadata",
    ],
)
def test_path_tricks_are_refused(
    standalone_server: RunningServer, faulty: FaultyIndex, path: str
) -> None:
    server = standalone_server
    scenario = _scenario(faulty, "x")
    key = _remote(server, faulty, scenario)
    hits = len(faulty.requests)
    r = httpx.get(f"{server.url}modelvault/pypi/{key}/{path}", headers=server.headers())
    assert r.status_code in (301, 400, 404), (path, r.status_code)
    if r.status_code == 301:  # normalization of a decoded name must never produce a path trick
        assert ".." not in r.headers["Location"].split(f"/{key}/", 1)[1]
    assert len(faulty.requests) == hits, "nothing crafted is forwarded upstream"
