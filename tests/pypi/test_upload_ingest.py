"""PyPI uploads read by hand into the ingest pipeline (web/body_ingest.py, storage/ingest.py).

A body of several pipeline buffers (so the ring fills up and the reader waits for it), a wrong
digest, a client that goes away half-way, a bad form part followed by more body on a kept-alive
connection, and a declared size over the limit: every case ends with a precise status and no
partial or unverified file.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import socket
import time
from pathlib import Path

import httpx

from tests.servers import RunningServer

from .conftest import create_repo, index_url, upload_url
from .dists import wheel_bytes, wheel_name

JSON = "application/vnd.pypi.simple.v1+json"


def _form(
    server: RunningServer, key: str, parts: list[tuple[str, str | None, bytes]]
) -> httpx.Request:
    """A multipart upload request; ``parts`` are (field, filename or None, value)."""
    fields = {name: value.decode() for name, filename, value in parts if filename is None}
    files = [
        (name, (filename, value, "application/octet-stream"))
        for name, filename, value in parts
        if filename is not None
    ]
    auth = base64.b64encode(f"__token__:{server.admin_token}".encode()).decode()
    request = httpx.Request(
        "POST",
        upload_url(server, key),
        data={":action": "file_upload", "protocol_version": "1", **fields},
        files=files,
        headers={"Authorization": f"Basic {auth}"},
    )
    request.read()
    return request


def _send(conn: http.client.HTTPConnection, request: httpx.Request) -> http.client.HTTPResponse:
    conn.request(
        "POST", request.url.raw_path.decode(), body=request.content, headers=dict(request.headers)
    )
    return conn.getresponse()


def _tmp_files(server: RunningServer) -> list[Path]:
    return sorted((server.data_dir / "blobs" / "tmp").iterdir())


def _stored(server: RunningServer, sha: str) -> bool:
    return (server.data_dir / "blobs" / "sha256" / sha[:2] / sha[2:4] / sha).exists()


def _files(server: RunningServer, key: str, project: str) -> list[dict[str, object]]:
    r = httpx.get(
        index_url(server, key) + f"{project}/", headers={**server.headers(), "Accept": JSON}
    )
    return list(r.json()["files"]) if r.status_code == 200 else []


def _wait_no_tmp(server: RunningServer) -> None:
    deadline = time.monotonic() + 10
    while _tmp_files(server) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _tmp_files(server) == []


def test_large_wheel_is_stored_intact_and_a_wrong_digest_stores_nothing(
    standalone_server: RunningServer,
) -> None:
    server = standalone_server
    key = create_repo(server, "pypi-local")
    data = wheel_bytes("ingest-big", "1.0", payload=os.urandom(13 << 20))  # > 8 1-MiB buffers
    sha = hashlib.sha256(data).hexdigest()
    name = wheel_name("ingest-big", "1.0")
    conn = http.client.HTTPConnection(httpx.URL(server.url).host, httpx.URL(server.url).port)
    bad = _form(server, key, [("sha256_digest", None, b"0" * 64), ("content", name, data)])
    r = _send(conn, bad)
    assert r.status == 422 and "Digest mismatch" in (r.reason or ""), (r.status, r.read())
    r.read()
    assert not _stored(server, sha) and _files(server, key, "ingest-big") == []
    _wait_no_tmp(server)
    # same connection: it stayed in step
    r = _send(
        conn, _form(server, key, [("sha256_digest", None, sha.encode()), ("content", name, data)])
    )
    assert r.status == 200, r.read()
    r.read()
    conn.close()
    files = _files(server, key, "ingest-big")
    assert [f["hashes"] for f in files] == [{"sha256": sha}]
    url = httpx.URL(index_url(server, key) + "ingest-big/").join(str(files[0]["url"]))
    got = httpx.get(url, headers=server.headers(), timeout=30)
    assert got.status_code == 200 and got.content == data


def test_client_gone_mid_upload_leaves_nothing(standalone_server: RunningServer) -> None:
    server = standalone_server
    key = create_repo(server, "pypi-local")
    data = wheel_bytes("ingest-cut", "1.0", payload=os.urandom(6 << 20))
    request = _form(server, key, [("content", wheel_name("ingest-cut", "1.0"), data)])
    head = f"POST {request.url.raw_path.decode()} HTTP/1.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in request.headers.items()
    )
    body = request.content
    url = httpx.URL(server.url)
    with socket.create_connection((url.host, url.port)) as sock:
        sock.sendall(head.encode() + b"\r\n" + body[: len(body) // 2])
        deadline = time.monotonic() + 10
        while not _tmp_files(server) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(_tmp_files(server)) == 1  # the file part streams to disk while it arrives
    _wait_no_tmp(server)
    assert not _stored(server, hashlib.sha256(data).hexdigest())
    assert _files(server, key, "ingest-cut") == []


def test_bad_form_mid_body_and_oversize_get_precise_errors(
    standalone_server: RunningServer,
) -> None:
    server = standalone_server
    key = create_repo(server, "pypi-local")
    one = wheel_bytes("ingest-two", "1.0", payload=os.urandom(3 << 20))
    name = wheel_name("ingest-two", "1.0")
    url = httpx.URL(server.url)
    conn = http.client.HTTPConnection(url.host, url.port, timeout=30)
    # a second file part: refused when it starts, the ~3 MiB after it is read and dropped
    r = _send(conn, _form(server, key, [("content", name, one), ("content", name, one)]))
    assert r.status == 400 and "Only one file" in (r.reason or ""), r.status
    r.read()
    _wait_no_tmp(server)
    # a body that ends before the closing boundary
    cut = _form(server, key, [("content", name, one)])
    body = cut.content[: -len(b"--\r\n") - 40]
    conn.request(
        "POST",
        cut.url.raw_path.decode(),
        body=body,
        headers={
            **{k: v for k, v in cut.headers.items() if k.lower() != "content-length"},
            "Content-Length": str(len(body)),
        },
    )
    r = conn.getresponse()
    assert r.status == 400 and "ended early" in (r.reason or ""), r.status
    r.read()
    conn.close()
    _wait_no_tmp(server)
    assert not _stored(server, hashlib.sha256(one).hexdigest())
    assert _files(server, key, "ingest-two") == []
    # a declared size over the limit: refused before any byte is read
    with socket.create_connection((url.host, url.port)) as sock:
        auth = base64.b64encode(f"__token__:{server.admin_token}".encode()).decode()
        sock.sendall(
            f"POST /modelvault/pypi/{key}/ HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\n"
            f"Content-Length: {1 << 50}\r\n\r\n".encode()
        )
        sock.settimeout(10)
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
