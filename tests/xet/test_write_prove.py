"""The sha256 pass over a new Xet file (core/xet/prove.py): the exact sha256 of the assembled
bytes for terms sharing, repeating and crossing xorbs, raw and compressed chunks, spans larger
than one read piece; a damaged or short xorb is an error, never a wrong hash."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

from modelvault_jlab.core.xet import prove
from modelvault_jlab.core.xet.assemble import XetContentError
from modelvault_jlab.core.xet.prove import file_sha256
from tests.xet.test_write_assemble import Store, _put, _term
from tests.xet.test_write_assemble import store as _store_fixture

store = _store_fixture  # the same in-process metadata and blob store


@pytest.mark.parametrize("piece", [prove.PROVE_PIECE_BYTES, 300_000])
def test_the_sha256_of_the_assembled_bytes(
    store: Store, piece: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prove, "PROVE_PIECE_BYTES", piece)
    rng = random.Random(3)
    plain = [rng.randbytes(rng.randint(1, 128 * 1024)) for _ in range(30)]  # > 1 MiB spans
    packed = [bytes([i % 7]) * rng.randint(1, 120_000) for i in range(20)]
    text = [b"lorem ipsum dolor sit amet " * rng.randint(1, 4000) for _ in range(12)]
    a, _ = _put(store, plain, 0)
    b, _ = _put(store, packed, 2)
    c, _ = _put(store, text, 1)
    parts = [
        _term(a, plain, 0, 30),
        _term(b, packed, 3, 20),
        _term(a, plain, 5, 6),
        _term(c, text, 0, 12),
        _term(b, packed, 0, 4),
    ]
    meta, blobs = store
    want = hashlib.sha256(b"".join(raw for _, raw in parts)).hexdigest()
    assert file_sha256(meta, blobs, [t for t, _ in parts]) == want


def test_damaged_or_short_xorbs_are_errors(store: Store, tmp_path: Path) -> None:
    meta, blobs = store
    chunks = [random.Random(i).randbytes(50_000) for i in range(4)]
    name, _ = _put(store, chunks, 0)
    term, _ = _term(name, chunks, 0, 4)
    xorb = meta.get_xorb(name)
    assert xorb is not None
    path = next(p for p in (tmp_path / "blobs").rglob("*") if p.name == xorb.blob_sha256)
    data = bytearray(path.read_bytes())
    path.chmod(0o600)
    data[8 + 50_000 + 4] = 9  # the second chunk's scheme byte
    path.write_bytes(bytes(data))
    with pytest.raises(XetContentError, match="damaged"):
        file_sha256(meta, blobs, [term])
    path.write_bytes(bytes(data[:-10]))
    with pytest.raises(XetContentError):
        file_sha256(meta, blobs, [term])


def test_strings_to_hashes_is_string_to_hash_of_each() -> None:
    from modelvault_jlab.core.xet.hashing import hash_to_string, strings_to_hashes

    hashes = [random.Random(i).randbytes(32) for i in range(50)]
    assert strings_to_hashes([hash_to_string(h) for h in hashes]) == hashes
    assert strings_to_hashes([]) == []
    for bad in (["A" * 64], ["a" * 63], ["a" * 63, "a" * 65], ["g" * 64], [" " + "a" * 63]):
        with pytest.raises(ValueError):
            strings_to_hashes(bad)
