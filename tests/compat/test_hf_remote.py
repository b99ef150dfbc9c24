"""hf-remote and hf-virtual repositories: a second ModelVault on 127.0.0.1 is the upstream,
reached through a proxy that can be told to misbehave."""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download, snapshot_download
from huggingface_hub import errors as hf_errors

from tests.faulty_upstream import FaultyProxy
from tests.remotes import create_hf_remote
from tests.servers import RunningServer

BIG = 12 * 1024 * 1024  # over the inline limit: an LFS file upstream


@pytest.fixture
def seeded(upstream: RunningServer) -> tuple[str, dict[str, bytes]]:
    """A fresh upstream model: 20 files, one LFS file, a card, a tag and a PR."""
    api = HfApi(endpoint=upstream.hf_endpoint(), token=upstream.admin_token)
    repo_id = f"up/m-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo_id)
    files = {
        f"shard/{i:02d}.json": f'{{"i": {i}, "repo": "{repo_id}"}}'.encode() for i in range(18)
    }
    files["README.md"] = b"---\nlicense: apache-2.0\n---\n# upstream model\n"
    files["model.safetensors"] = os.urandom(BIG)
    ops = [CommitOperationAdd(p, d) for p, d in files.items() if p != "model.safetensors"]
    api.create_commit(repo_id, ops, commit_message="files")
    _lfs_upload(api, repo_id, "model.safetensors", files["model.safetensors"])
    api.create_tag(repo_id, tag="v1")
    api.create_commit(
        repo_id, [CommitOperationAdd("pr.txt", b"pr")], commit_message="pr", create_pr=True
    )
    return repo_id, files


def _lfs_upload(api: HfApi, repo_id: str, path: str, data: bytes) -> None:
    import huggingface_hub.constants as c

    old, c.HF_HUB_DISABLE_XET = c.HF_HUB_DISABLE_XET, True
    try:
        api.upload_file(path_or_fileobj=data, path_in_repo=path, repo_id=repo_id)
    finally:
        c.HF_HUB_DISABLE_XET = old


def _remote(
    server: RunningServer, upstream: RunningServer, proxy: FaultyProxy, **config: object
) -> str:
    return create_hf_remote(server, upstream, via=proxy.root, **{"timeout_seconds": 5, **config})


def _api(server: RunningServer, key: str) -> HfApi:
    return HfApi(endpoint=server.hf_endpoint(key), token=server.admin_token)


def _dl(
    server: RunningServer, key: str, repo_id: str, path: str, cache: Path, **kw: object
) -> bytes:
    return Path(
        hf_hub_download(
            repo_id,
            path,
            endpoint=server.hf_endpoint(key),
            token=server.admin_token,
            cache_dir=cache,
            **kw,
        )  # type: ignore[arg-type]
    ).read_bytes()


def test_remote_serves_what_upstream_serves(
    server: RunningServer,
    upstream: RunningServer,
    proxy: FaultyProxy,
    seeded: tuple[str, dict[str, bytes]],
    tmp_path: Path,
) -> None:
    repo_id, files = seeded
    proxy.mode = "ok"
    key = _remote(server, upstream, proxy)
    api, up = _api(server, key), HfApi(endpoint=upstream.hf_endpoint(), token=upstream.admin_token)
    info, up_info = (
        api.model_info(repo_id, files_metadata=True),
        up.model_info(repo_id, files_metadata=True),
    )
    assert info.sha == up_info.sha  # commit ids pass through unchanged
    assert info.card_data is not None and info.card_data["license"] == "apache-2.0"
    assert sorted(s.rfilename for s in info.siblings or []) == sorted(files)
    snap = Path(
        snapshot_download(
            repo_id,
            endpoint=server.hf_endpoint(key),
            token=server.admin_token,
            cache_dir=tmp_path / "s",
        )
    )
    for path, data in files.items():
        assert (snap / path).read_bytes() == data
    assert (
        _dl(server, key, repo_id, "README.md", tmp_path / "tag", revision="v1")
        == files["README.md"]
    )
    assert _dl(server, key, repo_id, "pr.txt", tmp_path / "pr", revision="refs/pr/1") == b"pr"
    # etags and sizes are the upstream's, so a client cache stays coherent
    for path in ("README.md", "model.safetensors"):
        mine = httpx.head(
            f"{server.hf_endpoint(key)}/{repo_id}/resolve/main/{path}", headers=server.headers()
        )
        theirs = httpx.head(
            f"{upstream.hf_endpoint()}/{repo_id}/resolve/main/{path}", headers=upstream.headers()
        )
        for h in ("x-repo-commit", "etag", "x-linked-size"):
            assert mine.headers[h] == theirs.headers[h]
        assert not any(k.lower().startswith("x-xet") for k in mine.headers)
    tree = httpx.get(
        f"{server.hf_endpoint(key)}/api/models/{repo_id}/tree/main",
        params={"recursive": "true"},
        headers=server.headers(),
    )
    assert "xetHash" not in tree.text and "shard/00.json" in tree.text
    refs = api.list_repo_refs(repo_id, include_pull_requests=True)
    assert [t.name for t in refs.tags] == ["v1"] and [p.ref for p in refs.pull_requests or []] == [
        "refs/pr/1"
    ]
    assert sorted(i.path for i in api.get_paths_info(repo_id, ["README.md", "shard"])) == [
        "README.md",
        "shard",
    ]


def test_cached_files_need_no_upstream_and_survive_an_outage(
    standalone_server: RunningServer,
    upstream: RunningServer,
    proxy: FaultyProxy,
    seeded: tuple[str, dict[str, bytes]],
    tmp_path: Path,
) -> None:
    repo_id, files = seeded
    proxy.mode = "ok"
    key = _remote(standalone_server, upstream, proxy, revision_ttl_seconds=0)
    s = standalone_server
    sha = _api(s, key).model_info(repo_id).sha
    assert _dl(s, key, repo_id, "model.safetensors", tmp_path / "a") == files["model.safetensors"]
    before = proxy.requests
    assert (
        _dl(s, key, repo_id, "model.safetensors", tmp_path / "b", revision=sha)
        == files["model.safetensors"]
    )
    assert proxy.requests == before  # a cached file of a known commit: no upstream call at all

    proxy.mode = "down"
    try:
        r = httpx.get(
            f"{s.hf_endpoint(key)}/{repo_id}/resolve/main/model.safetensors", headers=s.headers()
        )
        assert r.status_code == 200 and r.content == files["model.safetensors"]
        assert "stale" in r.headers["x-hf-warning"] and "unreachable" in r.headers["x-hf-warning"]
        assert (
            _dl(s, key, repo_id, "model.safetensors", tmp_path / "c") == files["model.safetensors"]
        )
        # not cached: a clear error that names the upstream failure
        r = httpx.get(
            f"{s.hf_endpoint(key)}/{repo_id}/resolve/main/shard/03.json", headers=s.headers()
        )
        assert r.status_code == 502 and "Upstream http://127.0.0.1" in r.headers["x-error-message"]
        with pytest.raises(hf_errors.HfHubHTTPError) as err:
            _api(s, key).model_info("up/never-seen")
        assert "unreachable" in str(err.value)
    finally:
        proxy.mode = "ok"


def test_offline_switch(
    standalone_server: RunningServer,
    upstream: RunningServer,
    proxy: FaultyProxy,
    seeded: tuple[str, dict[str, bytes]],
    tmp_path: Path,
) -> None:
    repo_id, files = seeded
    s = standalone_server
    key = _remote(s, upstream, proxy)
    assert _dl(s, key, repo_id, "README.md", tmp_path / "a") == files["README.md"]
    # switch it offline through the admin API, sending back the config as read (the
    # upstream token shows as "***" and must survive the round trip)
    config = httpx.get(s.api(f"repositories/{key}"), headers=s.headers()).json()["config"]
    assert config["upstream_token"] == "***"
    r = httpx.patch(
        s.api(f"repositories/{key}"),
        json={"config": {**config, "offline": True}},
        headers=s.headers(),
    )
    assert r.status_code == 200, r.text
    before = proxy.requests
    r = httpx.get(f"{s.hf_endpoint(key)}/{repo_id}/resolve/main/shard/07.json", headers=s.headers())
    assert r.status_code == 503 and "offline" in r.headers["x-error-message"]
    # what is cached is still served, and the upstream token still works once back online
    assert _dl(s, key, repo_id, "README.md", tmp_path / "b") == files["README.md"]
    assert proxy.requests == before
    config["offline"] = False
    assert (
        httpx.patch(
            s.api(f"repositories/{key}"), json={"config": config}, headers=s.headers()
        ).status_code
        == 200
    )
    assert _dl(s, key, repo_id, "shard/07.json", tmp_path / "c") == files["shard/07.json"]


def test_single_flight(
    standalone_server: RunningServer,
    upstream: RunningServer,
    proxy: FaultyProxy,
    seeded: tuple[str, dict[str, bytes]],
) -> None:
    repo_id, files = seeded
    s = standalone_server
    proxy.mode = "ok"
    key = _remote(s, upstream, proxy)
    _api(s, key).model_info(repo_id)  # mirror the commit first
    url = f"{s.hf_endpoint(key)}/{repo_id}/resolve/main/model.safetensors"
    results: list[bytes] = []
    barrier = threading.Barrier(16)

    def get() -> None:
        barrier.wait()
        results.append(httpx.get(url, headers=s.headers(), timeout=60).content)

    threads = [threading.Thread(target=get) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 16 and all(r == files["model.safetensors"] for r in results)
    fetched = [
        p for p in proxy.resolve_gets if p.endswith("/model.safetensors") and f"/{repo_id}/" in p
    ]
    assert sum(proxy.resolve_gets[p] for p in fetched) == 1


def test_stream_through_starts_before_upstream_ends(
    standalone_server: RunningServer,
    upstream: RunningServer,
    proxy: FaultyProxy,
    seeded: tuple[str, dict[str, bytes]],
) -> None:
    repo_id, files = seeded
    s = standalone_server
    key = _remote(s, upstream, proxy)
    _api(s, key).model_info(repo_id)
    proxy.release.clear()
    proxy.stall_seconds = 30
    proxy.mode = "stall"  # upstream sends half, then waits for release
    try:
        received = 0
        with httpx.stream(
            "GET",
            f"{s.hf_endpoint(key)}/{repo_id}/resolve/main/model.safetensors",
            headers=s.headers(),
            timeout=30,
        ) as r:
            assert r.status_code == 200
            body = b""
            for chunk in r.iter_raw():
                body += chunk
                received = len(body)
                if received >= BIG // 4 and not proxy.release.is_set():
                    proxy.release.set()  # the client had bytes while the upstream was stalled
        assert received == BIG and body == files["model.safetensors"]
    finally:
        proxy.mode = "ok"
        proxy.release.set()


@pytest.mark.parametrize("fault", ["reset", "short", "wrong", "hang", "500", "429"])
def test_upstream_faults_never_serve_or_cache_a_bad_file(
    standalone_server: RunningServer,
    upstream: RunningServer,
    proxy: FaultyProxy,
    seeded: tuple[str, dict[str, bytes]],
    fault: str,
) -> None:
    repo_id, files = seeded
    s = standalone_server
    key = _remote(s, upstream, proxy, timeout_seconds=4)  # > load-induced delays, < the hang
    _api(s, key).model_info(repo_id)
    url = f"{s.hf_endpoint(key)}/{repo_id}/resolve/main/model.safetensors"
    proxy.stall_seconds = 10
    proxy.mode = fault
    try:
        try:
            r = httpx.get(url, headers=s.headers(), timeout=30)
            status, body = r.status_code, r.content
        except httpx.HTTPError:
            status, body = -1, b""  # connection cut mid-body: the client saw an error
        assert not (status == 200 and body == files["model.safetensors"]), fault
        assert len(body) < BIG or status != 200, (fault, status, len(body))
        if status > 0 and status != 200:
            assert status == 502, (fault, status, body[:300])
    finally:
        proxy.mode = "ok"
    oid = hashlib.sha256(files["model.safetensors"]).hexdigest()
    assert not (s.data_dir / "blobs" / "sha256" / oid[:2] / oid[2:4] / oid).exists()
    r = httpx.get(url, headers=s.headers(), timeout=30)
    assert r.status_code == 200, (fault, r.status_code, r.headers.get("x-error-message"))
    assert r.content == files["model.safetensors"]


def test_virtual_puts_local_before_remote(
    standalone_server: RunningServer,
    upstream: RunningServer,
    proxy: FaultyProxy,
    seeded: tuple[str, dict[str, bytes]],
    tmp_path: Path,
) -> None:
    repo_id, files = seeded
    s = standalone_server
    remote = _remote(s, upstream, proxy)
    local = f"local-{uuid.uuid4().hex[:6]}"
    assert (
        httpx.post(
            s.api("repositories"), json={"key": local, "kind": "hf-local"}, headers=s.headers()
        ).status_code
        == 201
    )
    virtual = f"all-{uuid.uuid4().hex[:6]}"
    r = httpx.post(
        s.api("repositories"),
        json={"key": virtual, "kind": "hf-virtual", "config": {"members": [local, remote]}},
        headers=s.headers(),
    )
    assert r.status_code == 201
    # only upstream has it: served through the remote member
    assert _dl(s, virtual, repo_id, "README.md", tmp_path / "a") == files["README.md"]
    # a local repo with the same id shadows the remote one
    HfApi(endpoint=s.hf_endpoint(local), token=s.admin_token).create_repo(repo_id)
    HfApi(endpoint=s.hf_endpoint(local), token=s.admin_token).upload_file(
        path_or_fileobj=b"# ours\n", path_in_repo="README.md", repo_id=repo_id
    )
    assert _dl(s, virtual, repo_id, "README.md", tmp_path / "b") == b"# ours\n"
    with pytest.raises(hf_errors.RepositoryNotFoundError):
        _api(s, virtual).model_info("nobody/nothing")
    with pytest.raises(hf_errors.HfHubHTTPError) as err:
        _api(s, virtual).create_repo("x/y")
    assert err.value.response.status_code == 405
