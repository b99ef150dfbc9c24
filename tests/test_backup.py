"""``modelvault backup`` / ``modelvault restore``: a snapshot taken while a real server serves and
takes uploads, restored into a new data dir where a new server serves the same bytes and the
bundle still verifies."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download

from modelvault_jlab.cli.main import main
from modelvault_jlab.core.backup import MANIFEST, backup, restore
from modelvault_jlab.core.content import ContentStore
from modelvault_jlab.errors import StorageError
from modelvault_jlab.storage.blobs_fs import FsBlobStore
from modelvault_jlab.storage.sql.metadata import SqlMetadataStore
from tests.bundles.conftest import APACHE_CARD
from tests.servers import RunningServer, mint_token, running, start_standalone
from tests.storage.blob_backends import BLOB_BACKENDS, open_blob_store

BIG = 11 * 1024 * 1024  # an LFS file


def mv(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(autouse=True)
def _lfs_without_xet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_DISABLE_XET", True)


class Seeded:
    def __init__(self, server: RunningServer, remote: str, remote_repo: str) -> None:
        self.server = server
        self.remote = remote
        self.remote_repo = remote_repo
        self.files: dict[tuple[str, str, str], bytes] = {}  # (repository, repo_id, path) -> bytes


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, upstream: RunningServer) -> Iterator[Seeded]:
    base = tmp_path_factory.mktemp("backup")
    with pytest.MonkeyPatch.context() as patch, running(start_standalone(base / "vault")) as server:
        patch.setattr("huggingface_hub.constants.HF_HUB_DISABLE_XET", True)
        api = HfApi(endpoint=server.hf_endpoint(), token=server.admin_token)
        local = {
            "README.md": APACHE_CARD,
            "config.json": b'{"layers": 2}',
            "weights.bin.safe": os.urandom(BIG),
        }
        api.create_repo("team/local")
        api.create_commit(
            "team/local", [CommitOperationAdd(p, d) for p, d in local.items()], commit_message="v1"
        )
        # A mirrored file: an hf-remote of another vault, downloaded once (so it is cached).
        up = HfApi(endpoint=upstream.hf_endpoint(), token=upstream.admin_token)
        remote_repo = f"up/m-{uuid.uuid4().hex[:6]}"
        up.create_repo(remote_repo)
        mirrored = {"README.md": APACHE_CARD, "model.safetensors": os.urandom(BIG)}
        up.create_commit(
            remote_repo, [CommitOperationAdd(p, d) for p, d in mirrored.items()], commit_message="m"
        )
        r = httpx.post(
            server.api("repositories"),
            json={
                "key": "hub-remote",
                "kind": "hf-remote",
                "config": {
                    "upstream": upstream.hf_endpoint(),
                    "upstream_token": mint_token(upstream.data_dir, "read", "mirror"),
                },
            },
            headers=server.headers(),
            timeout=30,
        )
        assert r.status_code == 201, r.text
        seeded = Seeded(server, "hub-remote", remote_repo)
        for path, data in local.items():
            seeded.files[("models", "team/local", path)] = data
        for path, data in mirrored.items():
            got = _download(server, "hub-remote", remote_repo, path, base / "warm")
            assert got == data
            seeded.files[("hub-remote", remote_repo, path)] = data
        spec = {
            "name": "release",
            "version": "1.0.0",
            "components": [
                {"kind": "hub", "repository": "models", "repo_id": "team/local", "revision": "main"}
            ],
        }
        r = httpx.post(server.api("bundles"), json=spec, headers=server.headers(), timeout=60)
        assert r.status_code == 201, r.text
        yield seeded


def _download(
    server: RunningServer, repository: str, repo_id: str, path: str, cache: Path
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


def _uploads(server: RunningServer, stop: threading.Event, done: list[tuple[str, bytes]]) -> None:
    """Commit one new LFS file after another until ``stop``; records each that landed."""
    api = HfApi(endpoint=server.hf_endpoint(), token=server.admin_token)
    n = 0
    while not stop.is_set():
        data = os.urandom(BIG // 4) + n.to_bytes(4, "big")
        api.create_commit(
            "team/busy", [CommitOperationAdd(f"f{n}.bin", data)], commit_message=f"f{n}"
        )
        done.append((f"f{n}.bin", data))
        n += 1


def _restored(src: Path, target: Path) -> RunningServer:
    code, out, err = mv("restore", str(src), "--data-dir", str(target))
    assert code == 0, err
    assert "restored" in out
    server = start_standalone(target)
    return server


def test_backup_while_serving_and_uploading_restores_byte_identical(
    seeded: Seeded, tmp_path: Path
) -> None:
    server = seeded.server
    HfApi(endpoint=server.hf_endpoint(), token=server.admin_token).create_repo("team/busy")
    stop, done = threading.Event(), []
    uploader = threading.Thread(target=_uploads, args=(server, stop, done))
    uploader.start()
    try:
        while len(done) < 2:  # uploads are under way when the backup starts
            assert uploader.is_alive()
            stop.wait(0.05)
        dest = tmp_path / "backup"
        backed = subprocess.run(
            [
                sys.executable,
                "-m",
                "modelvault_jlab.cli",
                "backup",
                str(dest),
                "--json",
                "--data-dir",
                str(server.data_dir),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        assert backed.returncode == 0, backed.stderr
    finally:
        stop.set()
        uploader.join()
    report = json.loads(backed.stdout)
    manifest = json.loads((dest / MANIFEST).read_text())
    assert report["blobs"] == len(manifest["blobs"]) > 0

    with running(_restored(dest, tmp_path / "restored")) as again:
        for (repository, repo_id, path), data in seeded.files.items():
            got = _download(again, repository, repo_id, path, tmp_path / "c")
            assert got == data, (repository, repo_id, path)
        # The uploads: a prefix of those that landed is in the backup, each file whole.
        api = HfApi(endpoint=again.hf_endpoint(), token=again.admin_token)
        present = sorted(api.list_repo_files("team/busy"))
        landed = dict(done)
        assert 2 <= len(present) <= len(done)
        assert present == sorted(name for name, _ in done[: len(present)])
        for name in present:
            assert _download(again, "models", "team/busy", name, tmp_path / "b") == landed[name]
        r = httpx.get(
            again.api("bundles/release/1.0.0/verify"), headers=again.headers(), timeout=60
        )
        assert r.status_code == 200 and r.json()["ok"], r.text


def test_an_upload_after_the_snapshot_is_absent_and_the_backup_consistent(
    seeded: Seeded, tmp_path: Path
) -> None:
    """The one moment that matters: an upload lands between the database copy and the blob copy."""
    server = seeded.server
    api = HfApi(endpoint=server.hf_endpoint(), token=server.admin_token)
    api.create_repo("team/late")
    late = os.urandom(BIG)

    def upload_now() -> None:
        api.create_commit("team/late", [CommitOperationAdd("late.bin", late)], commit_message="x")

    report = backup(
        str(server.data_dir / "metadata.sqlite3"),
        FsBlobStore(server.data_dir / "blobs"),
        tmp_path / "b",
        bundle_key_dir=server.data_dir / "bundle-keys",
        secrets_key_file=server.data_dir / "secrets.key",
        after_snapshot=upload_now,
    )
    assert report.unregistered == 0
    manifest = json.loads((tmp_path / "b" / MANIFEST).read_text())
    late_sha = hashlib.sha256(late).hexdigest()
    assert late_sha not in {sha for sha, _ in manifest["blobs"]}
    with running(_restored(tmp_path / "b", tmp_path / "r")) as again:
        api2 = HfApi(endpoint=again.hf_endpoint(), token=again.admin_token)
        assert "late.bin" not in api2.list_repo_files("team/late")
    assert "late.bin" in api.list_repo_files("team/late")  # it did land, after the snapshot


def test_incomplete_or_corrupt_backups_and_full_data_dirs_are_refused(
    seeded: Seeded, tmp_path: Path
) -> None:
    dest = tmp_path / "b"
    code, _, err = mv("backup", str(dest), "--data-dir", str(seeded.server.data_dir))
    assert code == 0, err
    # Not into a data dir that holds anything.
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "x").write_text("x")
    code, _, err = mv("restore", str(dest), "--data-dir", str(occupied))
    assert code == 2 and "not empty" in err
    # A backup folder that is not empty is not written into.
    code, _, err = mv("backup", str(dest), "--data-dir", str(seeded.server.data_dir))
    assert code == 2 and "not empty" in err
    # A flipped byte in one blob: refused, and nothing is left at the target.
    corrupt = tmp_path / "corrupt"
    shutil.copytree(dest, corrupt)
    sha = json.loads((corrupt / MANIFEST).read_text())["blobs"][0][0]
    blob = corrupt / "blobs" / "sha256" / sha[:2] / sha[2:4] / sha
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 1
    blob.chmod(0o600)
    blob.write_bytes(bytes(data))
    code, _, err = mv("restore", str(corrupt), "--data-dir", str(tmp_path / "t1"))
    assert code == 2 and sha in err and "corrupt" in err
    assert not (tmp_path / "t1").exists() and not list(tmp_path.glob(".t1.restoring-*"))
    # A manifest naming a file outside the backup's own layout: refused before anything is read.
    planted = tmp_path / "planted"
    shutil.copytree(dest, planted)
    manifest = json.loads((planted / MANIFEST).read_text())
    manifest["files"].append({"path": "bundle-keys/signing/../../x", "sha256": sha, "size": 1})
    (planted / MANIFEST).write_text(json.dumps(manifest))
    code, _, err = mv("restore", str(planted), "--data-dir", str(tmp_path / "t3"))
    assert code == 2 and "not a valid" in err
    assert not (tmp_path / "t3").exists()
    # Without its manifest (an interrupted backup): never restored.
    (corrupt / MANIFEST).unlink()
    code, _, err = mv("restore", str(corrupt), "--data-dir", str(tmp_path / "t2"))
    assert code == 2 and "interrupted" in err
    assert not (tmp_path / "t2").exists()


@pytest.mark.parametrize("kind", BLOB_BACKENDS)
def test_blobs_are_copied_from_either_store_and_a_needed_lost_blob_fails_the_backup(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """No server: the core on a SQLite file and a folder or an S3 bucket (moto_server)."""
    for store in open_blob_store(kind, request, tmp_path):
        db = tmp_path / "meta.sqlite3"
        meta = SqlMetadataStore(str(db))
        content = ContentStore(store, meta)
        kept = [content.put_bytes(b"kept %d" % i) for i in range(3)]
        for info in kept:
            meta.put_git_object(hashlib.sha1(info.sha256.encode()).hexdigest(), info.sha256)
        lost = content.put_bytes(b"registered, unneeded, and gone")
        store.delete(lost.sha256)  # as if collected while the backup ran
        report = backup(str(db), store, tmp_path / "b", bundle_key_dir=None, secrets_key_file=None)
        assert (report.blobs, report.unregistered) == (3, 1)
        restored = restore(tmp_path / "b", tmp_path / "r")
        assert restored.blobs == 3
        folder = FsBlobStore(tmp_path / "r" / "blobs")
        for i, info in enumerate(kept):
            with folder.open_reader(info.sha256) as f:
                assert f.read() == b"kept %d" % i
        # A blob the snapshot needs (a mirrored file's content) lost from the store: refused.
        store.delete(kept[0].sha256)
        with pytest.raises(StorageError, match="needed by the snapshot"):
            backup(str(db), store, tmp_path / "b2", bundle_key_dir=None, secrets_key_file=None)
        assert not (tmp_path / "b2" / MANIFEST).exists()
        meta.close()
