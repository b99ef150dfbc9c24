"""The Xet write side over HTTP, on one real server: stock huggingface_hub + hf_xet upload with
Xet on, and every kind of bad input (built with the formats' own builders) gets a precise 4xx
and registers nothing."""

from __future__ import annotations

import hashlib
import json
import os
import random
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from modelvault_jlab.core.xet.assemble import iter_file
from modelvault_jlab.core.xet.hashing import (
    file_hash,
    hash_to_string,
    string_to_hash,
    verification_hash,
)
from modelvault_jlab.core.xet.shard import (
    ShardFile,
    ShardTerm,
    ShardXorbEntry,
    build_upload_shard,
)
from modelvault_jlab.core.xet.tokens import XetTokens
from modelvault_jlab.core.xet.xorb import build_xorb, verify_xorb
from modelvault_jlab.ids import Sha256
from modelvault_jlab.storage.blobs_fs import FsBlobStore
from modelvault_jlab.storage.sql.metadata import SqlMetadataStore
from tests.compat.hub_client import run_client
from tests.servers import RunningServer, mint_token, running, start_standalone

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running(start_standalone(tmp_path_factory.mktemp("xet-write") / "vault")) as srv:
        r = httpx.post(
            srv.api("repositories"),
            json={"key": "other", "kind": "hf-local"},
            headers=srv.headers(),
        )
        assert r.status_code in (200, 201), r.text
        for repository, repo_id in (("models", "xet/bad"), ("other", "xet/other")):
            r = httpx.post(
                f"{srv.hf_endpoint(repository)}/api/repos/create",
                json={"name": repo_id.split("/")[1], "organization": "xet", "type": "model"},
                headers=srv.headers(),
            )
            assert r.status_code == 200, r.text
        yield srv


@pytest.fixture
def meta(server: RunningServer) -> Iterator[SqlMetadataStore]:
    """The server's metadata, read by the test (assertions only; all writes go over HTTP)."""
    store = SqlMetadataStore(server.data_dir / "metadata.sqlite3")
    yield store
    store.close()


def _write_token(server: RunningServer, repository: str, repo_id: str) -> dict[str, str]:
    r = httpx.get(
        f"{server.hf_endpoint(repository)}/api/models/{repo_id}/xet-write-token/main",
        headers=server.headers(),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"accessToken", "exp", "casUrl"}
    assert r.headers["X-Xet-Access-Token"] == body["accessToken"]
    assert r.headers["X-Xet-Cas-Url"] == body["casUrl"] == f"{server.hf_endpoint(repository)}/cas"
    assert int(r.headers["X-Xet-Token-Expiration"]) == body["exp"] > time.time() + 500
    return {"Authorization": f"Bearer {body['accessToken']}"}


def _cas(server: RunningServer, repository: str = "models") -> str:
    return f"{server.hf_endpoint(repository)}/cas"


def _xorb(rng: random.Random, n: int = 4, size: int = 30_000) -> tuple[bytes, bytes, list[bytes]]:
    chunks = [rng.randbytes(size) for _ in range(n)]
    data, h = build_xorb(chunks)
    return data, h, chunks


def _entry(data: bytes, h: bytes) -> ShardXorbEntry:
    v = verify_xorb(data, h)
    return ShardXorbEntry(h, tuple((c.hash, c.raw_start, c.raw_len) for c in v.chunks), v.raw_len)


def _file(
    terms: list[tuple[bytes, list[bytes], int, int]], *, sha256: str | None = None, lie: int = 0
) -> tuple[ShardFile, bytes]:
    """A file of ``(xorb hash, its chunks, start, end)`` terms, with its true sha256 unless
    ``sha256`` is given; ``lie`` adds to the first term's stated length."""
    from modelvault_jlab.core.xet.hashing import chunk_hash

    shard_terms, nodes, content = [], [], b""
    for n, (h, chunks, start, end) in enumerate(terms):
        hashes = [chunk_hash(c) for c in chunks[start:end]]
        nodes += [(ch, len(c)) for ch, c in zip(hashes, chunks[start:end], strict=True)]
        raw = b"".join(chunks[start:end])
        content += raw
        unpacked = len(raw) + (lie if n == 0 else 0)
        shard_terms.append(ShardTerm(h, unpacked, start, end, verification_hash(hashes)))
    real = hashlib.sha256(content).hexdigest()
    return ShardFile(file_hash(nodes), tuple(shard_terms), sha256 or real), content


def _post_xorb(
    server: RunningServer, auth: dict[str, str], data: bytes, h: bytes
) -> httpx.Response:
    return httpx.post(
        f"{_cas(server)}/v1/xorbs/default/{hash_to_string(h)}", content=data, headers=auth
    )


# -- stock clients ----------------------------------------------------------------------------------
def test_stock_hf_xet_upload_file_and_folder(
    server: RunningServer, meta: SqlMetadataStore, tmp_path: Path
) -> None:
    data = random.Random(12).randbytes(12 * MiB + 321)
    (tmp_path / "weights.bin").write_bytes(data)
    folder = tmp_path / "folder"
    folder.mkdir()
    part = data[: 6 * MiB] + os.urandom(5 * MiB)  # LFS-sized; shares chunks with weights.bin
    (folder / "part.bin").write_bytes(part)
    (folder / "notes.txt").write_text("small files stay regular\n")
    out = run_client(
        f"""
        api.create_repo("xet/model")
        api.upload_file(path_or_fileobj={str(tmp_path / "weights.bin")!r},
                        path_in_repo="weights.bin", repo_id="xet/model")
        api.upload_folder(folder_path={str(folder)!r}, path_in_repo="folder",
                          repo_id="xet/model")
        pr = api.upload_file(path_or_fileobj={str(tmp_path / "weights.bin")!r},
                             path_in_repo="copy.bin", repo_id="xet/model", create_pr=True)
        info = api.get_paths_info("xet/model", ["weights.bin", "folder/part.bin"])
        import hashlib
        got = hf_hub_download("xet/model", "folder/part.bin")
        emit({{"files": sorted(api.list_repo_files("xet/model")),
              "lfs": {{p.path: p.lfs.sha256 for p in info}},
              "downloaded": hashlib.sha256(open(got, "rb").read()).hexdigest(),
              "pr": sorted(api.list_repo_files("xet/model", revision=pr.pr_revision))}})
        """,
        endpoint=server.hf_endpoint(),
        token=server.admin_token,
        hf_home=tmp_path / "hf-home",
    )
    assert out["files"] == ["folder/notes.txt", "folder/part.bin", "weights.bin"]
    assert "copy.bin" in out["pr"]  # create_pr: the write token asked with ?create_pr=1
    blobs = FsBlobStore(server.data_dir / "blobs")
    for path, content in (("weights.bin", data), ("folder/part.bin", part)):
        sha = hashlib.sha256(content).hexdigest()
        assert out["lfs"][path] == sha
        record = meta.xet_file_for_sha256(Sha256(sha))
        assert record is not None, f"{path} did not go through Xet"
        assert record.size == len(content)
        assert meta.xet_file_uploaded_to(Sha256(sha), "models")
        assert not blobs.exists(Sha256(sha))  # no full copy: its bytes live in the xorbs
        assert b"".join(iter_file(meta, blobs, record.terms)) == content
        scan = meta.get_scan(Sha256(sha))
        assert scan is not None  # scanned before its first byte can be served
    # the bytes come back through the existing read paths: hf_xet above, the resolve bridge here
    assert out["downloaded"] == hashlib.sha256(part).hexdigest()
    r = httpx.get(
        f"{server.hf_endpoint()}/xet/model/resolve/main/weights.bin",
        headers={**server.headers(), "Range": "bytes=5000000-5999999"},
        follow_redirects=True,
    )
    assert r.status_code == 206 and r.content == data[5_000_000:6_000_000]
    # the second file reused the first one's xorb for their common 6 MiB
    big = meta.xet_file_for_sha256(Sha256(hashlib.sha256(data).hexdigest()))
    small = meta.xet_file_for_sha256(Sha256(hashlib.sha256(part).hexdigest()))
    assert big is not None and small is not None
    assert {t.xorb_hash for t in big.terms} & {t.xorb_hash for t in small.terms}


# -- tokens and routes --------------------------------------------------------------------------
def test_write_token_needs_write_on_the_repo(server: RunningServer) -> None:
    url = f"{server.hf_endpoint()}/api/models/xet/bad/xet-write-token/main"
    assert httpx.get(url).status_code == 401
    reader = mint_token(server.data_dir, "read", "reader")
    assert httpx.get(url, headers=server.headers(reader)).status_code == 403
    missing = f"{server.hf_endpoint()}/api/models/xet/nope/xet-write-token/main"
    assert httpx.get(missing, headers=server.headers()).status_code == 404
    pr = httpx.get(url + "?create_pr=1", headers=server.headers())
    assert pr.status_code == 200 and pr.json()["accessToken"]


def test_cas_tokens_are_checked(server: RunningServer) -> None:
    rng = random.Random(1)
    data, h, _ = _xorb(rng, 2)
    path = f"/v1/xorbs/default/{hash_to_string(h)}"
    assert httpx.post(_cas(server) + path, content=data).status_code == 401
    garbage = {"Authorization": "Bearer xet1.e30.AAAA"}
    assert httpx.post(_cas(server) + path, content=data, headers=garbage).status_code == 401
    vault_token = server.headers()  # a vault token is not a Xet token
    assert httpx.post(_cas(server) + path, content=data, headers=vault_token).status_code == 401
    # a token of repository "other" on the CAS of "models"
    other = _write_token(server, "other", "xet/other")
    assert httpx.post(_cas(server) + path, content=data, headers=other).status_code == 403
    # read scope and expiry, with tokens minted by the vault's own key
    key = _token_key(server)
    read, _ = XetTokens(key).issue("models", "model", "xet/bad", "main", "read")
    reader = {"Authorization": f"Bearer {read}"}
    r = httpx.post(_cas(server) + path, content=data, headers=reader)
    assert r.status_code == 403
    for version in ("v1", "v2"):  # refused before any event is streamed
        r = httpx.post(f"{_cas(server)}/{version}/shards", content=b"x" * 100, headers=reader)
        assert r.status_code == 403, r.text
    # a read token may ask dedup questions (hf_xet asks with whichever token it holds)
    r = httpx.get(f"{_cas(server)}/v1/chunks/default/{'2' * 64}", headers=reader)
    assert r.status_code == 404
    past = XetTokens(key, 60, clock=lambda: time.time() - 3600)
    old, _ = past.issue("models", "model", "xet/bad", "main", "write")
    r = httpx.post(_cas(server) + path, content=data, headers={"Authorization": f"Bearer {old}"})
    assert r.status_code == 401 and "expired" in r.json()["error"]


def _token_key(server: RunningServer) -> bytes:
    store = SqlMetadataStore(server.data_dir / "metadata.sqlite3")
    try:
        value = store.get_setting("xet_token_key")
    finally:
        store.close()
    assert value is not None
    return bytes.fromhex(value)


def test_grants_and_telemetry(server: RunningServer) -> None:
    auth = _write_token(server, "models", "xet/bad")
    r = httpx.post(
        f"{_cas(server)}/v1/xorb-grants/default/{'0' * 64}",
        json={"length": 10, "checksum": {"algo": "crc64nvme", "value": "1"}},
        headers=auth,
    )
    assert r.status_code == 404
    r = httpx.post(f"{server.url}v1/telemetry", json={"upload": {"bytes": 1}})
    assert r.status_code == 200


def _declared_only(url: str, headers: dict[str, str], length: int) -> int:
    """POST declaring ``length`` body bytes but sending 1 KiB: the status of the answer."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        head = [f"POST {parts.path} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {length}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + b"x" * 1024)
        return int(sock.recv(4096).split(b" ", 2)[1])


# -- xorbs ----------------------------------------------------------------------------------------
def test_bad_xorbs_are_refused_and_nothing_stored(
    server: RunningServer, meta: SqlMetadataStore
) -> None:
    auth = _write_token(server, "models", "xet/bad")
    rng = random.Random(2)
    data, h, _ = _xorb(rng)
    _other_data, other_h, _ = _xorb(rng)
    flipped = bytearray(data)
    flipped[100] ^= 1  # a payload byte of chunk 0: its chunk hash, hence the root, changes
    cases = {
        "wrong hash in path": (data, other_h),
        "flipped payload byte": (bytes(flipped), h),
        "truncated": (data[:-7], h),
        "trailing garbage": (data + b"\0" * 9, h),
        "empty": (b"", h),
    }
    for what, (body, name) in cases.items():
        r = _post_xorb(server, auth, body, name)
        assert r.status_code == 400, (what, r.text)
        assert "Invalid xorb" in r.json()["error"], what
    assert meta.get_xorb(hash_to_string(h)) is None
    assert meta.get_xorb(hash_to_string(other_h)) is None
    r = httpx.post(f"{_cas(server)}/v1/xorbs/default/not-a-hash", content=data, headers=auth)
    assert r.status_code == 404  # not a route
    # over the size limit: refused from the declared length, before the body is read
    status = _declared_only(f"{_cas(server)}/v1/xorbs/default/{hash_to_string(h)}", auth, 80 * MiB)
    assert status == 413
    # and the genuine one is stored, once
    for inserted in (True, False):
        r = _post_xorb(server, auth, data, h)
        assert r.status_code == 200 and r.json() == {"was_inserted": inserted}
    stored = meta.get_xorb(hash_to_string(h))
    assert stored is not None and stored.n_chunks == 4 and stored.serialized_len == len(data)
    assert len(meta.xorb_chunks(hash_to_string(h))) == 4


# -- shards ---------------------------------------------------------------------------------------
def test_shards_prove_their_claims(server: RunningServer, meta: SqlMetadataStore) -> None:
    auth = _write_token(server, "models", "xet/bad")
    rng = random.Random(3)
    data, h, chunks = _xorb(rng, 5)
    _missing_data, missing_h, missing_chunks = _xorb(rng, 2)
    assert _post_xorb(server, auth, data, h).status_code == 200
    entry = _entry(data, h)
    good, content = _file([(h, chunks, 0, 3), (h, chunks, 1, 2)])
    sha = hashlib.sha256(content).hexdigest()

    def refused(shard: bytes, needle: str, expect_sha: str = sha) -> None:
        r = httpx.post(f"{_cas(server)}/v1/shards", content=shard, headers=auth)
        assert r.status_code == 400, r.text
        assert needle in r.json()["error"], r.json()["error"]
        r = httpx.post(f"{_cas(server)}/v2/shards", content=shard, headers=auth)
        assert r.status_code == 200
        events = [json.loads(line) for line in r.text.splitlines()]
        assert events[-1]["type"] == "error" and events[-1]["retryable"] is False
        assert needle in events[-1]["message"]
        assert meta.xet_file_for_sha256(Sha256(expect_sha)) is None

    unknown, unknown_content = _file([(missing_h, missing_chunks, 0, 2)])
    refused(
        build_upload_shard([unknown], []),
        "was not uploaded",
        hashlib.sha256(unknown_content).hexdigest(),
    )
    liar, _ = _file([(h, chunks, 0, 3)], lie=1)
    refused(build_upload_shard([liar], []), "hold")
    outside = ShardFile(
        good.file_hash, (ShardTerm(h, 30_000, 4, 6, good.terms[0].range_hash),), sha
    )
    refused(build_upload_shard([outside], []), "outside")
    swapped = ShardFile(good.file_hash, (good.terms[0], good.terms[0]), sha)
    refused(build_upload_shard([swapped], []), "file hash")
    forged = ShardFile(
        good.file_hash,
        (ShardTerm(h, 90_000, 0, 3, bytes(32)), good.terms[1]),
        sha,
    )
    refused(build_upload_shard([forged], []), "verification hash")
    # the sha256 of another file: everything else is true
    victim = hashlib.sha256(b"someone else's weights").hexdigest()
    false_claim, _ = _file([(h, chunks, 0, 3), (h, chunks, 1, 2)], sha256=victim)
    refused(build_upload_shard([false_claim], []), "content has sha256", victim)
    other_false, _ = _file([(h, chunks, 2, 5)], sha256=victim)
    refused(build_upload_shard([good, other_false], []), "content has sha256")  # all or nothing
    short = entry.chunks[:-1]  # a CAS entry that does not list the stored xorb's chunks
    bad_entry = ShardXorbEntry(h, short, sum(c[2] for c in short))
    refused(build_upload_shard([good], [bad_entry]), "chunk list does not match")
    refused(b"HFRepoMetaData\0" + b"\0" * 40, "Invalid shard")
    # a xorb uploaded into repository "other" cannot be used by a shard of "models"
    other_auth = _write_token(server, "other", "xet/other")
    other_data, other_h, other_chunks = _xorb(rng, 2)
    r = httpx.post(
        f"{_cas(server, 'other')}/v1/xorbs/default/{hash_to_string(other_h)}",
        content=other_data,
        headers=other_auth,
    )
    assert r.status_code == 200
    foreign, foreign_content = _file([(other_h, other_chunks, 0, 2)])
    refused(
        build_upload_shard([foreign], []),
        "was not uploaded",
        hashlib.sha256(foreign_content).hexdigest(),
    )

    # the true shard: registered once, the second time reported as known
    r = httpx.post(
        f"{_cas(server)}/v2/shards", content=build_upload_shard([good], [entry]), headers=auth
    )
    events = [json.loads(line) for line in r.text.splitlines()]
    assert next(e["type"] for e in events) == "validating"
    assert events[-1] == {"type": "result", "result": 1}, events
    record = meta.xet_file_for_sha256(Sha256(sha))
    assert record is not None and record.file_hash == hash_to_string(good.file_hash)
    assert record.size == len(content) and meta.xet_file_uploaded_to(Sha256(sha), "models")
    r = httpx.post(
        f"{_cas(server)}/v1/shards", content=build_upload_shard([good], [entry]), headers=auth
    )
    assert r.status_code == 200 and r.json() == {"result": 0}

    # dedup: answered for this repository's chunks only
    first = hash_to_string(entry.chunks[0][0])
    r = httpx.get(f"{_cas(server)}/v1/chunks/default/{first}", headers=auth)
    assert r.status_code == 200 and r.content.startswith(b"HFRepoMetaData")
    r = httpx.get(f"{_cas(server, 'other')}/v1/chunks/default-merkledb/{first}", headers=other_auth)
    assert r.status_code == 404
    r = httpx.get(f"{_cas(server)}/v1/chunks/default/{'1' * 64}", headers=auth)
    assert r.status_code == 404
    assert string_to_hash(first) == entry.chunks[0][0]


def test_commit_trust(server: RunningServer, meta: SqlMetadataStore) -> None:
    """A Xet file's sha256 commits into the repository it was uploaded to; elsewhere only for a
    committer who can read a repository holding it."""
    auth = _write_token(server, "models", "xet/bad")
    rng = random.Random(4)
    data, h, chunks = _xorb(rng, 3)
    assert _post_xorb(server, auth, data, h).status_code == 200
    f, content = _file([(h, chunks, 0, 3)])
    r = httpx.post(f"{_cas(server)}/v1/shards", content=build_upload_shard([f], []), headers=auth)
    assert r.status_code == 200, r.text
    sha = hashlib.sha256(content).hexdigest()

    def commit(repository: str, repo_id: str, token: str) -> httpx.Response:
        lines = [
            {"key": "header", "value": {"summary": "xet file"}},
            {
                "key": "lfsFile",
                "value": {"path": "w.bin", "algo": "sha256", "oid": sha, "size": len(content)},
            },
        ]
        return httpx.post(
            f"{server.hf_endpoint(repository)}/api/models/{repo_id}/commit/main",
            content="\n".join(json.dumps(line) for line in lines),
            headers={**server.headers(token), "Content-Type": "application/x-ndjson"},
        )

    bob = mint_token(server.data_dir, "write", "bob", "other")
    r = commit("other", "xet/other", bob)
    assert r.status_code == 400 and "never uploaded" in r.text, r.text
    r = commit("models", "xet/bad", server.admin_token)
    assert r.status_code == 200, r.text
    listed = httpx.post(
        f"{server.hf_endpoint()}/api/models/xet/bad/paths-info/main",
        data={"paths": "w.bin"},
        headers=server.headers(),
    )
    assert listed.status_code == 200 and listed.json()[0]["lfs"]["oid"] == sha


def test_upload_under_jupyter(jupyter_server: RunningServer, tmp_path: Path) -> None:
    """The CAS also lives under the extension's Hub prefix (base_url /jp/)."""
    data = os.urandom(11 * MiB)
    (tmp_path / "w.bin").write_bytes(data)
    out = run_client(
        f"""
        import hashlib
        api.create_repo("xet/jupyter-upload", exist_ok=True)
        api.upload_file(path_or_fileobj={str(tmp_path / "w.bin")!r}, path_in_repo="w.bin",
                        repo_id="xet/jupyter-upload")
        got = hf_hub_download("xet/jupyter-upload", "w.bin")
        emit(hashlib.sha256(open(got, "rb").read()).hexdigest())
        """,
        endpoint=jupyter_server.hf_endpoint(),
        token=jupyter_server.admin_token,
        hf_home=tmp_path / "hf-home",
    )
    sha = hashlib.sha256(data).hexdigest()
    assert out == sha
    store = SqlMetadataStore(jupyter_server.data_dir / "metadata.sqlite3")
    try:
        assert store.xet_file_for_sha256(Sha256(sha)) is not None  # it went through Xet
    finally:
        store.close()


def test_uploads_in_flight_share_a_memory_allowance(
    server: RunningServer, meta: SqlMetadataStore
) -> None:
    """Shard bodies (buffered whole) waiting to arrive reserve their declared size; past 1 GiB in
    flight a new upload is told to retry (429), and what a dropped connection reserved is given
    back. (Xorb bodies stream into a small ring: tests/xet/test_write_stream.py.)"""
    auth = _write_token(server, "models", "xet/bad")
    url = urlsplit(f"{_cas(server)}/v1/shards")
    head = [f"POST {url.path} HTTP/1.1", f"Host: {url.netloc}", f"Content-Length: {63 * MiB}"]
    head += [f"{k}: {v}" for k, v in auth.items()]
    request = ("\r\n".join(head) + "\r\n\r\n").encode()
    waiting = []
    try:
        for _ in range(16):  # 16 x 63 MiB reserved, bodies never sent
            sock = socket.create_connection((url.hostname, url.port), timeout=30)
            sock.sendall(request)
            waiting.append(sock)
        time.sleep(0.5)
        status = _declared_only(url.geturl(), auth, 63 * MiB)
        assert status == 429
    finally:
        for sock in waiting:
            sock.close()
    deadline = time.monotonic() + 10
    while (r := httpx.post(url.geturl(), content=b"not a shard", headers=auth)).status_code == 429:
        assert time.monotonic() < deadline, "reservations of closed connections were kept"
        time.sleep(0.2)
    assert r.status_code == 400, r.text


def test_a_malicious_upload_is_judged_before_any_byte(
    server: RunningServer, meta: SqlMetadataStore
) -> None:
    """The shard's file is scanned before it is registered: committed, it is blocked at once."""
    evil = b"cos\nsystem\n(S'echo pwned'\ntR."  # a pickle calling os.system
    auth = _write_token(server, "models", "xet/bad")
    data, h = build_xorb([evil])
    assert _post_xorb(server, auth, data, h).status_code == 200
    f, _ = _file([(h, [evil], 0, 1)])
    r = httpx.post(f"{_cas(server)}/v1/shards", content=build_upload_shard([f], []), headers=auth)
    assert r.status_code == 200, r.text
    sha = hashlib.sha256(evil).hexdigest()
    scan = meta.get_scan(Sha256(sha))
    assert scan is not None and scan.verdict == "malicious"
    lines = [
        {"key": "header", "value": {"summary": "evil"}},
        {
            "key": "lfsFile",
            "value": {"path": "evil.pkl", "algo": "sha256", "oid": sha, "size": len(evil)},
        },
    ]
    r = httpx.post(
        f"{server.hf_endpoint()}/api/models/xet/bad/commit/main",
        content="\n".join(json.dumps(line) for line in lines),
        headers={**server.headers(), "Content-Type": "application/x-ndjson"},
    )
    assert r.status_code == 200, r.text
    r = httpx.get(f"{server.hf_endpoint()}/xet/bad/resolve/main/evil.pkl", headers=server.headers())
    assert r.status_code == 403 and r.headers["X-Error-Code"] == "GatedRepo"
    assert evil not in r.content
