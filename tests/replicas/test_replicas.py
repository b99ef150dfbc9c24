"""Two ``modelvault serve`` replicas on one metadata database and one blob store act as one vault.

Real processes and real clients only: huggingface_hub, twine and pip talk HTTP to the replicas; the
upstream of a remote repository is a third ModelVault behind a proxy that counts (and can stall)
file downloads. Each test runs on PostgreSQL + an S3 bucket (moto_server), and on the simplest
shared deployment, one SQLite file and one blob folder on one host.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError

from tests.faulty_upstream import FaultyProxy
from tests.pg_service import PostgresCluster
from tests.pypi.conftest import create_repo, index_url, run, upload_url
from tests.pypi.dists import write_wheel
from tests.s3_service import S3_ENV, S3Service
from tests.servers import RunningServer, mint_token, running, start_standalone

BIG = 12 * 1024 * 1024  # over the inline limit: an LFS file


@dataclass
class Deployment:
    """Where the replicas' shared state lives, and how to start one more replica on it."""

    name: str
    base: Path
    env: dict[str, str]
    args: tuple[str, ...]
    shared_dir: bool  # SQLite + blob folder: every replica uses one data dir

    def start(self, label: str) -> RunningServer:
        data_dir = self.base / ("vault" if self.shared_dir else label)
        return start_standalone(data_dir, *self.args, env=self.env)


@pytest.fixture(scope="module", params=["postgres+s3", "sqlite+folder"])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Deployment:
    base = tmp_path_factory.mktemp(f"replicas-{request.param.replace('+', '-')}")
    if request.param == "sqlite+folder":
        return Deployment(request.param, base, {}, (), shared_dir=True)
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    s3: S3Service = request.getfixturevalue("s3_service")
    return Deployment(
        request.param,
        base,
        {
            **S3_ENV,
            "MODELVAULT_DATABASE_URL": cluster.create_database(),
            # replicas share the key of upstream credentials (a mounted secret in production)
            "MODELVAULT_SECRETS_KEY_FILE": str(base / "secrets.key"),
        },
        (
            "--blob-store-url",
            f"s3://{s3.new_bucket_name()}/vault",
            "--s3-endpoint-url",
            s3.endpoint_url,
            "--s3-create-bucket",
        ),
        shared_dir=False,
    )


@pytest.fixture(scope="module")
def pair(deployment: Deployment) -> Iterator[tuple[RunningServer, RunningServer]]:
    with running(deployment.start("a")) as a, running(deployment.start("b")) as b:
        yield a, b


@pytest.fixture(autouse=True)
def _lfs_without_xet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_DISABLE_XET", True)


def _api(server: RunningServer, repository: str = "models") -> HfApi:
    return HfApi(endpoint=server.hf_endpoint(repository), token=server.admin_token)


def _download(
    server: RunningServer, repo_id: str, path: str, cache: Path, repository: str = "models"
) -> bytes:
    return Path(
        hf_hub_download(
            repo_id,
            path,
            endpoint=server.hf_endpoint(repository),
            token=server.admin_token,
            cache_dir=cache,
        )
    ).read_bytes()


def _hf_local(server: RunningServer) -> str:
    key = f"hub-{uuid.uuid4().hex[:8]}"
    r = httpx.post(
        server.api("repositories"),
        json={"key": key, "kind": "hf-local"},
        headers=server.headers(),
        timeout=30,
    )
    assert r.status_code == 201, r.text
    return key


def test_an_upload_through_one_replica_downloads_through_the_other_at_once(
    pair: tuple[RunningServer, RunningServer], tmp_path: Path
) -> None:
    a, b = pair
    key = _hf_local(a)  # created through A, used through B: repository config is shared
    repo_id = f"team/model-{uuid.uuid4().hex[:6]}"
    files = {"config.json": b'{"hidden": 8}', "model.safetensors": os.urandom(BIG)}
    _api(a, key).create_repo(repo_id)
    info = _api(a, key).create_commit(
        repo_id, [CommitOperationAdd(p, d) for p, d in files.items()], commit_message="weights"
    )
    assert _api(b, key).model_info(repo_id).sha == info.oid
    for path, data in files.items():
        assert _download(b, repo_id, path, tmp_path / "b", key) == data


def test_concurrent_commits_to_one_branch_through_both_replicas_lose_nothing(
    pair: tuple[RunningServer, RunningServer],
) -> None:
    a, b = pair
    key = _hf_local(a)
    repo_id = f"team/busy-{uuid.uuid4().hex[:6]}"
    _api(a, key).create_repo(repo_id)

    def commit(i: int) -> str | None:
        """The file this commit added, or None if it was refused cleanly (412)."""
        path = f"notes/{i:03d}.txt"
        try:
            _api((a, b)[i % 2], key).create_commit(
                repo_id, [CommitOperationAdd(path, f"note {i}".encode())], commit_message=path
            )
        except HfHubHTTPError as exc:
            assert exc.response is not None and exc.response.status_code == 412, exc
            return None
        return path

    with ThreadPoolExecutor(8) as pool:
        landed = [p for p in pool.map(commit, range(48)) if p is not None]
    assert landed, "some commits must land"
    history = _api(b, key).list_repo_commits(repo_id)
    assert len(history) == 1 + len(landed)  # the initial commit + every successful call
    files = set(_api(a, key).list_repo_files(repo_id))
    assert {f for f in files if f.startswith("notes/")} == set(landed)  # no lost update

    # Two writers on the same parent, one through each replica: exactly one wins.
    head = _api(a, key).model_info(repo_id).sha
    barrier = threading.Barrier(2)

    def on_parent(server: RunningServer) -> bool:
        barrier.wait()
        try:
            _api(server, key).create_commit(
                repo_id,
                [CommitOperationAdd(f"race/{server.port}.txt", b"x")],
                commit_message="race",
                parent_commit=head,
            )
        except HfHubHTTPError as exc:
            assert exc.response is not None and exc.response.status_code == 412, exc
            return False
        return True

    with ThreadPoolExecutor(2) as pool:
        assert sorted(pool.map(on_parent, (a, b))) == [False, True]


def test_pip_installs_through_one_replica_what_twine_uploaded_through_the_other(
    pair: tuple[RunningServer, RunningServer], tmp_path: Path, client_env: dict[str, str]
) -> None:
    a, b = pair
    key = create_repo(a, "pypi-local")
    name = f"shared-pkg-{uuid.uuid4().hex[:6]}"
    write_wheel(tmp_path / "dists", name, "1.0.0")
    writer = mint_token(a.data_dir, "write", "ci", key, env=a.extra_env)
    run(
        {**client_env, "TWINE_USERNAME": "__token__", "TWINE_PASSWORD": writer},
        "twine",
        "upload",
        "--non-interactive",
        "--disable-progress-bar",
        "--repository-url",
        upload_url(a, key),
        *map(str, (tmp_path / "dists").iterdir()),
    )
    pip = run(
        {**client_env, "PIP_INDEX_URL": index_url(b, key, b.admin_token)},
        "pip",
        "install",
        "--no-cache-dir",
        "--target",
        str(tmp_path / "site"),
        name,
    )
    assert "Successfully installed" in pip.stdout
    assert (tmp_path / "site" / name.replace("-", "_")).is_dir()


def _seed_upstream(
    upstream: RunningServer, license: str = "apache-2.0"
) -> tuple[str, dict[str, bytes]]:
    api = HfApi(endpoint=upstream.hf_endpoint(), token=upstream.admin_token)
    repo_id = f"up/m-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo_id)
    card = f"---\nlicense: {license}\n---\n" if license else ""
    files = {
        "README.md": f"{card}# upstream model\n".encode(),
        "config.json": b'{"layers": 2}',
        "model.safetensors": os.urandom(BIG),
    }
    api.create_commit(
        repo_id, [CommitOperationAdd(p, d) for p, d in files.items()], commit_message="files"
    )
    return repo_id, files


def _remote(server: RunningServer, upstream: RunningServer, proxy: FaultyProxy) -> str:
    key = f"hub-remote-{uuid.uuid4().hex[:6]}"
    r = httpx.post(
        server.api("repositories"),
        json={
            "key": key,
            "kind": "hf-remote",
            "config": {
                "upstream": f"{proxy.root}/modelvault/hf/models",
                "upstream_token": mint_token(upstream.data_dir, "read", "mirror"),
                "timeout_seconds": 20,
            },
        },
        headers=server.headers(),
        timeout=30,
    )
    assert r.status_code == 201, r.text
    return key


def _upstream_gets(proxy: FaultyProxy, repo_id: str, path: str) -> int:
    """File downloads the upstream served for ``repo_id``/``path`` (at any commit)."""
    return sum(
        n
        for url, n in proxy.resolve_gets.items()
        if f"/{repo_id}/resolve/" in url and url.endswith(f"/{path}")
    )


def test_cold_downloads_split_over_both_replicas_fetch_upstream_once(
    pair: tuple[RunningServer, RunningServer],
    upstream: RunningServer,
    proxy: FaultyProxy,
    tmp_path: Path,
) -> None:
    a, b = pair
    repo_id, files = _seed_upstream(upstream)
    key = _remote(a, upstream, proxy)
    # A slow upstream: every replica's clients arrive while the one transfer is still running.
    proxy.mode, proxy.stall_seconds = "stall", 1.5
    proxy.release.clear()
    try:
        for path, data in files.items():
            if path == "README.md":  # read by the gate (licence) before any download
                continue

            def download(i: int, path: str = path) -> bytes:
                return _download((a, b)[i % 2], repo_id, path, tmp_path / f"{path}-{i}", key)

            with ThreadPoolExecutor(8) as pool:
                assert list(pool.map(download, range(8))) == [data] * 8
            assert _upstream_gets(proxy, repo_id, path) == 1, (path, dict(proxy.resolve_gets))
    finally:
        proxy.mode = "ok"


def test_a_waiver_or_policy_changed_through_one_replica_applies_on_the_other_at_once(
    pair: tuple[RunningServer, RunningServer], upstream: RunningServer, proxy: FaultyProxy
) -> None:
    a, b = pair
    repo_id, _ = _seed_upstream(upstream, license="")  # unlicensed: blocked from a remote
    key = _remote(a, upstream, proxy)

    def status_on_a() -> int:
        url = f"{a.hf_endpoint(key)}/{repo_id}/resolve/main/config.json"
        return httpx.get(url, headers=a.headers(), timeout=30).status_code

    assert status_on_a() == 403  # and A now holds that decision in its cache
    waiver = httpx.post(
        b.api("waivers"),
        json={
            "policy": "approved-licenses",
            "repo_id": repo_id,
            "repo_type": "model",
            "justification": "licence confirmed by legal",
            "expires_in_seconds": 3600,
        },
        headers=b.headers(),
        timeout=30,
    )
    assert waiver.status_code == 201, waiver.text
    assert status_on_a() == 200
    revoked = httpx.delete(b.api(f"waivers/{waiver.json()['id']}"), headers=b.headers())
    assert revoked.status_code == 204
    assert status_on_a() == 403
    # The repository's own policies, changed through B (an override that only warns).
    record = httpx.get(b.api(f"repositories/{key}"), headers=b.headers(), timeout=30).json()
    config = {
        **record["config"],
        "policies": [{"name": "approved-licenses", "params": {"unlicensed": "warn"}}],
    }
    patched = httpx.patch(
        b.api(f"repositories/{key}"), json={"config": config}, headers=b.headers(), timeout=30
    )
    assert patched.status_code == 200, patched.text
    assert status_on_a() == 200


def test_a_killed_replica_leaves_nothing_half_visible_and_its_lease_is_taken_over(
    deployment: Deployment,
    pair: tuple[RunningServer, RunningServer],
    upstream: RunningServer,
    proxy: FaultyProxy,
    tmp_path: Path,
) -> None:
    a, b = pair
    key = _hf_local(a)
    repo_id = f"team/kept-{uuid.uuid4().hex[:6]}"
    stored = {"config.json": b'{"kept": true}', "weights.bin": os.urandom(BIG)}
    _api(a, key).create_repo(repo_id)
    _api(a, key).create_commit(
        repo_id, [CommitOperationAdd(p, d) for p, d in stored.items()], commit_message="kept"
    )
    listing = sorted(_api(a, key).list_repo_files(repo_id))
    remote_repo, remote_files = _seed_upstream(upstream)
    remote = _remote(a, upstream, proxy)

    victim = deployment.start("victim")
    try:
        # 1. A large LFS upload into the victim, cut by SIGKILL part-way.
        oid = hashlib.sha256(b"an object that never finishes").hexdigest()
        announced = 512 * 1024**2
        batch = httpx.post(
            f"{victim.hf_endpoint(key)}/{repo_id}.git/info/lfs/objects/batch",
            json={"operation": "upload", "objects": [{"oid": oid, "size": announced}]},
            headers=victim.headers(),
            timeout=30,
        ).json()
        href = urlsplit(batch["objects"][0]["actions"]["upload"]["href"])
        upload = socket.create_connection(("127.0.0.1", victim.port))
        upload.sendall(
            f"PUT {href.path}?{href.query} HTTP/1.1\r\nHost: x\r\n"
            f"Content-Length: {announced}\r\n\r\n".encode()
        )
        block = os.urandom(1 << 20)
        for _ in range(48):
            upload.sendall(block)

        # 2. ...while it also holds the lease of a cold transfer that stalls upstream.
        proxy.mode, proxy.stall_seconds = "stall", 60
        proxy.release.clear()

        def cold_download() -> None:  # cut off by the kill
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(
                    f"{victim.hf_endpoint(remote)}/{remote_repo}/resolve/main/model.safetensors",
                    headers=victim.headers(),
                    timeout=90,
                )

        cold = threading.Thread(target=cold_download, daemon=True)
        cold.start()
        deadline = time.monotonic() + 30
        while _upstream_gets(proxy, remote_repo, "model.safetensors") == 0:
            assert time.monotonic() < deadline, "the victim never started its cold transfer"
            time.sleep(0.05)
        time.sleep(0.5)
        victim.kill()  # SIGKILL: no cleanup, no lease release
        upload.close()
    finally:
        if victim.alive():
            victim.kill()
    proxy.mode = "ok"
    proxy.release.set()

    # Nothing of the killed upload is visible: the object is unknown, no commit references it.
    again = httpx.post(
        f"{a.hf_endpoint(key)}/{repo_id}.git/info/lfs/objects/batch",
        json={"operation": "upload", "objects": [{"oid": oid, "size": announced}]},
        headers=a.headers(),
        timeout=30,
    ).json()
    assert "actions" in again["objects"][0], again
    assert sorted(_api(b, key).list_repo_files(repo_id)) == listing
    # What was stored before is intact, through both survivors.
    for server in (a, b):
        for path, data in stored.items():
            got = _download(server, repo_id, path, tmp_path / f"kept-{server.port}", key)
            assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
    # The dead replica's transfer lease expires: a survivor takes over and serves the file, in
    # time for huggingface_hub's 10 s read timeout.
    started = time.monotonic()
    got = _download(b, remote_repo, "model.safetensors", tmp_path / "takeover", remote)
    assert got == remote_files["model.safetensors"]
    assert time.monotonic() - started < 10
    # And the survivors keep taking writes.
    _api(b, key).create_commit(
        repo_id, [CommitOperationAdd("after.txt", b"after")], commit_message="after the kill"
    )
    assert _download(a, repo_id, "after.txt", tmp_path / "after", key) == b"after"
