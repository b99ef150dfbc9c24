"""Stock ``huggingface_hub`` 2.4.0 + ``hf_xet`` 1.8.0, Xet ON (HF_HUB_DISABLE_XET unset), against a
real ModelVault server: uploads (upload_file, upload_folder, create_commit), downloads
(hf_hub_download, snapshot_download, HfFileSystem ranged reads, transformers), the same files
through the LFS path and curl, chunk-level dedup of a re-upload, and kill -9 of the client and of
the server mid-upload.

Each client runs in a fresh interpreter (tests/compat/hub_client.py): huggingface_hub reads its
environment at import. One server for the module; the two kill tests start their own.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.compat.hub_client import client_env, client_script, run_client
from tests.compat.test_transformers import BUILD_AND_PUSH, LOAD
from tests.servers import RunningServer, running, start_standalone
from tests.xet.server_counters import blob_bytes, metric_total, request_bytes

MiB = 1024**2
REPO = "xet/stock"

XET_ON = """
from huggingface_hub import constants
from huggingface_hub.utils._runtime import is_xet_available
assert is_xet_available() and not constants.HF_HUB_DISABLE_XET, "Xet must be on for this test"
"""

PUSH = (
    XET_ON
    + """
from huggingface_hub import CommitOperationAdd
src = os.environ["SRC"]
repo = os.environ["REPO_ID"]
api.create_repo(repo)
api.upload_file(path_or_fileobj=f"{src}/single.bin", path_in_repo="single.bin", repo_id=repo)
api.upload_folder(folder_path=f"{src}/folder", repo_id=repo)
api.create_commit(repo, commit_message="two xorbs", operations=[
    CommitOperationAdd(path_in_repo="big.bin", path_or_fileobj=f"{src}/big.bin"),
    CommitOperationAdd(path_in_repo="notes.txt", path_or_fileobj=b"small, inline\\n"),
])
emit(True)
"""
)

PULL = (
    XET_ON
    + """
import hashlib
from huggingface_hub import HfFileSystem
def sha(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        while b := f.read(1 << 20):
            h.update(b)
    return h.hexdigest()
repo = os.environ["REPO_ID"]
out = {"file": {}, "snapshot": {}}
for name in ("single.bin", "big.bin", "weights/a.bin"):
    out["file"][name] = sha(hf_hub_download(repo, name, cache_dir=os.environ["CACHE"] + "/f"))
root = snapshot_download(repo, cache_dir=os.environ["CACHE"] + "/s")
for dirpath, _, files in os.walk(root):
    for f in files:
        p = os.path.join(dirpath, f)
        out["snapshot"][os.path.relpath(p, root)] = sha(p)
fs = HfFileSystem()
start = int(os.environ["RANGE_START"])
with fs.open(f"{repo}/big.bin", "rb") as f:
    f.seek(start)
    out["range"] = f.read(4096).hex()
emit(out)
"""
)

PULL_LFS = """
import hashlib
from huggingface_hub import constants
assert constants.HF_HUB_DISABLE_XET
repo = os.environ["REPO_ID"]
out = {}
for name in ("single.bin", "big.bin", "weights/a.bin"):
    p = hf_hub_download(repo, name, cache_dir=os.environ["CACHE"])
    out[name] = hashlib.sha256(open(p, "rb").read()).hexdigest()
emit(out)
"""

UPLOAD_ONE = (
    XET_ON
    + """
api.upload_file(path_or_fileobj=os.environ["SRC"], path_in_repo=os.environ["DEST"],
                repo_id=os.environ["REPO_ID"])
emit(True)
"""
)

# Uploads everything (xorbs and shard) through the stock code, then stops before the commit so
# the test can kill -9 the process at exactly that point.
UPLOAD_THEN_HANG = (
    XET_ON
    + """
import time
import huggingface_hub._commit_api as commit_api
real = commit_api._upload_xet_files
def uploaded_then_hang(**kwargs):
    real(**kwargs)
    print("__UPLOADED__", flush=True)
    time.sleep(600)
commit_api._upload_xet_files = uploaded_then_hang
api.upload_file(path_or_fileobj=os.environ["SRC"], path_in_repo=os.environ["DEST"],
                repo_id=os.environ["REPO_ID"])
"""
)


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _random(path: Path, size: int) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = os.urandom(size)
    path.write_bytes(data)
    return data


def _client(server: RunningServer, code: str, home: Path, timeout: float = 300, **env: str) -> Any:
    return run_client(
        code,
        endpoint=server.hf_endpoint(),
        token=server.admin_token,
        hf_home=home,
        extra_env=env,
        timeout=timeout,
    )


def _head(server: RunningServer, repo: str, path: str) -> httpx.Response:
    return httpx.head(
        f"{server.hf_endpoint()}/{repo}/resolve/main/{path}", headers=server.headers()
    )


def _create_repo(server: RunningServer, repo_id: str) -> None:
    namespace, name = repo_id.split("/")
    httpx.post(
        f"{server.hf_endpoint()}/api/repos/create",
        json={"name": name, "organization": namespace, "type": "model"},
        headers=server.headers(),
    ).raise_for_status()


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running(start_standalone(tmp_path_factory.mktemp("xet-e2e") / "vault")) as server:
        yield server


@pytest.fixture(scope="module")
def pushed(vault: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The repository REPO pushed with Xet on; the sha256 of every file in it."""
    src = tmp_path_factory.mktemp("xet-src")
    _random(src / "single.bin", 10 * MiB + 4096)
    shared = os.urandom(6 * MiB)  # a.bin and b.bin share their first half
    (src / "folder" / "weights").mkdir(parents=True)
    (src / "folder" / "weights" / "a.bin").write_bytes(shared + os.urandom(6 * MiB))
    (src / "folder" / "weights" / "b.bin").write_bytes(shared + os.urandom(6 * MiB))
    (src / "folder" / "config.json").write_text('{"model_type": "none"}')
    _random(src / "big.bin", 70 * MiB)  # more than one 64 MiB xorb
    lfs_calls = metric_total(
        vault.url, vault.admin_token, "modelvault_http_requests", family="hf_lfs"
    )
    home = tmp_path_factory.mktemp("push-home")
    _client(vault, PUSH, home, REPO_ID=REPO, SRC=str(src))
    # the upload went through Xet: not one LFS call
    assert (
        metric_total(vault.url, vault.admin_token, "modelvault_http_requests", family="hf_lfs")
        == lfs_calls
    )
    files = {
        "single.bin": src / "single.bin",
        "big.bin": src / "big.bin",
        "weights/a.bin": src / "folder" / "weights" / "a.bin",
        "weights/b.bin": src / "folder" / "weights" / "b.bin",
        "config.json": src / "folder" / "config.json",
    }
    out = {name: _sha(p) for name, p in files.items()}
    out["notes.txt"] = hashlib.sha256(b"small, inline\n").hexdigest()
    out["_src"] = str(src)
    return out


def test_xet_uploads_are_served_as_xet(vault: RunningServer, pushed: dict[str, str]) -> None:
    for name in ("single.bin", "big.bin", "weights/a.bin", "weights/b.bin"):
        r = _head(vault, REPO, name)
        assert r.status_code in (200, 302), (name, r.status_code)
        assert r.headers.get("X-Xet-Hash"), f"{name} is not served as a Xet file"
        assert 'rel="xet-auth"' in r.headers.get("Link", ""), r.headers
        etag = r.headers.get("X-Linked-Etag") or r.headers.get("ETag", "")
        assert etag.strip('"') == pushed[name]
    # small files stay regular git files
    assert not _head(vault, REPO, "config.json").headers.get("X-Xet-Hash")


def test_downloads_with_xet(vault: RunningServer, pushed: dict[str, str], tmp_path: Path) -> None:
    start = 64 * MiB - 2000  # across the first xorb's end
    got = _client(
        vault,
        PULL,
        tmp_path / "home",
        REPO_ID=REPO,
        CACHE=str(tmp_path / "cache"),
        RANGE_START=str(start),
    )
    for name, sha in got["file"].items():
        assert sha == pushed[name], name
    expected = {k: v for k, v in pushed.items() if not k.startswith("_")}
    snapshot = {k: v for k, v in got["snapshot"].items() if not k.startswith(".")}
    assert snapshot == expected
    with open(Path(pushed["_src"]) / "big.bin", "rb") as f:
        f.seek(start)
        assert bytes.fromhex(got["range"]) == f.read(4096)


def test_same_files_without_xet_and_with_curl(
    vault: RunningServer, pushed: dict[str, str], tmp_path: Path
) -> None:
    got = _client(
        vault,
        PULL_LFS,
        tmp_path / "home",
        REPO_ID=REPO,
        HF_HUB_DISABLE_XET="1",
        CACHE=str(tmp_path / "cache"),
    )
    assert got == {k: pushed[k] for k in ("single.bin", "big.bin", "weights/a.bin")}
    url = f"{vault.hf_endpoint()}/{REPO}/resolve/main/big.bin"
    auth = ["-H", f"Authorization: Bearer {vault.admin_token}"]
    sink = tmp_path / "curl.bin"
    whole = subprocess.run(["curl", "-sSfL", "-o", str(sink), *auth, url], capture_output=True)
    assert whole.returncode == 0, whole.stderr
    assert _sha(sink) == pushed["big.bin"]
    ranged = subprocess.run(
        [
            "curl",
            "-sSfL",
            "-r",
            f"{64 * MiB - 10}-{64 * MiB + 9}",
            "-w",
            "%{http_code}",
            "-o",
            str(sink),
            *auth,
            url,
        ],
        capture_output=True,
        text=True,
    )
    assert ranged.stdout == "206", ranged
    with open(Path(pushed["_src"]) / "big.bin", "rb") as f:
        f.seek(64 * MiB - 10)
        assert sink.read_bytes() == f.read(20)


def test_transformers_model_pushed_with_xet(vault: RunningServer, tmp_path: Path) -> None:
    # hidden_size 1024 makes model.safetensors ~17 MB: above the 10 MiB regular-file limit, so
    # it goes through Xet (the default tiny model would be an inline git file)
    build = BUILD_AND_PUSH.replace("hidden_size=16", "hidden_size=1024")
    assert build != BUILD_AND_PUSH
    repo_id = f"tiny/xet-bert-{uuid.uuid4().hex[:8]}"
    # One interpreter pushes, then loads from the server into its still empty cache (torch and
    # transformers cost seconds to import; tests/compat/test_transformers.py loads in a fresh one).
    push_then_load = (
        XET_ON
        + "\n_emit, _results = emit, []\nemit = _results.append\n"
        + build
        + LOAD
        + "\n_emit({'pushed': _results[0], 'loaded': _results[1]})\n"
    )
    got = _client(vault, push_then_load, tmp_path / "home", REPO_ID=repo_id)
    pushed, loaded = got["pushed"], got["loaded"]
    assert "model.safetensors" in pushed["files"]
    assert _head(vault, repo_id, "model.safetensors").headers.get("X-Xet-Hash")
    assert loaded["hidden"] == 1024
    assert loaded["ids"] == pushed["ids"] == [5, 6]
    assert abs(loaded["sum"] - pushed["sum"]) < 1e-3


def test_reupload_of_a_changed_file_sends_only_changed_chunks(
    vault: RunningServer, tmp_path: Path
) -> None:
    repo = "xet/dedup"
    src = tmp_path / "model.bin"
    data = bytearray(_random(src, 16 * MiB))
    home = tmp_path / "home"  # the same client for both versions, as a user re-pushing
    _create_repo(vault, repo)
    _client(vault, UPLOAD_ONE, home, REPO_ID=repo, SRC=str(src), DEST="model.bin")
    changed = 1 * MiB
    data[7 * MiB : 7 * MiB + changed] = os.urandom(changed)
    src.write_bytes(data)
    sent0, stored0 = request_bytes(vault.url, vault.admin_token), blob_bytes(vault.data_dir)
    _client(vault, UPLOAD_ONE, home, REPO_ID=repo, SRC=str(src), DEST="model.bin")
    sent = request_bytes(vault.url, vault.admin_token) - sent0
    stored = blob_bytes(vault.data_dir) - stored0
    # the changed MiB plus at most a chunk (<= 128 KiB) on either side, the shard and the commit
    assert changed <= sent <= changed + 512 * 1024, sent
    assert stored <= changed + 512 * 1024, stored
    r = httpx.get(
        f"{vault.hf_endpoint()}/{repo}/resolve/main/model.bin",
        headers=vault.headers(),
        follow_redirects=True,
        timeout=60,
    )
    assert hashlib.sha256(r.content).digest() == hashlib.sha256(data).digest()


def test_fresh_client_reupload_of_a_multi_xorb_file_sends_only_changed_chunks(
    vault: RunningServer, tmp_path: Path
) -> None:
    """A CI job pushing a fine-tune has no local chunk cache: it learns what the server holds
    only from the global-dedup answers to its few queries (a file's first chunk, ~1 in 1,024
    others). The answer to the first chunk must cover the whole previous version, not only the
    64 MiB xorb holding that chunk, or the rest of the file is sent and stored again."""
    repo = "xet/dedup-fresh"
    src = tmp_path / "model.bin"
    data = bytearray(_random(src, 70 * MiB))  # two xorbs
    _create_repo(vault, repo)
    _client(vault, UPLOAD_ONE, tmp_path / "home-1", REPO_ID=repo, SRC=str(src), DEST="model.bin")
    changed = 1 * MiB
    data[3 * MiB : 3 * MiB + changed] = os.urandom(changed)  # in the first xorb
    src.write_bytes(data)
    sent0, stored0 = request_bytes(vault.url, vault.admin_token), blob_bytes(vault.data_dir)
    _client(vault, UPLOAD_ONE, tmp_path / "home-2", REPO_ID=repo, SRC=str(src), DEST="model.bin")
    sent = request_bytes(vault.url, vault.admin_token) - sent0
    stored = blob_bytes(vault.data_dir) - stored0
    assert changed <= sent <= changed + 512 * 1024, sent
    assert stored <= changed + 512 * 1024, stored


@pytest.mark.slow
def test_kill_client_after_upload_before_commit_leaves_nothing(
    vault: RunningServer, tmp_path: Path
) -> None:
    server = vault  # the client is killed, not the server: the module's server serves
    repo = "xet/killed"
    _create_repo(server, "xet/killed")
    head0 = httpx.get(
        f"{server.hf_endpoint()}/api/models/{repo}/revision/main", headers=server.headers()
    ).json()["sha"]
    src = tmp_path / "model.bin"
    _random(src, 12 * MiB)
    stored0 = blob_bytes(server.data_dir)
    env = client_env(
        endpoint=server.hf_endpoint(),
        token=server.admin_token,
        hf_home=tmp_path / "home",
        extra_env={"REPO_ID": repo, "SRC": str(src), "DEST": "model.bin"},
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", client_script(UPLOAD_THEN_HANG)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # blocks until the xorb and shard are uploaded
        assert line.strip() == "__UPLOADED__", (line, proc.stderr and proc.stderr.read())
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    stored = blob_bytes(server.data_dir) - stored0
    assert stored >= 12 * MiB, "the xorb reached the server before the kill"
    info = httpx.get(
        f"{server.hf_endpoint()}/api/models/{repo}/revision/main", headers=server.headers()
    ).json()
    assert info["sha"] == head0, "no commit"
    assert all(s["rfilename"] != "model.bin" for s in info.get("siblings", []))
    assert _head(server, repo, "model.bin").status_code == 404
    # a new client finishes the same upload (the orphaned xorb does not get in the way)
    _client(server, UPLOAD_ONE, tmp_path / "home2", REPO_ID=repo, SRC=str(src), DEST="model.bin")
    r = httpx.get(
        f"{server.hf_endpoint()}/{repo}/resolve/main/model.bin",
        headers=server.headers(),
        follow_redirects=True,
        timeout=60,
    )
    assert hashlib.sha256(r.content).hexdigest() == _sha(src)


@pytest.mark.slow
def test_kill_server_mid_xorb_upload_leaves_no_partial_blob(tmp_path: Path) -> None:
    from modelvault_jlab.core.xet.hashing import hash_to_string
    from modelvault_jlab.core.xet.xorb import build_xorb

    data_dir = tmp_path / "vault"
    server = start_standalone(data_dir)
    port = server.port
    try:
        _create_repo(server, "xet/crash")
        grant = httpx.get(
            f"{server.hf_endpoint()}/api/models/xet/crash/xet-write-token/main",
            headers=server.headers(),
        ).json()
        chunks = [os.urandom(64 * 1024) for _ in range(128)]  # 8 MiB, uncompressible
        xorb, xorb_hash = build_xorb(chunks)
        url = urlsplit(
            f"{grant['casUrl'].rstrip('/')}/v1/xorbs/default/{hash_to_string(xorb_hash)}"
        )
        blobs_before = blob_bytes(data_dir)
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(
            f"POST {url.path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {grant['accessToken']}\r\n"
            f"Content-Length: {len(xorb)}\r\n\r\n".encode()
        )
        sock.sendall(xorb[: len(xorb) // 2])
        time.sleep(0.5)  # the server is reading the body
        server.kill()  # SIGKILL, mid-body
        sock.close()

        restarted = start_standalone(data_dir, port=port)
        try:
            tmp_dir = data_dir / "blobs" / "tmp"
            assert not tmp_dir.exists() or list(tmp_dir.iterdir()) == []
            assert blob_bytes(data_dir) == blobs_before, "nothing of the xorb was kept"
            grant = httpx.get(
                f"{restarted.hf_endpoint()}/api/models/xet/crash/xet-write-token/main",
                headers=restarted.headers(),
            ).json()
            # the xorb is unknown: sent again, it is inserted (and verified) now
            r = httpx.post(
                f"{grant['casUrl'].rstrip('/')}/v1/xorbs/default/{hash_to_string(xorb_hash)}",
                content=xorb,
                headers={"Authorization": f"Bearer {grant['accessToken']}"},
                timeout=60,
            )
            assert r.status_code == 200, r.text
            assert r.json() == {"was_inserted": True}
            for blob in (data_dir / "blobs" / "sha256").rglob("*"):
                if blob.is_file():
                    assert _sha(blob) == blob.name
        finally:
            restarted.kill()
    finally:
        if server.alive():
            server.kill()
