"""Malformed requests, path tricks, wrong hashes, truncated uploads and racing commits.

Every case must get a precise 4xx with a message (never a 500 or a traceback), and nothing already
stored may change. Raw paths are sent with http.client so that no client library normalises them.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import socket
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub import errors as hf_errors

from tests.servers import RunningServer


def raw_request(
    server: RunningServer,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """Send ``path`` byte for byte (no normalisation of '..' or percent-escapes)."""
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in {**server.headers(), **(headers or {})}.items():
            conn.putheader(k, v)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def repo(standalone_server: RunningServer) -> str:
    api = HfApi(endpoint=standalone_server.hf_endpoint(), token=standalone_server.admin_token)
    repo_id = f"bad/input-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo_id)
    api.upload_file(path_or_fileobj=b"safe", path_in_repo="ok.txt", repo_id=repo_id)
    return repo_id


BASE = "/modelvault/hf/models"

PATH_TRICKS = [
    ("../ok.txt", "'.' or '..' segments"),
    ("a/../../ok.txt", "'.' or '..' segments"),
    ("%2e%2e/ok.txt", "'.' or '..' segments"),
    ("%2E%2E%2Fok.txt", "'.' or '..' segments"),
    ("%252e%252e/ok.txt", "double encoding"),
    ("%2Fetc%2Fpasswd", "absolute paths"),
    ("a%5Cb.txt", "backslashes"),
    ("a%00b.txt", "control characters"),
    ("x" * 1100, "longer than"),
    ("./ok.txt", "'.' or '..' segments"),
]


@pytest.mark.parametrize(("trick", "reason"), PATH_TRICKS)
def test_path_tricks_in_resolve(
    standalone_server: RunningServer, repo: str, trick: str, reason: str
) -> None:
    for method in ("GET", "HEAD"):
        status, headers, body = raw_request(
            standalone_server, method, f"{BASE}/{repo}/resolve/main/{trick}"
        )
        assert status == 400, (trick, status, body)
        assert reason in headers["x-error-message"]
        if method == "GET":
            assert reason in json.loads(body)["error"]


@pytest.mark.parametrize("trick", ["..", "%2e%2e", ".git", "a%00b", "-lead", "x" * 200])
def test_repo_id_tricks(standalone_server: RunningServer, trick: str) -> None:
    status, headers, _ = raw_request(
        standalone_server, "GET", f"{BASE}/{trick}/name/resolve/main/ok.txt"
    )
    assert status == 400 and "Invalid repo id" in headers["x-error-message"]
    status, headers, _ = raw_request(standalone_server, "GET", f"{BASE}/api/models/org/{trick}")
    assert status == 400 and "Invalid repo id" in headers["x-error-message"]


@pytest.mark.parametrize("trick", ["..", "%2e%2e", "a%00b", "main%2F..%2F..", "x" * 300])
def test_revision_tricks(standalone_server: RunningServer, repo: str, trick: str) -> None:
    status, headers, _ = raw_request(
        standalone_server, "GET", f"{BASE}/{repo}/resolve/{trick}/ok.txt"
    )
    assert status == 400 and "Invalid revision" in headers["x-error-message"]


@pytest.mark.parametrize("trick", ["../x", "/abs", "a\\b", "a\x00b", "sub/../../x", ".git/config"])
def test_path_tricks_in_commits(standalone_server: RunningServer, repo: str, trick: str) -> None:
    body = (
        json.dumps({"key": "header", "value": {"summary": "evil"}})
        + "\n"
        + json.dumps(
            {"key": "file", "value": {"path": trick, "content": "eA==", "encoding": "base64"}}
        )
    ).encode()
    r = httpx.post(
        f"{standalone_server.hf_endpoint()}/api/models/{repo}/commit/main",
        content=body,
        headers={**standalone_server.headers(), "Content-Type": "application/x-ndjson"},
    )
    assert r.status_code == 400, r.text
    assert "Invalid path" in r.json()["error"]
    files = HfApi(
        endpoint=standalone_server.hf_endpoint(), token=standalone_server.admin_token
    ).list_repo_files(repo)
    assert files == ["ok.txt"]


def _commit(server: RunningServer, repo: str, *lines: dict[str, object]) -> httpx.Response:
    body = "\n".join(json.dumps(line) for line in lines).encode()
    return httpx.post(
        f"{server.hf_endpoint()}/api/models/{repo}/commit/main",
        content=body,
        headers={**server.headers(), "Content-Type": "application/x-ndjson"},
    )


def test_commit_referencing_a_blob_never_uploaded(
    standalone_server: RunningServer, repo: str
) -> None:
    oid = hashlib.sha256(b"never uploaded " + uuid.uuid4().bytes).hexdigest()
    r = _commit(
        standalone_server,
        repo,
        {"key": "header", "value": {"summary": "ghost"}},
        {
            "key": "lfsFile",
            "value": {"path": "ghost.bin", "algo": "sha256", "oid": oid, "size": 10},
        },
    )
    assert r.status_code == 400
    assert f"references object {oid}, which was never uploaded" in r.json()["error"]


@pytest.mark.parametrize(
    "body",
    [
        b"not json at all",
        b'{"key": "file"}',
        b'{"key": "file", "value": {"path": "a.txt", "content": "%%%not base64", "encoding": "base64"}}',
        b'{"key": "teleport", "value": {"path": "a.txt"}}',
        b'{"key": "lfsFile", "value": {"path": "a.bin", "algo": "md5", "oid": "x"}}',
        b'{"key": "lfsFile", "value": {"path": "a.bin", "algo": "sha256", "oid": "../../etc"}}',
        b'{"key": "deletedFile", "value": {"path": "no-such-file"}}',
    ],
)
def test_malformed_commits(standalone_server: RunningServer, repo: str, body: bytes) -> None:
    r = httpx.post(
        f"{standalone_server.hf_endpoint()}/api/models/{repo}/commit/main",
        content=body,
        headers={**standalone_server.headers(), "Content-Type": "application/x-ndjson"},
    )
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["error"]


def _lfs_grant(server: RunningServer, repo: str, oid: str, size: int) -> dict[str, object]:
    r = httpx.post(
        f"{server.hf_endpoint()}/{repo}.git/info/lfs/objects/batch",
        json={
            "operation": "upload",
            "transfers": ["basic"],
            "objects": [{"oid": oid, "size": size}],
        },
        headers=server.headers(),
    )
    assert r.status_code == 200, r.text
    obj: dict[str, object] = r.json()["objects"][0]
    return obj


def _tmp_files(server: RunningServer) -> list[Path]:
    return sorted((server.data_dir / "blobs" / "tmp").iterdir())


def _stored(server: RunningServer, oid: str) -> bool:
    return (server.data_dir / "blobs" / "sha256" / oid[:2] / oid[2:4] / oid).exists()


def test_lfs_upload_with_wrong_bytes_is_rejected(
    standalone_server: RunningServer, repo: str
) -> None:
    data = os.urandom(1 << 20)
    oid = hashlib.sha256(data).hexdigest()
    obj = _lfs_grant(standalone_server, repo, oid, len(data))
    href = obj["actions"]["upload"]["href"]  # type: ignore[index]
    tampered = bytearray(data)
    tampered[1000] ^= 0xFF
    r = httpx.put(href, content=bytes(tampered))
    assert r.status_code == 422 and "Digest mismatch" in r.json()["error"]
    assert not _stored(standalone_server, oid)
    assert not _stored(standalone_server, hashlib.sha256(bytes(tampered)).hexdigest())
    # the object is still missing: a new batch asks for it again
    assert "actions" in _lfs_grant(standalone_server, repo, oid, len(data))
    # wrong size announced on the wire
    r = httpx.put(href, content=data[:-1])
    assert r.status_code == 400 and "does not match the announced size" in r.json()["error"]
    # a forged or altered URL
    r = httpx.put(str(href).replace("sig=", "sig=0"), content=data)
    assert r.status_code == 401
    # and the right bytes are accepted
    assert httpx.put(href, content=data).status_code == 200
    assert _stored(standalone_server, oid)


def test_truncated_upload_leaves_nothing(standalone_server: RunningServer, repo: str) -> None:
    size = 8 << 20
    oid = hashlib.sha256(uuid.uuid4().bytes).hexdigest()  # never matches; the body is cut anyway
    obj = _lfs_grant(standalone_server, repo, oid, size)
    href = urlsplit(obj["actions"]["upload"]["href"])  # type: ignore[index]
    with socket.create_connection((href.hostname, href.port)) as sock:
        sock.sendall(
            f"PUT {href.path}?{href.query} HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n\r\n".encode()
        )
        sock.sendall(os.urandom(size // 2))
        time.sleep(0.3)
        assert len(_tmp_files(standalone_server)) == 1  # the partial upload exists while it streams
    deadline = time.monotonic() + 10
    while _tmp_files(standalone_server) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _tmp_files(standalone_server) == []
    assert not _stored(standalone_server, oid)


def test_concurrent_commits_on_the_same_parent(standalone_server: RunningServer, repo: str) -> None:
    api = HfApi(endpoint=standalone_server.hf_endpoint(), token=standalone_server.admin_token)
    parent = api.model_info(repo).sha
    results: list[object] = []
    barrier = threading.Barrier(4)

    def commit(i: int) -> None:
        barrier.wait()
        try:
            results.append(
                api.create_commit(
                    repo,
                    [CommitOperationAdd(f"race-{i}.txt", b"x")],
                    commit_message=f"race {i}",
                    parent_commit=parent,
                )
            )
        except hf_errors.HfHubHTTPError as exc:
            results.append(exc)

    threads = [threading.Thread(target=commit, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wins = [r for r in results if not isinstance(r, Exception)]
    losses = [r for r in results if isinstance(r, hf_errors.HfHubHTTPError)]
    assert len(wins) == 1 and len(losses) == 3
    for loss in losses:
        assert loss.response.status_code == 412
        assert "someone committed in between" in str(loss) or "moved" in str(loss)
    files = api.list_repo_files(repo)
    assert sum(f.startswith("race-") for f in files) == 1


def test_malformed_json_and_unknown_routes(standalone_server: RunningServer) -> None:
    r = httpx.post(
        f"{standalone_server.hf_endpoint()}/api/repos/create",
        content=b"{nope",
        headers=standalone_server.headers(),
    )
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]
    r = httpx.get(
        f"{standalone_server.url}modelvault/hf/models/api/nothing-here",
        headers=standalone_server.headers(),
    )
    assert r.status_code == 404
    r = httpx.get(
        f"{standalone_server.hf_endpoint()}/api/models/a/b/tree/main",
        params={"limit": "many"},
        headers=standalone_server.headers(),
    )
    assert r.status_code in (400, 404)


def test_bad_range_gets_416(standalone_server: RunningServer, repo: str) -> None:
    url = f"{standalone_server.hf_endpoint()}/{repo}/resolve/main/ok.txt"
    r = httpx.get(url, headers={**standalone_server.headers(), "Range": "bytes=100-"})
    assert r.status_code == 416 and r.headers["content-range"] == "bytes */4"
    r = httpx.get(url, headers={**standalone_server.headers(), "Range": "bytes=1-2"})
    assert (
        r.status_code == 206 and r.content == b"af" and r.headers["content-range"] == "bytes 1-2/4"
    )
    r = httpx.get(url, headers={**standalone_server.headers(), "Range": "bytes=2-"})
    assert r.status_code == 206 and r.content == b"fe"


def test_inline_content_too_large_for_a_line(standalone_server: RunningServer, repo: str) -> None:
    big = base64.b64encode(os.urandom(15 << 20)).decode()
    r = _commit(
        standalone_server,
        repo,
        {"key": "header", "value": {"summary": "too big"}},
        {"key": "file", "value": {"path": "big.bin", "content": big, "encoding": "base64"}},
    )
    assert r.status_code == 400 and "must be uploaded through LFS" in r.json()["error"]
