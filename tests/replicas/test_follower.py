"""Replica follower: on one shared data dir, a replica whose client wants a file another replica
is fetching streams the holder's partial file as it grows, instead of waiting for the transfer to
end (and, past ``replica_wait_seconds``, fetching it a second time).

Real processes: two ``modelvault serve`` on one data dir (SQLite + blob folder), an upstream vault
behind a proxy that sends half of each file and then stalls until the test releases it.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from modelvault_jlab.core.replica_follow import TransferBoard
from modelvault_jlab.storage.blobs_fs import FsBlobStore
from modelvault_jlab.storage.tempfiles import create_locked
from tests.faulty_upstream import FaultyProxy
from tests.replicas.test_replicas import _remote, _seed_upstream, _upstream_gets
from tests.servers import RunningServer, running, start_standalone


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, RunningServer]]:
    shared = tmp_path_factory.mktemp("follower") / "vault"
    with running(start_standalone(shared)) as a, running(start_standalone(shared)) as b:
        yield a, b


@pytest.fixture(autouse=True)
def _lfs_without_xet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_DISABLE_XET", True)


class Client:
    """One streaming download: when its bytes reached ``mark``, what it got in the end."""

    def __init__(self, server: RunningServer, url: str, mark: int) -> None:
        self.server, self.url, self.mark = server, url, mark
        self.reached_mark: float | None = None
        self.body = b""
        self.error: Exception | None = None

    def run(self) -> None:
        got = bytearray()
        try:
            with httpx.stream("GET", self.url, headers=self.server.headers(), timeout=60) as r:
                r.raise_for_status()
                for chunk in r.iter_bytes():
                    got += chunk
                    if self.reached_mark is None and len(got) >= self.mark:
                        self.reached_mark = time.monotonic()
        except httpx.HTTPError as exc:
            self.error = exc
        self.body = bytes(got)


def _warm_card(server: RunningServer, key: str, repo_id: str) -> None:
    """The model card (which the gate reads for the licence) is cached before the stall."""
    url = f"{server.hf_endpoint(key)}/{repo_id}/resolve/main/README.md"
    assert httpx.get(url, headers=server.headers(), timeout=30).status_code == 200


def _clients(
    a: RunningServer, b: RunningServer, key: str, repo_id: str, size: int, proxy: FaultyProxy
) -> list[Client]:
    """Start one client on ``a`` (it takes the transfer), then once it got an eighth of the
    file (the upstream sends half, then stalls), three more on ``a`` and four on ``b``."""
    path = "model.safetensors"
    url = f"/{repo_id}/resolve/main/{path}"
    half = size // 8  # well inside the first half (the upstream reader buffers some)
    first = Client(a, a.hf_endpoint(key) + url, half)
    threading.Thread(target=first.run, daemon=True).start()
    deadline = time.monotonic() + 30
    while first.reached_mark is None:
        assert first.error is None and not first.body, (first.error, len(first.body))
        assert time.monotonic() < deadline, "the upstream's first half never arrived"
        time.sleep(0.02)
    others = [Client((a, b)[i % 2], (a, b)[i % 2].hf_endpoint(key) + url, half) for i in range(7)]
    for c in others:
        threading.Thread(target=c.run, daemon=True).start()
    return [first, *others]


def test_followers_stream_the_holders_partial_file_and_upstream_is_fetched_once(
    pair: tuple[RunningServer, RunningServer], upstream: RunningServer, proxy: FaultyProxy
) -> None:
    a, b = pair
    repo_id, files = _seed_upstream(upstream)
    data = files["model.safetensors"]
    key = _remote(a, upstream, proxy)
    _warm_card(a, key, repo_id)
    proxy.mode, proxy.stall_seconds = "stall", 60
    proxy.release.clear()
    try:
        clients = _clients(a, b, key, repo_id, len(data), proxy)
        # Every client, on either replica, has the first half while the upstream still stalls:
        # replica b streams a's partial file (waiting, it would have nothing for 7 s, then fetch
        # the file a second time).
        started = time.monotonic()
        while not all(c.reached_mark for c in clients):
            assert time.monotonic() - started < 5, [c.reached_mark for c in clients]
            time.sleep(0.05)
        assert all(c.body == b"" and c.error is None for c in clients)  # none has finished
        proxy.release.set()
        deadline = time.monotonic() + 60
        while not all(c.body or c.error for c in clients):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        proxy.mode = "ok"
        proxy.release.set()
    assert [c.error for c in clients] == [None] * 8
    assert all(c.body == data for c in clients)
    assert _upstream_gets(proxy, repo_id, "model.safetensors") == 1


def test_a_holder_that_dies_cuts_its_followers_off_and_a_retry_fetches(
    pair: tuple[RunningServer, RunningServer], upstream: RunningServer, proxy: FaultyProxy
) -> None:
    """Nothing complete-looking reaches a follower whose holder died mid-transfer."""
    # The survivor is the pair's first replica; only the victim, killed here, is a new process
    # (on the pair's data dir; its transfer is of a new repository).
    with contextlib.nullcontext(pair[0]) as survivor:
        victim = start_standalone(survivor.data_dir)
        try:
            repo_id, files = _seed_upstream(upstream)
            data = files["model.safetensors"]
            key = _remote(survivor, upstream, proxy)
            _warm_card(survivor, key, repo_id)
            proxy.mode, proxy.stall_seconds = "stall", 60
            proxy.release.clear()
            first = Client(victim, victim.hf_endpoint(key), len(data) // 8)
            first.url += f"/{repo_id}/resolve/main/model.safetensors"
            threading.Thread(target=first.run, daemon=True).start()
            deadline = time.monotonic() + 30
            while first.reached_mark is None:
                assert time.monotonic() < deadline
                time.sleep(0.02)
            follower = Client(
                survivor,
                survivor.hf_endpoint(key) + f"/{repo_id}/resolve/main/model.safetensors",
                len(data) // 8,
            )
            t = threading.Thread(target=follower.run, daemon=True)
            t.start()
            while follower.reached_mark is None:
                assert time.monotonic() < deadline
                time.sleep(0.02)
            victim.kill()  # SIGKILL mid-transfer: its lease expires, its temp file's lock is free
            t.join(60)
            assert follower.error is not None and len(follower.body) < len(data)
        finally:
            proxy.mode = "ok"
            proxy.release.set()
            if victim.alive():
                victim.kill()
        # A retry: the dead holder's lease is gone by now or soon; the survivor fetches it.
        with ThreadPoolExecutor(1) as pool:
            retry = Client(survivor, follower.url, 1)
            pool.submit(retry.run).result(timeout=60)
        assert retry.error is None and retry.body == data


def test_an_announcement_names_only_a_live_temp_file_of_its_own_folder(tmp_path: Path) -> None:
    store = FsBlobStore(tmp_path / "blobs")
    board = TransferBoard(store)
    partial, fd = create_locked(store.tmp_dir)
    withdraw = board.announce("fetch:abc", partial)
    assert board.find("fetch:abc") == partial
    assert board.find("fetch:other") is None
    announcement = next((store.root / "transfers").iterdir())
    for planted in (
        "../../../etc/passwd",
        f"{partial.name}/..",
        f"{partial.name}\n",
        "upload-x",
        "",
    ):
        announcement.write_text(planted)
        assert board.find("fetch:abc") is None, planted
    announcement.write_text(partial.name)
    os.close(fd)  # the writer is gone (killed): its file is no longer followed
    assert board.find("fetch:abc") is None
    withdraw()
    assert not announcement.exists()
