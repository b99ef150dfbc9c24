"""Xet downloads through a real server with the stock clients (huggingface_hub 2.4.0 + hf_xet
1.8.0, Xet on): ``hf_hub_download`` and ``snapshot_download`` go through
``/cas/v2/reconstructions`` and ``/cas/fetch`` (the request log shows it), the bridge serves the
same bytes to plain HTTP with Range; and the bad cases: other repo's token, unreachable file,
expired token, tampered or widened fetch URL, a blocked file and its dedup neighbour's URLs.

The Xet files are registered straight in the server's storage (xorbs built with
``core.xet.xorb.build_xorb``), which keeps this module independent of the upload side.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from prometheus_client.parser import text_string_to_metric_families

from modelvault_jlab.core.xet.fetch import FetchSigner
from modelvault_jlab.core.xet.hashing import file_hash, hash_to_string
from modelvault_jlab.core.xet.tokens import XetTokens
from modelvault_jlab.core.xet.xorb import build_xorb, verify_xorb
from modelvault_jlab.ids import Sha256
from modelvault_jlab.storage.blobs_fs import FsBlobStore
from modelvault_jlab.storage.records import (
    BlobInfo,
    XetFileRecord,
    XetTermRecord,
    XorbChunkRecord,
    XorbRecord,
)
from modelvault_jlab.storage.sql.database import open_database
from modelvault_jlab.storage.sql.metadata import SqlMetadataStore
from tests.servers import RunningServer

CHUNK = 64 * 1024
# A pickle that calls os.system: the scanner's verdict is malicious, the default policy blocks it.
EVIL = b"cos\nsystem\n(S'echo pwned'\ntR."


@dataclass(frozen=True)
class XetRepo:
    server: RunningServer
    repo_id: str
    other_id: str
    good: bytes
    good_hash: str
    evil_hash: str
    xorb: str
    commit: str

    @property
    def endpoint(self) -> str:
        return self.server.hf_endpoint()


def _register(
    server: RunningServer, files: dict[str, list[bytes]], shared: list[bytes]
) -> tuple[str, dict[str, tuple[str, str, int]]]:
    """One xorb of ``shared`` chunks; each file a term over its own chunks of it. Returns the
    xorb hash and, per file, (xet hash, sha256, size)."""
    serialized, xorb_hash = build_xorb(shared)
    verified = verify_xorb(serialized, xorb_hash)
    xorb = hash_to_string(xorb_hash)
    db = open_database(str(server.data_dir / "metadata.sqlite3"))
    meta = SqlMetadataStore(db)
    try:
        blob = FsBlobStore(server.data_dir / "blobs").put_bytes(serialized)
        meta.register_blob(blob)
        rows = [
            XorbChunkRecord(
                i, hash_to_string(c.hash), c.raw_start, c.raw_len, c.ser_start, c.ser_end
            )
            for i, c in enumerate(verified.chunks)
        ]
        meta.put_xorb(
            XorbRecord(xorb, blob.sha256, len(serialized), verified.raw_len, len(rows)),
            rows,
            "models",
        )
        out: dict[str, tuple[str, str, int]] = {}
        for name, chunks in files.items():
            first = shared.index(chunks[0])
            data = b"".join(chunks)
            fh = hash_to_string(
                file_hash([(verified.chunks[first + i].hash, len(c)) for i, c in enumerate(chunks)])
            )
            sha = Sha256(hashlib.sha256(data).hexdigest())
            term = XetTermRecord(xorb, first, first + len(chunks), len(data))
            meta.put_xet_file(XetFileRecord(fh, sha, len(data), (term,)), "models")
            meta.register_blob(BlobInfo(sha, len(data)))
            out[name] = (fh, sha, len(data))
        return xorb, out
    finally:
        meta.close()


def _commit(server: RunningServer, repo_id: str, files: dict[str, tuple[str, str, int]]) -> str:
    """A commit naming the files by sha256 only, as hf_xet uploads do."""
    import json

    lines = [{"key": "header", "value": {"summary": "xet files", "description": ""}}]
    lines += [
        {"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": sha, "size": size}}
        for path, (_, sha, size) in files.items()
    ]
    r = httpx.post(
        f"{server.hf_endpoint()}/api/models/{repo_id}/commit/main",
        content="\n".join(json.dumps(line) for line in lines).encode(),
        headers={**server.headers(), "Content-Type": "application/x-ndjson"},
    )
    assert r.status_code == 200, r.text
    return str(r.json()["commitOid"])


@pytest.fixture(scope="module")
def xet(standalone_server: RunningServer) -> XetRepo:
    return _xet_repos(standalone_server)


def _xet_repos(standalone_server: RunningServer) -> XetRepo:
    tag = uuid.uuid4().hex[:8]
    repo_id, other_id = f"xet/read-{tag}", f"xet/other-{tag}"
    api = HfApi(endpoint=standalone_server.hf_endpoint(), token=standalone_server.admin_token)
    api.create_repo(repo_id)
    api.create_repo(other_id)
    good = os.urandom(3 * 1024 * 1024 + 12345)
    good_chunks = [good[i : i + CHUNK] for i in range(0, len(good), CHUNK)]
    # evil.pkl's only chunk sits right after first.bin's chunks in one xorb (dedup neighbours)
    shared = [*good_chunks[:20], EVIL, *good_chunks[20:]]
    neighbours = {"first.bin": good_chunks[:20], "evil.pkl": [EVIL]}
    xorb, registered = _register(standalone_server, neighbours, shared)
    _, whole = _register(standalone_server, {"good.bin": good_chunks}, good_chunks)
    files = {"good.bin": whole["good.bin"], "evil.pkl": registered["evil.pkl"]}
    commit = _commit(standalone_server, repo_id, files)
    _commit(standalone_server, other_id, {"first.bin": registered["first.bin"]})
    return XetRepo(
        standalone_server,
        repo_id,
        other_id,
        good,
        files["good.bin"][0],
        files["evil.pkl"][0],
        xorb,
        commit,
    )


def _requests_since(server: RunningServer, mark: int) -> str:
    return server.log()[mark:]


def _token(xet: XetRepo, repo_id: str | None = None) -> dict[str, str]:
    r = httpx.get(
        f"{xet.endpoint}/api/models/{repo_id or xet.repo_id}/xet-read-token/"
        + (xet.commit if repo_id is None else "main"),
        headers=xet.server.headers(),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert r.headers["X-Xet-Access-Token"] == body["accessToken"]
    assert r.headers["X-Xet-Cas-Url"] == body["casUrl"]
    assert r.headers["X-Xet-Token-Expiration"] == str(body["exp"])
    return {"Authorization": f"Bearer {body['accessToken']}", "cas": body["casUrl"]}


def _reconstruct(
    xet: XetRepo, file_hash_: str, token: dict[str, str], **headers: str
) -> httpx.Response:
    return httpx.get(
        f"{token['cas']}/v2/reconstructions/{file_hash_}",
        headers={"Authorization": token["Authorization"], **headers},
    )


def test_hf_hub_download_goes_through_xet(xet: XetRepo, tmp_path: Path) -> None:
    head = httpx.head(
        f"{xet.endpoint}/{xet.repo_id}/resolve/main/good.bin", headers=xet.server.headers()
    )
    assert head.headers["X-Xet-Hash"] == xet.good_hash
    assert f"/xet-read-token/{xet.commit}>" in head.headers["Link"]
    mark = len(xet.server.log())
    path = hf_hub_download(
        xet.repo_id,
        "good.bin",
        endpoint=xet.endpoint,
        token=xet.server.admin_token,
        cache_dir=tmp_path / "cache",
    )
    assert Path(path).read_bytes() == xet.good
    log = _requests_since(xet.server, mark)
    assert "/cas/v2/reconstructions/" in log
    assert "/cas/fetch/" in log
    assert re.search(r"GET /modelvault/hf/models/xet/read-\w+/resolve/", log) is None  # no bridge


def test_a_file_uploaded_through_xet_downloads_through_xet(xet: XetRepo, tmp_path: Path) -> None:
    api = HfApi(endpoint=xet.endpoint, token=xet.server.admin_token)
    # above the 10 MiB of an inline ("regular") upload: random, then compressible
    data = os.urandom(6 * 1024 * 1024) + bytes(5 * 1024 * 1024)
    source = tmp_path / "up.bin"
    source.write_bytes(data)
    upload_mark = len(xet.server.log())
    api.upload_file(path_or_fileobj=str(source), path_in_repo="up.bin", repo_id=xet.repo_id)
    mark = len(xet.server.log())
    path = hf_hub_download(
        xet.repo_id,
        "up.bin",
        endpoint=xet.endpoint,
        token=xet.server.admin_token,
        cache_dir=tmp_path / "cache",
    )
    assert Path(path).read_bytes() == data
    log = _requests_since(xet.server, mark)
    uploaded = xet.server.log()[upload_mark:mark]
    assert "/cas/v1/xorbs/" in uploaded and "/cas/v2/shards" in uploaded
    assert "/cas/v2/reconstructions/" in log and "/cas/fetch/" in log


def test_under_jupyter_hf_hub_download_goes_through_xet(
    jupyter_server: RunningServer, tmp_path: Path
) -> None:
    xet = _xet_repos(jupyter_server)
    before = _answered(jupyter_server)
    path = hf_hub_download(
        xet.repo_id,
        "good.bin",
        endpoint=xet.endpoint,
        token=xet.server.admin_token,
        cache_dir=tmp_path / "cache",
    )
    assert Path(path).read_bytes() == xet.good
    after = _answered(jupyter_server)  # Jupyter logs no requests: the metrics count them
    assert after["xet_reconstruction", "200"] > before.get(("xet_reconstruction", "200"), 0)
    assert after["xet_fetch", "206"] > before.get(("xet_fetch", "206"), 0)


def _answered(server: RunningServer) -> dict[tuple[str, str], float]:
    r = httpx.get(server.url + "modelvault/metrics", headers=server.headers())
    assert r.status_code == 200, r.text
    return {
        (s.labels["family"], s.labels["status"]): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
        if s.name == "modelvault_http_requests_total"
    }


def test_snapshot_download_skips_blocked_files_xet_hash(xet: XetRepo, tmp_path: Path) -> None:
    tree = httpx.get(
        f"{xet.endpoint}/api/models/{xet.repo_id}/tree/{xet.commit}?recursive=true",
        headers=xet.server.headers(),
    ).json()
    by_path = {e["path"]: e for e in tree}
    assert by_path["good.bin"]["xetHash"] == xet.good_hash
    mark = len(xet.server.log())
    folder = snapshot_download(
        xet.repo_id,
        endpoint=xet.endpoint,
        token=xet.server.admin_token,
        cache_dir=tmp_path / "cache",
        allow_patterns=["good.bin"],
    )
    assert (Path(folder) / "good.bin").read_bytes() == xet.good
    assert "/cas/v2/reconstructions/" in _requests_since(xet.server, mark)


def test_the_bridge_serves_ranges_of_xet_files(xet: XetRepo) -> None:
    url = f"{xet.endpoint}/{xet.repo_id}/resolve/{xet.commit}/good.bin"
    for first, last in ((0, 0), (70_000, 200_000), (len(xet.good) - 10, len(xet.good) - 1)):
        r = httpx.get(url, headers={**xet.server.headers(), "Range": f"bytes={first}-{last}"})
        assert r.status_code == 206
        assert r.content == xet.good[first : last + 1]
    whole = httpx.get(url, headers=xet.server.headers())
    assert hashlib.sha256(whole.content).hexdigest() == hashlib.sha256(xet.good).hexdigest()


def test_a_range_reconstruction_and_416(xet: XetRepo) -> None:
    token = _token(xet)
    size = len(xet.good)
    r = _reconstruct(xet, xet.good_hash, token, Range=f"bytes={CHUNK + 5}-{3 * CHUNK}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["offset_into_first_range"] == 5
    assert body["terms"][0]["range"] == {"start": 1, "end": 4}
    r = _reconstruct(xet, xet.good_hash, token, Range=f"bytes={size}-")
    assert r.status_code == 416
    v1 = httpx.get(
        f"{token['cas']}/v1/reconstructions/{xet.good_hash}",
        headers={"Authorization": token["Authorization"], "Range": f"bytes=0-{size - 1}"},
    ).json()
    assert v1["offset_into_first_range"] == 0 and "xorbs" not in v1
    ((info,),) = v1["fetch_info"].values()
    span = info["url_range"]
    got = httpx.get(info["url"], headers={"Range": f"bytes={span['start']}-{span['end']}"})
    assert got.status_code == 206 and len(got.content) == span["end"] - span["start"] + 1


def test_without_xet_the_client_downloads_through_the_bridge(
    xet: XetRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_DISABLE_XET", True)
    mark = len(xet.server.log())
    path = hf_hub_download(
        xet.repo_id,
        "good.bin",
        revision=xet.commit,
        endpoint=xet.endpoint,
        token=xet.server.admin_token,
        cache_dir=tmp_path / "cache",
    )
    assert Path(path).read_bytes() == xet.good
    log = _requests_since(xet.server, mark)
    assert "/cas/" not in log and re.search(r"GET /modelvault/hf/models/xet/read-\w+/resolve/", log)


def test_tokens_and_files_of_other_repos_are_refused(xet: XetRepo) -> None:
    mine, other = _token(xet), _token(xet, xet.other_id)
    # a file of this repo with a token of the other one
    assert _reconstruct(xet, xet.good_hash, other).status_code == 403
    # a file hash the token's repo does not hold (the other repo's file)
    other_hash = httpx.head(
        f"{xet.endpoint}/{xet.other_id}/resolve/main/first.bin", headers=xet.server.headers()
    ).headers["X-Xet-Hash"]
    r = _reconstruct(xet, other_hash, mine)
    assert r.status_code == 403 and "xorbs" not in r.text
    # no token, a forged one, an expired one
    # (401 like every CAS route: hf_xet refreshes tokens before they expire, never after)
    assert httpx.get(f"{mine['cas']}/v2/reconstructions/{xet.good_hash}").status_code == 401
    forged = {**mine, "Authorization": mine["Authorization"][:-4] + "AAAA"}
    assert _reconstruct(xet, xet.good_hash, forged).status_code == 401
    key = _setting(xet.server, "xet_token_key")
    expired, _ = XetTokens(bytes.fromhex(key), 1, clock=lambda: 1000.0).issue(
        "models", "model", xet.repo_id, xet.commit, "read"
    )
    r = _reconstruct(xet, xet.good_hash, {**mine, "Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and "expired" in r.text


def _setting(server: RunningServer, name: str) -> str:
    with sqlite3.connect(server.data_dir / "metadata.sqlite3") as db:
        row = db.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
    return str(row[0])


def _fetch_urls(body: dict[str, object]) -> list[tuple[str, list[tuple[int, int]]]]:
    out = []
    for entries in body["xorbs"].values():  # type: ignore[attr-defined]
        for e in entries:
            out.append((e["url"], [(r["bytes"]["start"], r["bytes"]["end"]) for r in e["ranges"]]))
    return out


def test_fetch_urls_serve_exactly_their_ranges(xet: XetRepo) -> None:
    body = _reconstruct(xet, xet.good_hash, _token(xet)).json()
    url, ranges = _fetch_urls(body)[0]
    first, last = ranges[0]
    r = httpx.get(url, headers={"Range": f"bytes={first}-{last}"})
    assert r.status_code == 206 and len(r.content) == last - first + 1
    inner = httpx.get(url, headers={"Range": f"bytes={first + 8}-{first + 99}"})
    assert inner.status_code == 206 and inner.content == r.content[8:100]
    # two ranges at once: multipart/byteranges
    both = httpx.get(url, headers={"Range": f"bytes={first}-{first + 9},{first + 20}-{first + 29}"})
    assert both.status_code == 206
    assert both.headers["Content-Type"].startswith("multipart/byteranges")
    assert r.content[:10] in both.content and r.content[20:30] in both.content
    # widened, tampered, expired
    assert httpx.get(url, headers={"Range": f"bytes={first}-{last + 1}"}).status_code == 403
    parts = urlsplit(url)
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    base = f"{parts.scheme}://{parts.netloc}{parts.path}"
    tampered = f"{base}?r={q['r'].replace(str(last), str(last + 1000), 1)}&e={q['e']}&s={q['s']}"
    assert httpx.get(tampered, headers={"Range": f"bytes={first}-{last}"}).status_code == 403
    key = bytes.fromhex(_setting(xet.server, "xet_fetch_key"))
    xorb = parts.path.rsplit("/", 1)[-1]
    old = FetchSigner(key, 1, clock=lambda: 1000.0).sign(xorb, ranges)
    assert (
        httpx.get(f"{base}?{old.query()}", headers={"Range": f"bytes={first}-{last}"}).status_code
        == 403
    )
    fresh = FetchSigner(key, 60).sign(xorb, ranges)  # the same key signs valid URLs (control)
    assert (
        httpx.get(f"{base}?{fresh.query()}", headers={"Range": f"bytes={first}-{last}"}).status_code
        == 206
    )


def test_a_blocked_file_gets_no_reconstruction_and_its_chunks_no_url(xet: XetRepo) -> None:
    token = _token(xet)
    r = _reconstruct(xet, xet.evil_hash, token)
    assert r.status_code == 403 and "xorbs" not in r.text and "fetch" not in r.text
    head = httpx.head(
        f"{xet.endpoint}/{xet.repo_id}/resolve/main/evil.pkl", headers=xet.server.headers()
    )
    assert head.status_code == 403 and "X-Xet-Hash" not in head.headers
    tree = httpx.get(
        f"{xet.endpoint}/api/models/{xet.repo_id}/tree/{xet.commit}", headers=xet.server.headers()
    ).json()
    assert "xetHash" not in {e["path"]: e for e in tree}["evil.pkl"]
    # the neighbour (first.bin of the other repo shares evil.pkl's xorb): its URLs stop before
    # evil.pkl's chunk, and asking them for it is refused
    other = _token(xet, xet.other_id)
    other_hash = httpx.head(
        f"{xet.endpoint}/{xet.other_id}/resolve/main/first.bin", headers=xet.server.headers()
    ).headers["X-Xet-Hash"]
    body = _reconstruct(xet, other_hash, other).json()
    ((url, ranges),) = [u for u in _fetch_urls(body) if f"/fetch/{xet.xorb}?" in u[0]]
    last = ranges[-1][1]
    assert httpx.get(url, headers={"Range": f"bytes={last + 1}-{last + 8}"}).status_code == 403
    assert httpx.get(url, headers={"Range": f"bytes=0-{last + 8}"}).status_code == 403
