"""Content-defined chunking, checked differentially against the stock client (hf_xet)."""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path

import hf_xet
import pytest

from modelvault_jlab.core.xet.chunker import (
    MAX_CHUNK_BYTES,
    MIN_CHUNK_BYTES,
    Chunker,
    chunk_boundaries,
    iter_chunks,
)
from modelvault_jlab.core.xet.hashing import chunk_hash, file_hash, hash_to_string


def _mixed(seed: int) -> bytes:
    rnd = random.Random(seed)
    parts = []
    for _ in range(40):
        parts.append(rnd.randbytes(rnd.randint(1, 60_000)))
        parts.append(bytes([rnd.randint(0, 255)]) * rnd.randint(1, 90_000))
    return b"".join(parts)


def _text() -> bytes:
    rnd = random.Random(7)
    words = [rnd.randbytes(rnd.randint(2, 9)).hex() for _ in range(500)]
    return " ".join(rnd.choice(words) for _ in range(250_000)).encode()[: 2 * 1024 * 1024]


SAMPLES: dict[str, Callable[[], bytes]] = {
    "random": lambda: os.urandom(3 * 1024 * 1024 + 17),
    "zeros": lambda: bytes(1024 * 1024 + 5),  # no natural cut: every chunk is 128 KiB
    "text": _text,
    "mixed": lambda: _mixed(3),
    "below-minimum": lambda: os.urandom(MIN_CHUNK_BYTES - 1),
    "one byte": lambda: b"\x07",
    "exactly max": lambda: bytes(MAX_CHUNK_BYTES),
    "max plus one": lambda: bytes(MAX_CHUNK_BYTES + 1),
}


@pytest.fixture(scope="module")
def samples() -> dict[str, bytes]:
    return {name: make() for name, make in SAMPLES.items()}


@pytest.mark.parametrize("name", list(SAMPLES))
def test_file_hash_matches_hf_xet(name: str, samples: dict[str, bytes], tmp_path: Path) -> None:
    data = samples[name]
    path = tmp_path / "sample.bin"
    path.write_bytes(data)
    (info,) = hf_xet.hash_files([str(path)])
    chunks = list(iter_chunks([data]))
    assert b"".join(chunks) == data
    ours = file_hash([(chunk_hash(c), len(c)) for c in chunks])
    assert hash_to_string(ours) == info.hash
    assert all(MIN_CHUNK_BYTES <= len(c) <= MAX_CHUNK_BYTES for c in chunks[:-1])
    assert 0 < len(chunks[-1]) <= MAX_CHUNK_BYTES


def test_a_wrong_chunking_would_be_caught(samples: dict[str, bytes], tmp_path: Path) -> None:
    # The differential check is sharp: moving one boundary by a byte changes the file hash.
    data = samples["random"]
    path = tmp_path / "sample.bin"
    path.write_bytes(data)
    (info,) = hf_xet.hash_files([str(path)])
    ends = chunk_boundaries(data)
    ends[0] += 1
    starts = [0, *ends[:-1]]
    chunks = [data[s:e] for s, e in zip(starts, ends, strict=True)]
    assert hash_to_string(file_hash([(chunk_hash(c), len(c)) for c in chunks])) != info.hash


def test_zeros_are_cut_at_the_maximum(samples: dict[str, bytes]) -> None:
    ends = chunk_boundaries(samples["zeros"])
    assert ends[:8] == [MAX_CHUNK_BYTES * (i + 1) for i in range(8)]
    assert ends[-1] == len(samples["zeros"])


@pytest.mark.parametrize("seed", range(3))
def test_streaming_in_any_block_sizes_gives_the_same_chunks(
    seed: int, samples: dict[str, bytes]
) -> None:
    data = samples["mixed"]
    whole = chunk_boundaries(data)
    rnd = random.Random(seed)
    chunker = Chunker()
    chunks: list[bytes] = []
    pos = 0
    while pos < len(data):
        step = rnd.choice([1, 63, 64, 4096, 70_000, 3 * 1024 * 1024])
        chunks += chunker.update(memoryview(data)[pos : pos + step])
        pos += step
    chunks += chunker.finish()
    ends = [sum(map(len, chunks[: i + 1])) for i in range(len(chunks))]
    assert ends == whole
    assert chunker.finish() == []  # reusable after finish


def test_empty_input() -> None:
    assert chunk_boundaries(b"") == []
    assert list(iter_chunks([])) == []
