"""The ingest pipeline (receive, hash, store in three threads) on a real filesystem blob store:
bytes arrive whole and in order, extra digests see the same bytes, and a failing stage stops the
producer with that failure and publishes nothing."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from modelvault_jlab.errors import StorageError
from modelvault_jlab.storage.blobs_fs import FsBlobStore, FsBlobWriter
from modelvault_jlab.storage.ingest import IngestPipeline, PipelineAbortedError


def _data(n: int) -> bytes:
    return os.urandom(n)


def test_pieces_of_any_size_arrive_whole_and_in_order(tmp_path: Path) -> None:
    store = FsBlobStore(tmp_path)
    data = _data(5 * 1024 * 1024 + 12345)
    writer = store.open_writer()
    git = hashlib.sha1(usedforsecurity=False)
    progress: list[int] = []
    pipeline = IngestPipeline(
        writer, digests=(git,), on_stored=progress.append, buffers=3, buffer_bytes=64 * 1024
    )
    source = io.BytesIO(data)
    # irregular fills, as a socket delivers them
    sizes = [1, 7000, 65536, 100, 0]
    i = 0
    while True:
        buffer = pipeline.acquire()
        n = source.readinto(buffer[: sizes[i % len(sizes)] or len(buffer)])
        pipeline.commit(n)
        i += 1
        if not n and i > len(sizes):
            break
    assert pipeline.finish() == len(data)
    assert progress == sorted(progress) and progress[-1] == len(data)
    assert git.hexdigest() == hashlib.sha1(data, usedforsecurity=False).hexdigest()
    info = writer.commit(hashlib.sha256(data).hexdigest(), len(data))
    assert store.open_reader(info.sha256).read() == data


def test_feed_from_a_file(tmp_path: Path) -> None:
    store = FsBlobStore(tmp_path)
    data = _data(3 * 1024 * 1024 + 1)
    (tmp_path / "src").write_bytes(data)
    writer = store.open_writer()
    pipeline = IngestPipeline(writer, buffer_bytes=256 * 1024)
    with (tmp_path / "src").open("rb") as reader:
        assert pipeline.feed_from(reader) == len(data)
    pipeline.finish()
    assert writer.verify(hashlib.sha256(data).hexdigest(), len(data)).size == len(data)
    writer.abort()


class _FailingWriter(FsBlobWriter):
    """A disk that fills up after ``limit`` bytes."""

    limit = 200_000

    def _write(self, data: bytes | memoryview) -> None:
        if self.bytes_written > self.limit:
            raise OSError(28, "No space left on device")
        super()._write(data)


def test_a_failing_store_stops_the_producer_and_publishes_nothing(tmp_path: Path) -> None:
    store = FsBlobStore(tmp_path)
    writer = _FailingWriter(store)
    pipeline = IngestPipeline(writer, buffers=2, buffer_bytes=64 * 1024)
    with pytest.raises(PipelineAbortedError, match="No space left"):
        for _ in range(1000):  # far more than fits: the producer must be stopped
            buffer = pipeline.acquire()
            buffer[:] = b"x" * len(buffer)
            pipeline.commit(len(buffer))
    with pytest.raises(StorageError, match="No space left"):
        pipeline.finish()
    writer.abort()
    assert list((tmp_path / "tmp").iterdir()) == []
    assert list((tmp_path / "sha256").iterdir()) == []


def test_abort_wakes_a_blocked_producer(tmp_path: Path) -> None:
    store = FsBlobStore(tmp_path)
    writer = store.open_writer()
    pipeline = IngestPipeline(writer, buffers=1, buffer_bytes=1024)
    pipeline.acquire()
    pipeline.abort(wait=5.0)
    pipeline.commit(0)
    with pytest.raises(PipelineAbortedError):
        pipeline.acquire()
    writer.abort()
