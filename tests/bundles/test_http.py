"""Bundles over HTTP between two real servers, with the stock clients: a bundle created and
promoted on one vault, exported, imported into an air-gapped one, then consumed there with
``snapshot_download(revision=<pinned commit>)`` and ``pip install name==version``."""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlparse

import httpx
import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from huggingface_hub import CommitOperationAdd, HfApi, snapshot_download

from tests.bundles.conftest import APACHE_CARD
from tests.governance.test_product_story import malicious_pickle
from tests.pypi.dists import wheel_bytes, wheel_name
from tests.servers import RunningServer, mint_token, running, start_standalone

BIN = Path(sys.executable).parent


def _repo(server: RunningServer, key: str, kind: str) -> None:
    r = httpx.post(
        server.api("repositories"), json={"key": key, "kind": kind}, headers=server.headers()
    )
    assert r.status_code in (201, 409), r.text


def _upload_wheel(server: RunningServer, key: str, name: str, version: str) -> None:
    r = httpx.post(
        f"{server.url}modelvault/pypi/{key}/",
        data={":action": "file_upload", "protocol_version": "1", "name": name, "version": version},
        files={"content": (wheel_name(name, version), wheel_bytes(name, version), "x/y")},
        auth=("__token__", server.admin_token),
        timeout=30,
    )
    assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def airgap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    base = tmp_path_factory.mktemp("airgap")
    with running(start_standalone(base / "vault")) as server:
        _repo(server, "pypi", "pypi-local")
        yield server


def test_bundle_lifecycle_across_two_vaults(
    standalone_server: RunningServer, airgap: RunningServer, tmp_path: Path
) -> None:
    src = standalone_server
    tag = uuid.uuid4().hex[:8]
    name, pkg, repo_id = f"rel-{tag}", f"pkg{tag}", f"acme/model-{tag}"
    _repo(src, "pypi", "pypi-local")
    api = HfApi(endpoint=src.hf_endpoint(), token=src.admin_token)
    api.create_repo(repo_id)
    weights = bytes(range(256)) * 64
    api.create_commit(
        repo_id,
        [
            CommitOperationAdd("README.md", APACHE_CARD),
            CommitOperationAdd("config.json", b'{"model_type": "bert"}'),
            CommitOperationAdd("weights.bin.safe", weights),
        ],
        commit_message="v1",
    )
    commit = api.model_info(repo_id).sha
    _upload_wheel(src, "pypi", pkg, "1.0.0")
    r = httpx.put(
        src.api("files/eval-report.txt"), content=b"accuracy 0.91\n", headers=src.headers()
    )
    assert r.status_code == 201, r.text

    spec = {
        "name": name,
        "version": "1.0.0",
        "components": [
            {"kind": "hub", "repository": "models", "repo_id": repo_id, "revision": "main"},
            {"kind": "package", "repository": "pypi", "name": pkg, "version": "1.0.0"},
            {"kind": "file", "name": "eval-report.txt"},
        ],
    }
    r = httpx.post(src.api("bundles"), json=spec, headers=src.headers(), timeout=60)
    assert r.status_code == 201, r.text
    bundle = r.json()
    assert bundle["manifest"]["components"][0]["commit"] == commit
    r = httpx.post(src.api("bundles"), json=spec, headers=src.headers(), timeout=60)
    assert r.status_code == 409 and r.json()["code"] == "BundleExists"

    # Promotion: admin only, in order; queryable by environment.
    reader = mint_token(src.data_dir, "write", "dev")
    promote = src.api(f"bundles/{name}/1.0.0/promote")
    r = httpx.post(promote, json={"to": "DEV"}, headers=src.headers(reader))
    assert r.status_code == 403
    r = httpx.post(promote, json={"to": "QA"}, headers=src.headers())
    assert r.status_code == 409 and r.json()["code"] == "PromotionOutOfOrder"
    for env in ("DEV", "QA"):
        assert httpx.post(promote, json={"to": env}, headers=src.headers()).status_code == 200
    listed = httpx.get(src.api("bundles?environment=QA"), headers=src.headers()).json()
    assert name in [b["name"] for b in listed["bundles"]]

    # AI-BOM validates against the CycloneDX 1.6 schema.
    r = httpx.get(src.api(f"bundles/{name}/1.0.0/bom"), headers=src.headers())
    assert r.status_code == 200
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(r.text)
    assert errors is None, errors
    bom = r.json()
    model = bom["components"][0]
    assert model["type"] == "machine-learning-model"
    assert model["licenses"] == [{"license": {"name": "apache-2.0"}}]
    assert model["modelCard"]["modelParameters"]["task"] == "text-classification"
    lib = bom["components"][1]
    assert lib["type"] == "library" and lib["purl"] == f"pkg:pypi/{pkg}@1.0.0"

    # Export (streamed) and the exporter's public key.
    archive = tmp_path / "bundle.tar"
    with httpx.stream("GET", src.api(f"bundles/{name}/1.0.0/archive"), headers=src.headers()) as s:
        assert s.status_code == 200
        with archive.open("wb") as f:
            for chunk in s.iter_bytes():
                f.write(chunk)
    keys = httpx.get(src.api("bundle-keys"), headers=src.headers()).json()
    key = next(k["public_key"] for k in keys["keys"] if k["active"])

    # Offline verification with the CLI, no server involved.
    key_file = tmp_path / "key.pub"
    key_file.write_text(key)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelvault_jlab.cli",
            "bundle",
            "verify",
            str(archive),
            "--key-file",
            str(key_file),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert bundle["digest"] in out.stdout

    # The air-gapped vault refuses it until the key is trusted, then imports it.
    dst = airgap
    imp = dst.api("bundles/import?hub_repository=models&pypi_repository=pypi")
    r = httpx.post(imp, content=archive.read_bytes(), headers=dst.headers(), timeout=60)
    assert r.status_code == 422 and r.json()["code"] == "UntrustedKey", r.text
    r = httpx.post(dst.api("bundle-keys"), json={"public_key": key}, headers=dst.headers())
    assert r.status_code == 201
    r = httpx.post(imp, content=archive.read_bytes(), headers=dst.headers(), timeout=60)
    assert r.status_code == 201, r.text
    assert r.json()["digest"] == bundle["digest"] and r.json()["environment"] == "QA"

    # Consume: the model at the pinned commit, and by the bundle's tag.
    for revision in (commit, f"bundle/{name}/1.0.0"):
        folder = snapshot_download(
            repo_id,
            revision=revision,
            endpoint=dst.hf_endpoint(),
            token=dst.admin_token,
            cache_dir=str(tmp_path / "hf-cache"),
        )
        assert (Path(folder) / "weights.bin.safe").read_bytes() == weights
        assert Path(folder).name == commit
    # pip installs the package from the air-gapped index.
    host = urlparse(dst.url).netloc
    index = f"http://__token__:{dst.admin_token}@{host}/modelvault/pypi/pypi/simple/"
    env = {
        "HOME": str(tmp_path),
        "PATH": f"{BIN}:/usr/bin:/bin",
        "PIP_CONFIG_FILE": "/dev/null",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_INPUT": "1",
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-cache-dir",
            "--target",
            str(tmp_path / "site"),
            "--index-url",
            index,
            f"{pkg}==1.0.0",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Server-side verification on the importing side.
    r = httpx.get(dst.api(f"bundles/{name}/1.0.0/verify"), headers=dst.headers(), timeout=60)
    assert r.status_code == 200 and r.json()["ok"]


def test_blocked_bundle_lists_violations(standalone_server: RunningServer) -> None:
    src = standalone_server
    repo_id = f"acme/evil-{uuid.uuid4().hex[:8]}"
    api = HfApi(endpoint=src.hf_endpoint(), token=src.admin_token)
    api.create_repo(repo_id)
    api.create_commit(
        repo_id,
        [CommitOperationAdd("pytorch_model.bin", malicious_pickle())],
        commit_message="evil",
    )
    spec = {
        "name": "evil",
        "version": uuid.uuid4().hex[:6],
        "components": [{"kind": "hub", "repository": "models", "repo_id": repo_id}],
    }
    r = httpx.post(src.api("bundles"), json=spec, headers=src.headers(), timeout=60)
    assert r.status_code == 403, r.text
    body = r.json()
    assert body["code"] == "BundleBlocked"
    assert body["details"]["violations"][0]["policy"] == "malicious-models"


def test_interrupted_upload_publishes_nothing(
    standalone_server: RunningServer, airgap: RunningServer
) -> None:
    """The client dies half-way through the archive: the import is aborted server-side."""
    src, dst = standalone_server, airgap
    name = f"cut-{uuid.uuid4().hex[:8]}"
    r = httpx.put(src.api(f"files/{name}.bin"), content=b"x" * 300_000, headers=src.headers())
    assert r.status_code == 201
    spec = {"name": name, "version": "1", "components": [{"kind": "file", "name": f"{name}.bin"}]}
    assert httpx.post(src.api("bundles"), json=spec, headers=src.headers()).status_code == 201
    data = httpx.get(src.api(f"bundles/{name}/1/archive"), headers=src.headers()).content
    key = httpx.get(src.api("bundle-keys"), headers=src.headers()).json()["active"]
    pub = next(
        k["public_key"]
        for k in httpx.get(src.api("bundle-keys"), headers=src.headers()).json()["keys"]
        if k["key_id"] == key
    )
    u = urlparse(dst.url)
    with socket.create_connection((u.hostname, u.port)) as sock:
        head = (
            f"POST /modelvault/api/bundles/import?public_key={quote(pub, safe='')} HTTP/1.1\r\n"
            f"Host: {u.netloc}\r\nAuthorization: Bearer {dst.admin_token}\r\n"
            f"Content-Length: {len(data)}\r\n\r\n"
        )
        sock.sendall(head.encode() + data[: len(data) // 2])
    blob = hashlib.sha256(b"x" * 300_000).hexdigest()
    deadline = time.monotonic() + 10
    while list((dst.data_dir / "blobs").rglob(blob)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not list((dst.data_dir / "blobs").rglob(blob)), "an aborted import left its blob"
    r = httpx.get(dst.api(f"bundles?name={name}"), headers=dst.headers())
    assert r.json()["bundles"] == []
    # The same archive, complete, imports.
    r = httpx.post(
        dst.api("bundles/import"), params={"public_key": pub}, content=data, headers=dst.headers()
    )
    assert r.status_code == 201, r.text
    digest = hashlib.sha256(
        json.dumps(r.json()["manifest"], sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    assert digest == r.json()["digest"]


def test_routes_work_in_both_hosts(server: RunningServer) -> None:
    r = httpx.get(server.api("bundles"), headers=server.headers())
    assert r.status_code == 200 and r.json()["environments"] == ["DEV", "QA", "PROD"]
    r = httpx.get(server.api("bundle-keys"), headers=server.headers())
    assert r.status_code == 200 and r.json()["keys"]
    r = httpx.get(server.api("bundles/nope/1"), headers=server.headers())
    assert r.status_code == 404 and r.json()["code"] == "BundleNotFound"


def test_streamed_upload_and_import_route_in_both_hosts(server: RunningServer) -> None:
    name = f"f-{uuid.uuid4().hex[:8]}.txt"
    r = httpx.put(
        server.api(f"files/{name}"),
        content=b"payload",
        headers={**server.headers(), "X-Sha256": hashlib.sha256(b"payload").hexdigest()},
    )
    assert r.status_code == 201, r.text
    r = httpx.put(
        server.api(f"files/{name}"),
        content=b"other",
        headers={**server.headers(), "X-Sha256": "0" * 64},
    )
    assert r.status_code == 422 and r.json()["code"] == "DigestMismatch"
    files = httpx.get(server.api("files"), headers=server.headers()).json()["files"]
    assert {"name": name, "sha256": hashlib.sha256(b"payload").hexdigest()}.items() <= next(
        f for f in files if f["name"] == name
    ).items()
    r = httpx.post(
        server.api("bundles/import?hub_repository=models"),
        content=b"\0" * 100,
        headers=server.headers(),
    )
    assert r.status_code == 422 and r.json()["code"] == "ArchiveInvalid"
    r = httpx.post(
        server.api("bundles/import?hub_repository=nope"), content=b"", headers=server.headers()
    )
    assert r.status_code == 400


def test_bundle_from_a_remote_repository_pins_cached_content(
    standalone_server: RunningServer, airgap: RunningServer, tmp_path: Path
) -> None:
    """hf-remote: files must be in the vault (downloaded once) before they can be pinned."""
    upstream, vault = standalone_server, airgap
    repo_id = f"up/mirrored-{uuid.uuid4().hex[:8]}"
    up = HfApi(endpoint=upstream.hf_endpoint(), token=upstream.admin_token)
    up.create_repo(repo_id)
    up.create_commit(
        repo_id,
        [
            CommitOperationAdd("README.md", APACHE_CARD),
            CommitOperationAdd("config.json", b'{"model_type": "bert"}'),
        ],
        commit_message="publish",
    )
    key = f"mirror-{uuid.uuid4().hex[:6]}"
    r = httpx.post(
        vault.api("repositories"),
        json={
            "key": key,
            "kind": "hf-remote",
            "config": {"upstream": upstream.hf_endpoint(), "upstream_token": upstream.admin_token},
        },
        headers=vault.headers(),
    )
    assert r.status_code == 201, r.text
    spec = {
        "name": f"remote-{uuid.uuid4().hex[:6]}",
        "version": "1",
        "components": [{"kind": "hub", "repository": key, "repo_id": repo_id}],
    }
    r = httpx.post(vault.api("bundles"), json=spec, headers=vault.headers(), timeout=60)
    assert r.status_code == 409 and "download it once" in r.json()["message"], r.text
    snapshot_download(
        repo_id,
        endpoint=vault.hf_endpoint(key),
        token=vault.admin_token,
        cache_dir=str(tmp_path / "cache"),
    )
    r = httpx.post(vault.api("bundles"), json=spec, headers=vault.headers(), timeout=60)
    assert r.status_code == 201, r.text
    hub = r.json()["manifest"]["components"][0]
    assert hub["repository"] == key and hub["commit"] == up.model_info(repo_id).sha
    assert hub["card"]["license"] == "apache-2.0"
