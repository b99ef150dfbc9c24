"""Xorb bodies streamed and verified as they arrive: the incremental verifier gives the answer of
the whole-buffer one whatever the piece boundaries, and over HTTP a truncated, lying, oversized,
corrupt or abandoned body leaves no blob, no temp file and no xorb row. One server per module."""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from modelvault_jlab.core.xet.hashing import hash_to_string
from modelvault_jlab.core.xet.xorb import (
    CHUNK_HEADER_BYTES,
    MAX_SERIALIZED_XORB_BYTES,
    SCHEME_BG4_LZ4,
    SCHEME_LZ4,
    SCHEME_NONE,
    VerifiedXorb,
    XorbFormatError,
    XorbVerifier,
    build_xorb,
    verify_xorb,
)
from modelvault_jlab.storage.sql.metadata import SqlMetadataStore
from tests.servers import RunningServer, running, start_standalone

MiB = 1024 * 1024


def _chunks(rng: random.Random) -> list[bytes]:
    text = b"the quick brown fox jumps over the lazy dog " * 200
    return [rng.randbytes(3000), text[:7001], bytes(range(256)) * 20, rng.randbytes(1), text]


def _fed(data: bytes, xorb_hash: bytes, cuts: list[int]) -> VerifiedXorb | str:
    """The verifier's result (or error message) with the body cut at ``cuts``."""
    verifier = XorbVerifier(xorb_hash)
    try:
        last = 0
        for cut in [*cuts, len(data)]:
            verifier.update(data[last:cut])
            last = cut
        return verifier.finish()
    except XorbFormatError as exc:
        return str(exc)


def _whole(data: bytes, xorb_hash: bytes) -> VerifiedXorb | str:
    try:
        return verify_xorb(data, xorb_hash)
    except XorbFormatError as exc:
        return str(exc)


@pytest.mark.parametrize("scheme", [SCHEME_NONE, SCHEME_LZ4, SCHEME_BG4_LZ4])
@pytest.mark.parametrize("footer", [False, True])
def test_split_at_every_boundary_gives_the_whole_buffer_answer(scheme: int, footer: bool) -> None:
    data, xorb_hash = build_xorb(_chunks(random.Random(scheme)), scheme, footer=footer)
    whole = verify_xorb(data, xorb_hash)
    starts = [c.ser_start for c in whole.chunks] + [whole.chunks[-1].ser_end]
    near = {p + d for p in starts for d in range(-1, CHUNK_HEADER_BYTES + 2)}
    for cut in sorted(c for c in near if 0 < c < len(data)):
        assert _fed(data, xorb_hash, [cut]) == whole, cut
    # one byte at a time, and every header boundary at once
    assert _fed(data, xorb_hash, list(range(1, len(data)))) == whole
    assert _fed(data, xorb_hash, [s for s in starts if 0 < s < len(data)]) == whole


@pytest.mark.parametrize("scheme", [SCHEME_NONE, SCHEME_LZ4])
def test_truncated_or_damaged_bodies_fail_alike_however_split(scheme: int) -> None:
    data, xorb_hash = build_xorb(_chunks(random.Random(7)), scheme, footer=True)
    whole = verify_xorb(data, xorb_hash)
    marks = sorted({c.ser_start + d for c in whole.chunks for d in (0, 1, 4, 7, 8, 9)})
    for end in [*marks, len(data) - 1, len(data) - 30]:
        body = data[:end]
        expected = _whole(body, xorb_hash)
        assert isinstance(expected, str), end
        for cut in (1, 5, 8, end // 2, end - 1):
            if 0 < cut < end:
                assert _fed(body, xorb_hash, [cut]) == expected, (end, cut)
    for at in marks:  # a flipped byte in a header or payload
        bad = bytearray(data)
        bad[at] ^= 0x41
        expected = _whole(bytes(bad), xorb_hash)
        assert isinstance(expected, str), at
        assert _fed(bytes(bad), xorb_hash, [at, at + 1]) == expected, at
    assert _fed(data + b"\x00", xorb_hash, [len(data)]) == _whole(data + b"\x00", xorb_hash)


def test_the_verifier_keeps_at_most_one_chunk() -> None:
    """Memory across pieces is the partial chunk, not the body."""
    chunks = [random.Random(i).randbytes(100_000) for i in range(12)]
    data, xorb_hash = build_xorb(chunks)
    verifier = XorbVerifier(xorb_hash)
    for at in range(0, len(data), 65_536):
        verifier.update(data[at : at + 65_536])
        assert len(verifier._pending) <= CHUNK_HEADER_BYTES + 100_000
    assert verifier.finish().raw_len == sum(map(len, chunks))


# -- over HTTP ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running(start_standalone(tmp_path_factory.mktemp("xet-stream") / "vault")) as srv:
        r = httpx.post(
            f"{srv.hf_endpoint('models')}/api/repos/create",
            json={"name": "stream", "organization": "xet", "type": "model"},
            headers=srv.headers(),
        )
        assert r.status_code == 200, r.text
        yield srv


@pytest.fixture(scope="module")
def auth(server: RunningServer) -> dict[str, str]:
    r = httpx.get(
        f"{server.hf_endpoint('models')}/api/models/xet/stream/xet-write-token/main",
        headers=server.headers(),
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['accessToken']}"}


def _url(server: RunningServer, xorb_hash: bytes) -> str:
    return f"{server.hf_endpoint('models')}/cas/v1/xorbs/default/{hash_to_string(xorb_hash)}"


def _stored(server: RunningServer, xorb_hash: bytes) -> bool:
    meta = SqlMetadataStore(server.data_dir / "metadata.sqlite3")
    try:
        return meta.get_xorb(hash_to_string(xorb_hash)) is not None
    finally:
        meta.close()


def _blob_files(server: RunningServer) -> set[Path]:
    return {p for p in (server.data_dir / "blobs").rglob("*") if p.is_file()}


def _no_temp_files(server: RunningServer) -> None:
    tmp = server.data_dir / "blobs" / "tmp"
    deadline = time.monotonic() + 10
    while tmp.exists() and any(tmp.iterdir()):
        assert time.monotonic() < deadline, list(tmp.iterdir())
        time.sleep(0.1)


def _raw_post(url: str, auth: dict[str, str], head_extra: list[str], body: bytes) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=60)
    head = [f"POST {parts.path} HTTP/1.1", f"Host: {parts.netloc}", *head_extra]
    head += [f"{k}: {v}" for k, v in auth.items()]
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    return sock


def _status(sock: socket.socket) -> tuple[int, bytes]:
    answer = b""
    while b"\r\n\r\n" not in answer:
        got = sock.recv(65536)
        if not got:
            break
        answer += got
    return int(answer.split(b" ", 2)[1]), answer


def _big_xorb(seed: int, mib: int) -> tuple[bytes, bytes]:
    rng = random.Random(seed)
    return build_xorb([rng.randbytes(64 * 1024) for _ in range(mib * 16)])


def test_a_streamed_xorb_is_stored_once_verified(
    server: RunningServer, auth: dict[str, str]
) -> None:
    data, xorb_hash = _big_xorb(1, 3)  # several pieces of the ring
    r = httpx.post(_url(server, xorb_hash), content=data, headers=auth)
    assert r.status_code == 200 and r.json() == {"was_inserted": True}, r.text
    assert _stored(server, xorb_hash)
    # chunked transfer (no Content-Length) takes Tornado's path: the same verification
    r = httpx.post(_url(server, xorb_hash), content=iter([data[:1000], data[1000:]]), headers=auth)
    assert r.status_code == 200 and r.json() == {"was_inserted": False}, r.text
    _no_temp_files(server)


def test_corrupt_bodies_get_the_precise_400_and_leave_nothing(
    server: RunningServer, auth: dict[str, str]
) -> None:
    data, xorb_hash = _big_xorb(2, 2)
    before = _blob_files(server)
    whole = verify_xorb(data, xorb_hash)
    bad = bytearray(data)
    bad[whole.chunks[20].ser_start] = 7  # a bad version byte in the middle of the body
    cases = {
        "chunk 20 at byte": bytes(bad),
        "truncated payload": data[:-5],
        "truncated header": data[: whole.chunks[3].ser_start + 3],
        "xorb hash is": data[: whole.chunks[3].ser_start],
    }
    for message, body in cases.items():
        for chunked in (False, True):
            content = iter([body[:70_000], body[70_000:]]) if chunked else body
            r = httpx.post(_url(server, xorb_hash), content=content, headers=auth)
            assert r.status_code == 400, (message, r.text)
            assert message in r.json()["error"], (message, r.text)
    assert not _stored(server, xorb_hash)
    assert _blob_files(server) == before
    _no_temp_files(server)


def test_lying_lengths_oversize_and_disconnects_leave_nothing(
    server: RunningServer, auth: dict[str, str]
) -> None:
    data, xorb_hash = _big_xorb(3, 2)
    before = _blob_files(server)
    url = _url(server, xorb_hash)
    # Content-Length smaller than the body: the declared prefix is judged (truncated)
    sock = _raw_post(url, auth, [f"Content-Length: {len(data) - 100}"], data)
    with sock:
        status, answer = _status(sock)
    assert status == 400 and b"truncated" in answer, answer
    # declared over the limit: refused before any byte is read
    sock = _raw_post(url, auth, [f"Content-Length: {MAX_SERIALIZED_XORB_BYTES + 1}"], b"")
    with sock:
        assert _status(sock)[0] == 413
    # chunked and over the limit: refused once the limit is passed (413, or Tornado's own
    # body limit closes the connection before the client reads the answer)
    piece = bytes(4 * MiB)
    try:
        r = httpx.post(url, content=iter([piece] * 17), headers=auth)
        assert r.status_code in (400, 413), r.text
    except httpx.TransportError:
        pass
    # Content-Length larger than the body, then the client goes away mid-body
    for sent in (0, 1, CHUNK_HEADER_BYTES + 10, len(data) // 2, len(data) - 1):
        sock = _raw_post(url, auth, [f"Content-Length: {len(data)}"], data[:sent])
        time.sleep(0.2)
        sock.close()
    _no_temp_files(server)
    assert not _stored(server, xorb_hash)
    assert _blob_files(server) == before
    # and the server still takes the honest upload
    r = httpx.post(url, content=data, headers=auth)
    assert r.status_code == 200, r.text
    assert _stored(server, xorb_hash)
