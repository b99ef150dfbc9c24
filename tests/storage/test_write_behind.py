"""Write-back started during a blob's transfer (storage/write_behind.py): it runs on this kernel,
advances one window at a time, leaves the stored bytes intact, and a descriptor that cannot do it
turns it off instead of failing the write."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

from modelvault_jlab.storage.blobs_fs import FsBlobStore
from modelvault_jlab.storage.ingest import IngestPipeline
from modelvault_jlab.storage.write_behind import WINDOW, WriteBehind


def test_write_back_starts_per_window_and_the_blob_is_intact(tmp_path: Path) -> None:
    store = FsBlobStore(tmp_path)
    data = os.urandom(2 * WINDOW + 12345)
    writer = store.open_writer()
    pipeline = IngestPipeline(writer, buffers=2, buffer_bytes=1 << 20)
    pipeline.feed_from(io.BytesIO(data))
    pipeline.finish()
    # 2 full windows were handed to write-back while writing (the rest goes with the fsync)
    assert writer._write_behind.started == 2 * WINDOW  # type: ignore[attr-defined]
    info = writer.commit()
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    with store.open_reader(info.sha256) as f:
        assert f.read() == data


def test_a_descriptor_without_it_turns_it_off(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()  # sync_file_range refuses a pipe (ESPIPE)
    try:
        behind = WriteBehind(write_end)
        behind.written(WINDOW)
        behind.written(3 * WINDOW)
        assert behind.started == 0
    finally:
        os.close(read_end)
        os.close(write_end)
    path = tmp_path / "f"
    with path.open("wb") as f:
        f.write(b"x" * (WINDOW + 1))
        f.flush()
        behind = WriteBehind(f.fileno())
        behind.written(WINDOW - 1)  # less than a window: nothing yet
        assert behind.started == 0
        behind.written(WINDOW + 1)
        assert behind.started == WINDOW + 1
