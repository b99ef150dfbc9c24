"""Temp files of killed writers are removed at start-up, whatever became of the writer's PID:
a zombie (killed, never reaped) or a PID now held by an unrelated process. Live writers, of this
process or another, are never touched. Real processes, real SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelvault_jlab.storage.blobs_fs import FsBlobStore

_WRITER = """
import sys, time
from modelvault_jlab.storage.blobs_fs import FsBlobStore
store = FsBlobStore(sys.argv[1])
writer = store.open_writer()
writer.write(b"partial" * 1000)
print("ready", flush=True)
time.sleep(600)
"""


@pytest.fixture
def writer_process(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process with an open writer on ``tmp_path / 'b'``; reaped only at teardown."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(tmp_path / "b")],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def _state(pid: int) -> str:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2]


def test_live_writer_of_another_process_is_kept(
    tmp_path: Path, writer_process: subprocess.Popen[str]
) -> None:
    store = FsBlobStore(tmp_path / "b")
    assert len(list(store.tmp_dir.iterdir())) == 1
    assert store.cleanup_incomplete() == 0
    assert len(list(store.tmp_dir.iterdir())) == 1


def test_zombie_writer_temp_file_is_removed(
    tmp_path: Path, writer_process: subprocess.Popen[str]
) -> None:
    os.kill(writer_process.pid, signal.SIGKILL)  # not waited for: it stays a zombie
    deadline = time.monotonic() + 10
    while _state(writer_process.pid) != "Z" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _state(writer_process.pid) == "Z"
    os.kill(writer_process.pid, 0)  # the PID still "exists"
    store = FsBlobStore(tmp_path / "b")
    assert store.cleanup_incomplete() == 1
    assert list(store.tmp_dir.iterdir()) == []


def test_temp_file_named_after_a_live_unrelated_pid_is_removed(
    tmp_path: Path, writer_process: subprocess.Popen[str]
) -> None:
    """A PID reused by another process (here: a live one that never wrote the file, named the
    way earlier versions named temp files) does not keep a leftover alive."""
    store = FsBlobStore(tmp_path / "c")
    own = store.open_writer()
    own.write(b"ours")
    for pid in (writer_process.pid, os.getpid()):
        (store.tmp_dir / f"upload-{pid}-{os.urandom(8).hex()}").write_bytes(b"x")
    assert store.cleanup_incomplete() == 2
    assert [p.name for p in store.tmp_dir.iterdir()] == [own._tmp_path.name]  # ours is kept
    own.abort()
    assert list(store.tmp_dir.iterdir()) == []


def test_batch_writes_leave_nothing_and_keep_blobs_owner_only(tmp_path: Path) -> None:
    store = FsBlobStore(tmp_path / "d")
    infos = store.put_many([b"one", b"two", b"one"])
    assert list(store.tmp_dir.iterdir()) == []
    for info in infos:
        assert store.path_for(info.sha256).stat().st_mode & 0o777 == 0o400
    with store.open_writer() as w:
        w.write(b"three")
        info = w.commit()
    assert store.path_for(info.sha256).stat().st_mode & 0o777 == 0o400
