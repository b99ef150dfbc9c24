"""Garbage collection of blobs nothing needs: through the CLI while a server runs, and racing a
writer of the same content at the moments that matter."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi

from modelvault_jlab.bootstrap import open_vault
from modelvault_jlab.config import VaultSettings
from modelvault_jlab.core.identity import SYSTEM
from modelvault_jlab.core.vault import Vault
from modelvault_jlab.errors import StorageError
from modelvault_jlab.ids import Sha256
from tests.servers import RunningServer, cli, running, start_standalone


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running(start_standalone(tmp_path_factory.mktemp("gc") / "vault")) as s:
        yield s


def _blob_path(data_dir: Path, sha: str) -> Path:
    return data_dir / "blobs" / "sha256" / sha[:2] / sha[2:4] / sha


def _gc(server: RunningServer, *args: str) -> dict[str, Any]:
    return json.loads(cli(server.data_dir, "gc", "--json", *args))  # type: ignore[no-any-return]


def test_gc_while_the_server_runs(server: RunningServer) -> None:
    api = HfApi(endpoint=server.hf_endpoint(), token=server.admin_token)
    kept_repo, dropped_repo = (f"gc/{n}-{uuid.uuid4().hex[:6]}" for n in ("kept", "dropped"))
    kept, dropped, replaced = os.urandom(5000), os.urandom(6000), os.urandom(7000)
    for repo in (kept_repo, dropped_repo):
        api.create_repo(repo)
    api.upload_file(path_or_fileobj=kept, path_in_repo="w.bin", repo_id=kept_repo)
    api.upload_file(path_or_fileobj=replaced, path_in_repo="old.bin", repo_id=kept_repo)
    api.delete_file("old.bin", repo_id=kept_repo)  # history still names it: needed
    api.upload_file(path_or_fileobj=dropped, path_in_repo="w.bin", repo_id=dropped_repo)
    api.delete_repo(dropped_repo)  # nothing names its file any more
    shas = {
        n: hashlib.sha256(b).hexdigest()
        for n, b in (("kept", kept), ("dropped", dropped), ("replaced", replaced))
    }
    assert all(_blob_path(server.data_dir, s).exists() for s in shas.values())

    assert _gc(server)["collected"] == 0  # everything is younger than the default grace period
    preview = _gc(server, "--dry-run", "--grace-seconds", "0")
    assert shas["dropped"] in preview["sample"] and preview["dry_run"]
    assert shas["kept"] not in preview["sample"] and shas["replaced"] not in preview["sample"]
    assert _blob_path(server.data_dir, shas["dropped"]).exists()  # a dry run deletes nothing

    done = _gc(server, "--grace-seconds", "0")
    assert shas["dropped"] in done["sample"] and done["bytes"] >= len(dropped)
    assert not _blob_path(server.data_dir, shas["dropped"]).exists()
    assert _blob_path(server.data_dir, shas["kept"]).exists()
    assert _blob_path(server.data_dir, shas["replaced"]).exists()
    # the server serves what it kept, byte for byte, old revision included
    r = httpx.get(
        f"{server.hf_endpoint()}/{kept_repo}/resolve/main/w.bin", headers=server.headers()
    )
    assert r.status_code == 200 and r.content == kept
    # audited: each blob and the run
    events = httpx.get(
        server.api("audit"),
        params={"action": "blob.collected", "limit": 1000},
        headers=server.headers(),
    ).json()["events"]
    assert shas["dropped"] in {e["subject"] for e in events}
    runs = httpx.get(server.api("audit"), params={"action": "gc.run"}, headers=server.headers())
    assert runs.json()["events"][0]["detail"]["collected"] == done["collected"]
    assert _gc(server, "--grace-seconds", "0")["collected"] == 0  # nothing left to do


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[Vault]:
    v = open_vault(VaultSettings(data_dir=str(tmp_path / "vault")))
    yield v
    v.close()


def test_a_writer_storing_the_blob_while_it_is_collected_keeps_it(vault: Vault) -> None:
    data = os.urandom(3000)
    sha = vault.content.put_bytes(data).sha256  # unneeded: a candidate once the grace is 0
    stored_again: list[str] = []

    def writer_arrives(candidate: str) -> None:  # the file is set aside at this moment
        stored_again.append(vault.content.put_bytes(data).sha256)

    report = vault.gc.collect(SYSTEM, grace_seconds=0, between=writer_arrives)
    assert stored_again == [sha] and report.collected == 0 and report.kept_in_use == 1
    assert vault.content.known(Sha256(sha)) is not None
    with vault.blobs.open_reader(Sha256(sha)) as f:
        assert f.read() == data


def test_a_writer_that_found_the_blob_before_it_was_collected_fails_cleanly(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(3000)
    sha = vault.content.put_bytes(data).sha256
    register = vault.meta.register_blobs

    def collector_runs_first(infos: Any) -> None:
        # The writer found the stored file (and dropped its own copy); the collector takes the
        # blob before the writer registers it again.
        monkeypatch.setattr(vault.meta, "register_blobs", register)
        assert vault.gc.collect(SYSTEM, grace_seconds=0).collected == 1
        register(infos)

    monkeypatch.setattr(vault.meta, "register_blobs", collector_runs_first)
    with pytest.raises(StorageError, match="garbage-collected"):
        vault.content.put_bytes(data)  # the upload fails: its client retries, nothing is lost
    assert vault.content.known(Sha256(sha)) is None
    assert vault.content.put_bytes(data).sha256 == sha  # the retry stores it again
    assert vault.content.known(Sha256(sha)) is not None


def test_a_killed_collector_leaves_nothing_lost(vault: Vault) -> None:
    needed = vault.content.put_bytes(b"needed by a waiver")
    vault.gate.grant_waiver(
        SYSTEM,
        {
            "policy": "malicious-models",
            "sha256": needed.sha256,
            "justification": "kept for the test",
            "expires_in_seconds": 60,
        },
    )
    orphan = vault.content.put_bytes(b"orphan")

    class KilledError(Exception):
        pass

    def die(candidate: str) -> None:
        raise KilledError

    with pytest.raises(KilledError):
        vault.gc.collect(SYSTEM, grace_seconds=0, between=die)  # set aside, never finished
    report = vault.gc.collect(SYSTEM, grace_seconds=0)
    assert report.collected == 1 and report.sample == [orphan.sha256]
    assert report.restored_from_trash == 1  # the orphan was registered still: put back, then taken
    assert vault.content.known(needed.sha256) is not None
    assert vault.content.known(orphan.sha256) is None
