"""Bounded requests (issue 14 §2, §7): a request is authenticated from its headers before any of
its body is read, buffered bodies are small, every size and count in a request is bounded by the
protocol, hostile input gets a precise 4xx, and none of it stalls the server for others."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from huggingface_hub import HfApi
from tornado.web import RequestHandler

from modelvault_jlab.web.routes import ROUTES
from tests.hostile import send_body, status_of
from tests.latency_probe import latency_probe
from tests.servers import RunningServer, running, start_standalone

MiB = 1024 * 1024
PART_SIZE = 1 * MiB
THRESHOLD = 8 * MiB


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """Its own server, so that its memory is this module's alone; small LFS parts, so that the
    part-count bound is reached with sizes a test can announce."""
    base = tmp_path_factory.mktemp("bounded")
    config = base / "config.py"
    config.write_text(
        f"c.VaultSettings.lfs_part_size_bytes = {PART_SIZE}\n"
        f"c.VaultSettings.lfs_multipart_threshold_bytes = {THRESHOLD}\n"
    )
    with running(start_standalone(base / "vault", "--config", str(config))) as s:
        yield s


@pytest.fixture(scope="module")
def repo(server: RunningServer) -> str:
    api = HfApi(endpoint=server.hf_endpoint(), token=server.admin_token)
    repo_id = f"bounded/m-{uuid.uuid4().hex[:6]}"
    api.create_repo(repo_id)
    api.upload_file(path_or_fileobj=b"0123456789", path_in_repo="ten.txt", repo_id=repo_id)
    return repo_id


def rss_bytes(server: RunningServer) -> int:
    for line in Path(f"/proc/{server.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def answer_before_body(
    server: RunningServer, path: str, headers: dict[str, str], method: str = "POST"
) -> bytes:
    """Send only the head of a request announcing a large body; the answer must come anyway."""
    return send_body(server.url + path, headers, 0, method=method)


# -- authenticate before reading a body --
def test_every_verb_gets_its_body_through_vault_auth() -> None:
    """A buffered body is assembled by ``vault_auth`` as the verb starts: a verb without it
    would see an empty body (and Jupyter would not know it authenticates itself)."""
    for _, handler in ROUTES:
        for verb in ("get", "head", "post", "put", "patch", "delete"):
            method = getattr(handler, verb)
            if method is not getattr(RequestHandler, verb):
                assert getattr(method, "__allow_unauthenticated", False), (handler, verb)


@pytest.mark.parametrize(
    "path",
    [
        "modelvault/api/repositories",  # a buffered JSON route
        "modelvault/hf/models/api/models/a/b/commit/main",  # streamed to disk
        "modelvault/pypi/models/legacy/",  # streamed multipart
        "modelvault/api/bundles/import",
        "modelvault/no/such/route",  # the default handler
    ],
)
def test_refused_from_the_headers_alone(server: RunningServer, path: str) -> None:
    for framing in ({"Content-Length": str(400 * MiB)}, {"Transfer-Encoding": "chunked"}):
        answer = answer_before_body(server, path, {"Content-Type": "text/plain", **framing})
        assert status_of(answer) in (401, 404), answer[:200]
        assert b"Connection: close" in answer  # its body will not be read


@pytest.mark.parametrize(
    "path", ["modelvault/api/tokens", "modelvault/hf/models/api/models/a/b/commit/main"]
)
def test_refused_from_the_headers_alone_under_jupyter(
    jupyter_server: RunningServer, path: str
) -> None:
    answer = send_body(jupyter_server.url + path, {"Content-Length": str(400 * MiB)}, 0)
    assert status_of(answer) in (401, 403), answer[:200]
    assert b"Connection: close" in answer


def test_unauthenticated_400_mb_post_does_not_raise_memory(server: RunningServer) -> None:
    before = rss_bytes(server)
    for path in ("modelvault/api/tokens", "modelvault/hf/models/api/repos/create"):
        for framing in ({"Content-Length": str(400 * MiB)}, {}):
            send_body(server.url + path, {"Content-Type": "application/json", **framing}, 400 * MiB)
    grown = rss_bytes(server) - before
    assert grown < 64 * MiB, f"RSS grew by {grown / MiB:.0f} MiB"
    assert httpx.get(server.api("info")).status_code == 200


def test_buffered_bodies_are_small(server: RunningServer) -> None:
    headers = {**server.headers(), "Content-Type": "application/json"}
    answer = answer_before_body(
        server, "modelvault/api/tokens", {**headers, "Content-Length": "5000000"}
    )
    assert status_of(answer) == 413 and b"Connection: close" in answer
    before = rss_bytes(server)
    answer = send_body(server.api("tokens"), headers, 200 * MiB)  # chunked
    assert status_of(answer) in (413, None)  # the answer may be lost to the reset of a big send
    assert rss_bytes(server) - before < 64 * MiB
    r = httpx.post(server.api("tokens"), content=b" " * (5 * MiB), headers=headers, timeout=30)
    assert r.status_code == 413 and r.json()["code"] == "PayloadTooLarge"


# -- precise 4xx for hostile JSON and ranges --
@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested"),
        (b'{"a":' * 65 + b"1" + b"}" * 65, "nested"),
        (b'{"name": "x", "scope": "read", "expires_in_seconds": NaN}', "non-finite"),
        (b'{"name": "x", "scope": "read", "expires_in_seconds": Infinity}', "non-finite"),
        (b'{"name": "x", "scope": "read", "expires_in_seconds": 1e999}', "out of range"),
        (b'{"name": "x", "scope": "read", "expires_in_seconds": ' + b"9" * 5000 + b"}", "digits"),
        (b'{"name": "x", "scope": "read"', "not valid JSON"),
    ],
)
def test_hostile_json_is_a_400(server: RunningServer, body: bytes, message: str) -> None:
    r = httpx.post(server.api("tokens"), content=body, headers=server.headers(), timeout=30)
    assert r.status_code == 400, r.text
    assert message in r.json()["message"]


def test_commit_lines_are_strict_json(server: RunningServer, repo: str) -> None:
    header = b'{"key": "header", "value": {"summary": "x"}}\n'
    line = b'{"key": "deletedFile", "value": {"path": "a", "n": NaN}}\n'
    r = httpx.post(
        f"{server.hf_endpoint()}/api/models/{repo}/commit/main",
        content=header + line,
        headers={**server.headers(), "Content-Type": "application/x-ndjson"},
    )
    assert r.status_code == 400 and "Line 2 of the commit has a non-finite" in r.text, r.text


@pytest.mark.parametrize(
    ("header", "status", "body"),
    [
        ("bytes=" + "9" * 5000 + "-", 416, b""),
        ("bytes=" + "0" * 5000 + "2-", 206, b"23456789"),
        ("bytes=0-" + "9" * 5000, 206, b"0123456789"),
        ("bytes=-" + "9" * 5000, 206, b"0123456789"),
        ("bytes=-3", 206, b"789"),
        ("bytes=2-4", 206, b"234"),
    ],
)
def test_ranges_with_long_numbers(
    server: RunningServer, repo: str, header: str, status: int, body: bytes
) -> None:
    url = f"{server.hf_endpoint()}/{repo}/resolve/main/ten.txt"
    r = httpx.get(url, headers={**server.headers(), "Range": header})
    assert r.status_code == status, r.text
    if status == 206:
        assert r.content == body


# -- LFS batch: every size and count bounded by the protocol --
def _batch(server: RunningServer, repo: str, objects: list[Any]) -> httpx.Response:
    return httpx.post(
        f"{server.hf_endpoint()}/{repo}.git/info/lfs/objects/batch",
        content=json.dumps({"operation": "upload", "transfer": ["basic"], "objects": objects}),
        headers={**server.headers(), "Content-Type": "application/vnd.git-lfs+json"},
        timeout=30,
    )


def _oid(n: int) -> str:
    return f"{n:064x}"


@pytest.mark.parametrize(
    "size", [10**30, 10**14, 50 * 10**9 + 1, 1e3, True, -1, "10", None], ids=repr
)
def test_lfs_batch_sizes(server: RunningServer, repo: str, size: Any) -> None:
    started = time.monotonic()
    r = _batch(server, repo, [{"oid": _oid(1), "size": size}])
    assert r.status_code == 400, r.text[:300]
    assert time.monotonic() - started < 5


def test_lfs_batch_counts(server: RunningServer, repo: str) -> None:
    r = _batch(server, repo, [{"oid": _oid(n), "size": 1} for n in range(1001)])
    assert r.status_code == 400 and "1000 objects" in r.text
    r = _batch(server, repo, [{"oid": _oid(n), "size": 1} for n in range(200_000)])
    assert r.status_code == 413
    # the largest object the Hub takes: parts grow, their number stays bounded
    r = _batch(server, repo, [{"oid": _oid(7), "size": 50 * 10**9}])
    assert r.status_code == 200, r.text[:300]
    header = r.json()["objects"][0]["actions"]["upload"]["header"]
    assert len(header) - 1 == 10_000 and int(header["chunk_size"]) == 5 * 10**6
    # many large objects share the same budget of part URLs
    r = _batch(server, repo, [{"oid": _oid(n), "size": 50 * 10**9} for n in range(1000)])
    assert r.status_code == 200
    parts = sum(len(o["actions"]["upload"]["header"]) - 1 for o in r.json()["objects"])
    assert parts <= 10_000 and len(r.content) < 8 * MiB


def test_preupload_counts(server: RunningServer, repo: str) -> None:
    files = [{"path": f"f{n}.bin", "size": 1, "sample": ""} for n in range(1001)]
    r = httpx.post(
        f"{server.hf_endpoint()}/api/models/{repo}/preupload/main",
        json={"files": files},
        headers=server.headers(),
    )
    assert r.status_code == 400 and "1000 files" in r.text, r.text


# -- streaming routes that refuse early: a pooled client's next request works --
def test_pooled_client_survives_early_refusals(server: RunningServer) -> None:
    refused = [
        ("PUT", f"modelvault/hf/models/lfs-objects/{_oid(3)}/10?exp=0&sig=bad", b"0123456789"),
        ("POST", "modelvault/pypi/models/legacy/", b"--b\r\n\r\n--b--\r\n"),
        ("POST", "modelvault/api/bundles/import", b"not a tar"),
        ("POST", "modelvault/hf/models/api/models/a/b/commit/main", b"{}\n"),
        ("POST", "modelvault/api/tokens", b"{}"),
        ("GET", "modelvault/api/tokens", None),
    ]
    with requests.Session() as session:
        for _ in range(5):
            for method, path, body in refused:
                r = session.request(
                    method,
                    server.url + path,
                    data=body,
                    headers={"Content-Type": "multipart/form-data; boundary=b"},
                    timeout=30,
                )
                assert r.status_code in (401, 403), (path, r.status_code, r.text)
                if body:
                    assert r.headers.get("Connection") == "close", path
                r = session.get(server.api("info"), timeout=30)
                assert r.status_code == 200


# -- no hostile request delays the others --
def test_hostile_requests_do_not_stall_the_server(server: RunningServer, repo: str) -> None:
    # what "delay" means on a shared machine: the probe's worst case without hostile traffic
    with latency_probe(server.api("info")) as baseline:
        time.sleep(1.5)
    command = [sys.executable, "-m", "tests.hostile", server.url, server.admin_token, repo]
    with latency_probe(server.api("info")) as probe:
        out = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)
    statuses = json.loads(out.stdout)["statuses"]
    assert set(statuses["lfs-size-1e30"]) == {400} and set(statuses["nested-json"]) == {400}
    assert set(statuses["range-digits"]) == {416} and set(statuses["lfs-200k-objects"]) == {413}
    assert set(statuses["lfs-1000-largest-objects"]) == {200}
    assert not probe.failures, probe.summary()
    assert probe.count >= 10, probe.summary()
    assert probe.max < baseline.max + 0.1, f"{probe.summary()}; baseline {baseline.summary()}"
