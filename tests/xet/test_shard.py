"""Upload shard parsing (what hf_xet 1.8.0 sends) and the dedup shard the CAS answers with."""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Callable

import pytest
from blake3 import blake3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelvault_jlab.core.xet.hashing import (
    chunk_hash,
    file_hash,
    sha256_to_hash_layout,
    verification_hash,
)
from modelvault_jlab.core.xet.shard import (
    SHARD_TAG,
    ShardFile,
    ShardFormatError,
    ShardTerm,
    ShardXorbEntry,
    UploadShard,
    build_dedup_shard,
    build_upload_shard,
    parse_upload_shard,
)
from modelvault_jlab.core.xet.xorb import build_xorb, verify_xorb

LIMITS = {"max_files": 100, "max_terms": 1000}


def _xorb(chunks: list[bytes]) -> tuple[ShardXorbEntry, list[bytes]]:
    data, xorb_hash = build_xorb(chunks)
    verified = verify_xorb(data, xorb_hash)
    entry = ShardXorbEntry(
        xorb_hash,
        tuple((c.hash, c.raw_start, c.raw_len) for c in verified.chunks),
        verified.raw_len,
    )
    return entry, chunks


def _file(pieces: list[tuple[ShardXorbEntry, list[bytes], int, int]]) -> ShardFile:
    """A file made of chunk ranges [start, end) of xorbs, with its true hashes."""
    terms, content, nodes = [], b"", []
    for xorb, chunks, start, end in pieces:
        hashes = [xorb.chunks[i][0] for i in range(start, end)]
        size = sum(len(c) for c in chunks[start:end])
        terms.append(ShardTerm(xorb.xorb_hash, size, start, end, verification_hash(hashes)))
        content += b"".join(chunks[start:end])
        nodes += [(chunk_hash(c), len(c)) for c in chunks[start:end]]
    return ShardFile(file_hash(nodes), tuple(terms), hashlib.sha256(content).hexdigest())


def _sample() -> UploadShard:
    a, a_chunks = _xorb([os.urandom(1000), os.urandom(2000), b"x" * 300])
    b, b_chunks = _xorb([os.urandom(500)])
    files = (
        _file([(a, a_chunks, 0, 3)]),
        # repeated and overlapping ranges, as hf_xet produces for self-similar files
        _file([(a, a_chunks, 0, 2), (a, a_chunks, 1, 2), (b, b_chunks, 0, 1), (a, a_chunks, 2, 3)]),
    )
    return UploadShard(files, (a, b))


def test_round_trip_and_layout() -> None:
    shard = _sample()
    data = build_upload_shard(shard.files, shard.xorbs)
    assert data.startswith(SHARD_TAG) and len(SHARD_TAG) == 32
    assert struct.unpack_from("<QQ", data, 32) == (2, 0)
    assert parse_upload_shard(data, **LIMITS) == shard
    assert parse_upload_shard(memoryview(data), **LIMITS) == shard
    # header + file 1 (1 + 1 + 1 + 1) + file 2 (1 + 4 + 4 + 1) + bookend
    # + xorb a (1 + 3) + xorb b (1 + 1) + bookend, all 48-byte entries
    assert len(data) == 48 * (1 + 4 + 10 + 1 + 4 + 2 + 1)
    # sha256 sits in the 4-LE-word hash layout, not as digest bytes
    first_sha = shard.files[0].sha256
    assert first_sha is not None
    assert sha256_to_hash_layout(first_sha) in data
    assert bytes.fromhex(first_sha) not in data


def test_terms_may_point_at_xorbs_the_shard_does_not_list() -> None:
    shard = _sample()
    data = build_upload_shard(shard.files, ())
    assert parse_upload_shard(data, **LIMITS) == UploadShard(shard.files, ())


def _mutate(data: bytes, offset: int, fmt: str, value: int | bytes) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


# Offsets in the sample: header 0, file 1 header 48, its term 96, verification 144, sha 192;
# file 2 header 240 ... bookend at 720, xorb a header 768, chunks 816.., xorb b 960, bookend 1056.
F1, T1, V1, M1 = 48, 96, 144, 192
FILE_BOOKEND, XA, XA_C0, XA_C1, XB, CAS_BOOKEND = 720, 768, 816, 864, 960, 1056
BAD_CASES: list[tuple[str, Callable[[bytes], bytes], str]] = [
    ("tag", lambda d: _mutate(d, 0, "<B", ord("X")), "wrong header tag"),
    ("version", lambda d: _mutate(d, 32, "<Q", 1), "version 1"),
    ("footer", lambda d: _mutate(d, 40, "<Q", 200), "footer_size is 200"),
    ("trailing", lambda d: d + bytes(48), "bytes after the CAS bookend"),
    ("partial entry", lambda d: d + b"\x00", "whole 48-byte entries"),
    ("truncated", lambda d: d[:-48], "truncated"),
    ("no flags", lambda d: _mutate(d, F1 + 32, "<I", 0), "flags 0x0"),
    ("one flag", lambda d: _mutate(d, F1 + 32, "<I", 1 << 31), "flags 0x80000000"),
    ("extra flag", lambda d: _mutate(d, F1 + 32, "<I", 0xC0000001), "flags 0xc0000001"),
    ("no terms", lambda d: _mutate(d, F1 + 36, "<I", 0), "no terms"),
    ("huge count", lambda d: _mutate(d, F1 + 36, "<I", 0xFFFFFFFF), "more than 1000 terms"),
    ("count past end", lambda d: _mutate(d, F1 + 36, "<I", 900), "only"),
    ("file reserved", lambda d: _mutate(d, F1 + 40, "<Q", 5), "reserved field"),
    ("term flags", lambda d: _mutate(d, T1 + 32, "<I", 1), "xorb flags 0x1"),
    ("term empty", lambda d: _mutate(d, T1 + 44, "<I", 0), "empty or out of range"),
    ("term beyond", lambda d: _mutate(d, T1 + 44, "<I", 9000), "out of range"),
    ("term unpacked 0", lambda d: _mutate(d, T1 + 36, "<I", 0), "0 bytes cannot be"),
    (
        "term unpacked big",
        lambda d: _mutate(d, T1 + 36, "<I", 3 * 131072 + 1),
        "cannot be 3 chunks",
    ),
    ("verification pad", lambda d: _mutate(d, V1 + 40, "<I", 1), "verification reserved"),
    ("metadata pad", lambda d: _mutate(d, M1 + 32, "<I", 1), "metadata reserved"),
    ("file bookend", lambda d: _mutate(d, FILE_BOOKEND + 36, "<I", 1), "file bookend field"),
    ("xorb flags", lambda d: _mutate(d, XA + 32, "<I", 1), "flags at byte 768 must be 0"),
    ("xorb no chunks", lambda d: _mutate(d, XA + 36, "<I", 0), "0 chunks"),
    ("xorb too many", lambda d: _mutate(d, XA + 36, "<I", 8193), "8193 chunks"),
    ("xorb past end", lambda d: _mutate(d, XA + 36, "<I", 50), "only"),
    ("num bytes", lambda d: _mutate(d, XA + 40, "<I", 3299), "num_bytes_in_cas 3299"),
    ("byte start", lambda d: _mutate(d, XA_C1 + 32, "<I", 999), "byte_start 999, expected 1000"),
    ("raw len 0", lambda d: _mutate(d, XA_C0 + 36, "<I", 0), "raw length 0"),
    ("raw len big", lambda d: _mutate(d, XA_C0 + 36, "<I", 131073), "raw length 131073"),
    ("chunk flags", lambda d: _mutate(d, XA_C0 + 40, "<I", 1), "flags 0x1"),
    ("chunk reserved", lambda d: _mutate(d, XA_C0 + 44, "<I", 1), "chunk reserved"),
    ("cas bookend", lambda d: _mutate(d, CAS_BOOKEND + 40, "<I", 1), "CAS bookend field"),
    ("no bookend", lambda d: d[:CAS_BOOKEND], "truncated: xorb header"),
]


@pytest.mark.parametrize(("name", "mutate", "match"), BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_shards(name: str, mutate: Callable[[bytes], bytes], match: str) -> None:
    shard = _sample()
    data = build_upload_shard(shard.files, shard.xorbs)
    assert data[XB : XB + 32] == shard.xorbs[1].xorb_hash  # the offsets above are right
    with pytest.raises(ShardFormatError, match=match):
        parse_upload_shard(mutate(data), **LIMITS)


def test_global_dedup_chunk_flag_and_any_on_disk_size_pass() -> None:
    shard = _sample()
    data = build_upload_shard(shard.files, shard.xorbs)
    data = _mutate(data, XA_C0 + 40, "<I", 1 << 31)
    data = _mutate(data, XA + 44, "<I", 12345)
    assert parse_upload_shard(data, **LIMITS) == shard


def test_limits_on_files_and_terms() -> None:
    shard = _sample()
    data = build_upload_shard(shard.files, shard.xorbs)
    with pytest.raises(ShardFormatError, match="more than 1 files"):
        parse_upload_shard(data, max_files=1, max_terms=100)
    with pytest.raises(ShardFormatError, match="more than 4 terms"):
        parse_upload_shard(data, max_files=10, max_terms=4)
    assert parse_upload_shard(data, max_files=2, max_terms=5) == shard


def test_duplicates_and_short_inputs() -> None:
    shard = _sample()
    twice = build_upload_shard((shard.files[0], shard.files[0]), ())
    with pytest.raises(ShardFormatError, match="listed twice"):
        parse_upload_shard(twice, **LIMITS)
    twice = build_upload_shard((), (shard.xorbs[0], shard.xorbs[0]))
    with pytest.raises(ShardFormatError, match="listed twice"):
        parse_upload_shard(twice, **LIMITS)
    for data in (b"", SHARD_TAG, SHARD_TAG + struct.pack("<QQ", 2, 0)):
        with pytest.raises(ShardFormatError, match="truncated"):
            parse_upload_shard(data, **LIMITS)


def test_file_without_metadata_entry_is_refused() -> None:
    shard = _sample()
    bare = ShardFile(shard.files[0].file_hash, shard.files[0].terms, None)
    with pytest.raises(ShardFormatError, match="flags 0x80000000"):
        parse_upload_shard(build_upload_shard((bare,), ()), **LIMITS)


_FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FUZZ
@given(st.binary(max_size=600))
def test_fuzz_random_bytes(data: bytes) -> None:
    for candidate in (data, SHARD_TAG + struct.pack("<QQ", 2, 0) + data):
        try:
            parse_upload_shard(candidate, **LIMITS)
        except ShardFormatError:
            continue
        # Only well-formed entries can pass: re-serializing gives the same bytes back.
        parsed = parse_upload_shard(candidate, **LIMITS)
        assert build_upload_shard(parsed.files, parsed.xorbs) == candidate


_SAMPLE = build_upload_shard(_sample().files, _sample().xorbs)


@_FUZZ
@given(
    st.lists(
        st.tuples(st.integers(0, len(_SAMPLE) - 1), st.integers(0, 255), st.sampled_from("xid")),
        min_size=1,
        max_size=4,
    )
)
def test_fuzz_mutated_shards(mutations: list[tuple[int, int, str]]) -> None:
    mutated = bytearray(_SAMPLE)
    for position, value, kind in mutations:
        at = position % (len(mutated) + 1)
        if kind == "x" and at < len(mutated):
            mutated[at] ^= value or 1
        elif kind == "i":
            mutated[at:at] = bytes([value]) * 48
        elif at < len(mutated):
            del mutated[at]
    try:
        parsed = parse_upload_shard(bytes(mutated), **LIMITS)
    except ShardFormatError:
        return
    rebuilt = build_upload_shard(parsed.files, parsed.xorbs)
    assert len(rebuilt) == len(mutated)
    for position in (i for i in range(len(rebuilt)) if rebuilt[i] != mutated[i]):
        # the only fields the parser accepts but does not keep: num_bytes_on_disk of a xorb
        # header (bytes 44..48 of an entry) and the global-dedup bit of a chunk (40..44)
        assert (position - 48) % 48 >= 40


def _parse_dedup_shard(data: bytes) -> dict[str, object]:
    """An independent reader of the footer and lookup tables, as xet-core reads them."""
    assert data[:32] == SHARD_TAG
    assert struct.unpack_from("<QQ", data, 32) == (2, 200)
    fields = struct.unpack_from("<9Q32sQQ6QQQQQ", data, len(data) - 200)
    names = [
        "version", "file_info", "cas_info", "file_lu", "file_lu_n", "xorb_lu", "xorb_lu_n",
        "chunk_lu", "chunk_lu_n", "hmac_key", "created", "expiry", "b0", "b1", "b2", "b3", "b4",
        "b5", "stored_on_disk", "materialized", "stored", "footer_offset",
    ]  # fmt: skip
    return dict(zip(names, fields, strict=True))


def test_dedup_shard_layout_and_lookup_tables() -> None:
    key = os.urandom(32)
    xorbs = []
    for n in (3, 1, 5):
        chunks = [os.urandom(100 + i) for i in range(n)]
        xorbs.append((os.urandom(32), [(chunk_hash(c), len(c)) for c in chunks]))
    data = build_dedup_shard(xorbs, key, 1_900_000_000, created=1_800_000_000)
    footer = _parse_dedup_shard(data)
    assert footer["version"] == 1 and footer["hmac_key"] == key
    assert (footer["created"], footer["expiry"]) == (1_800_000_000, 1_900_000_000)
    assert footer["footer_offset"] == len(data) - 200
    assert footer["file_info"] == 48 and data[48:96] == b"\xff" * 32 + bytes(16)
    assert footer["cas_info"] == 96 and footer["file_lu_n"] == 0
    assert footer["stored"] == sum(size for _, chunks in xorbs for _, size in chunks)
    cas = footer["cas_info"]
    assert isinstance(cas, int)

    def entry(index: int) -> bytes:
        return data[cas + 48 * index : cas + 48 * index + 48]

    # xorb lookup: sorted keys, each pointing at its xorb header
    xorb_lu = footer["xorb_lu"]
    assert isinstance(xorb_lu, int)
    xorb_table = [struct.unpack_from("<QI", data, xorb_lu + 12 * i) for i in range(3)]
    assert [k for k, _ in xorb_table] == sorted(k for k, _ in xorb_table)
    by_hash = dict(xorbs)
    for lookup_key, index in xorb_table:
        header = entry(index)
        assert struct.unpack_from("<Q", header)[0] == lookup_key
        xorb_hash = header[:32]
        _, _, n, in_cas, _ = struct.unpack_from("<32sIIII", header)
        assert n == len(by_hash[xorb_hash])
        assert in_cas == sum(size for _, size in by_hash[xorb_hash])
    # chunk lookup: every chunk, keyed with the HMAC key, sorted, resolving to its entry
    chunk_lu = footer["chunk_lu"]
    assert isinstance(chunk_lu, int) and footer["chunk_lu_n"] == 9
    chunk_table = [struct.unpack_from("<QII", data, chunk_lu + 16 * i) for i in range(9)]
    assert [k for k, _, _ in chunk_table] == sorted(k for k, _, _ in chunk_table)
    found = set()
    for lookup_key, xorb_index, chunk_index in chunk_table:
        xorb_hash = entry(xorb_index)[:32]
        plain, size = by_hash[xorb_hash][chunk_index]
        chunk_entry = entry(xorb_index + 1 + chunk_index)
        assert chunk_entry[:32] == blake3(plain, key=key).digest() != plain
        assert struct.unpack_from("<Q", chunk_entry)[0] == lookup_key
        start = sum(s for _, s in by_hash[xorb_hash][:chunk_index])
        assert struct.unpack_from("<II", chunk_entry, 32) == (start, size)
        found.add(plain)
    assert found == {h for _, chunks in xorbs for h, _ in chunks}
    # the CAS section is what an upload parser reads: same structure, keyed hashes
    with pytest.raises(ShardFormatError, match="footer_size is 200"):
        parse_upload_shard(data, **LIMITS)


def test_dedup_shard_with_zero_key_keeps_plain_hashes() -> None:
    plain = chunk_hash(b"abc")
    data = build_dedup_shard([(os.urandom(32), [(plain, 3)])], bytes(32), 1, created=0)
    assert data[96 + 48 : 96 + 80] == plain
    with pytest.raises(ValueError, match="32 bytes"):
        build_dedup_shard([], b"short", 1)
