"""Xorb parsing and verification: round trips, every class of bad input, and fuzzing."""

from __future__ import annotations

import os
import random
import struct

import lz4.frame
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelvault_jlab.core.xet.hashing import chunk_hash, merkle_root
from modelvault_jlab.core.xet.xorb import (
    MAX_CHUNK_BYTES,
    MAX_SERIALIZED_XORB_BYTES,
    MAX_XORB_BYTES,
    MAX_XORB_CHUNKS,
    SCHEME_BG4_LZ4,
    SCHEME_LZ4,
    SCHEME_NONE,
    XorbFormatError,
    _lz4_frame_bound,
    build_xorb,
    decode_chunk,
    iter_chunks,
    verify_xorb,
)


def _chunks(seed: int = 0) -> list[bytes]:
    rnd = random.Random(seed)
    text = b"the quick brown fox jumps over the lazy dog " * 500
    floats = struct.pack("<4000f", *(rnd.gauss(0, 1) for _ in range(4000)))
    return [os.urandom(9000), text[:20_001], floats, bytes(70_003), os.urandom(1), text[:3]]


def _header(comp_len: int, scheme: int, raw_len: int, version: int = 0) -> bytes:
    return struct.pack("<II", version | comp_len << 8, scheme | raw_len << 8)


def _reference_decode(data: bytes) -> list[bytes]:
    """An independent, unbounded decoder (trusted input only) to check what verify_xorb accepts."""
    out, pos = [], 0
    while pos < len(data) and data[pos : pos + 7] != b"XETBLOB":
        word0, word1 = struct.unpack_from("<II", data, pos)
        comp_len, scheme, raw_len = word0 >> 8, word1 & 0xFF, word1 >> 8
        payload = data[pos + 8 : pos + 8 + comp_len]
        if scheme == SCHEME_NONE:
            raw = payload
        else:
            raw = lz4.frame.decompress(payload)
            if scheme == SCHEME_BG4_LZ4:
                planes, n = raw, len(raw)
                regrouped = bytearray(n)
                start = 0
                for i in range(4):
                    size = n // 4 + (n % 4 > i)
                    for j in range(size):
                        regrouped[4 * j + i] = planes[start + j]
                    start += size
                raw = bytes(regrouped)
        assert len(raw) == raw_len
        out.append(raw)
        pos += 8 + comp_len
    return out


@pytest.mark.parametrize("scheme", [SCHEME_NONE, SCHEME_LZ4, SCHEME_BG4_LZ4])
@pytest.mark.parametrize("footer", [False, True])
def test_round_trip(scheme: int, footer: bool) -> None:
    chunks = _chunks()
    data, xorb_hash = build_xorb(chunks, scheme, footer=footer)
    assert xorb_hash == merkle_root([(chunk_hash(c), len(c)) for c in chunks])
    verified = verify_xorb(data, xorb_hash)
    assert verified.hash == xorb_hash
    assert verified.serialized_len == len(data)
    assert verified.raw_len == sum(map(len, chunks))
    assert [c.hash for c in verified.chunks] == [chunk_hash(c) for c in chunks]
    raw_start = 0
    for info, chunk in zip(verified.chunks, chunks, strict=True):
        assert (info.raw_start, info.raw_len) == (raw_start, len(chunk))
        assert decode_chunk(data[info.ser_start : info.ser_end]) == chunk
        raw_start += len(chunk)
    walked = [(s, e, n) for s, e, n, _ in iter_chunks(data)]
    assert walked == [(c.ser_start, c.ser_end, c.raw_len) for c in verified.chunks]
    assert _reference_decode(data) == chunks
    if scheme != SCHEME_NONE:  # the compressible chunks really use the scheme
        assert {data[c.ser_start + 4] for c in verified.chunks} >= {scheme}


def test_memoryview_input_and_offset_slices() -> None:
    data, xorb_hash = build_xorb(_chunks(), SCHEME_BG4_LZ4)
    padded = b"xx" + data + b"yy"
    assert verify_xorb(memoryview(padded)[2:-2], xorb_hash).serialized_len == len(data)


def _bad(data: bytes | memoryview, xorb_hash: bytes, match: str) -> None:
    with pytest.raises(XorbFormatError, match=match):
        verify_xorb(data, xorb_hash)


def test_empty_and_chunkless() -> None:
    _bad(b"", bytes(32), "empty xorb")
    good, xorb_hash = build_xorb([b"abc"], footer=True)
    _bad(good[11:], xorb_hash, "footer|no chunks")


def test_every_truncation_is_refused() -> None:
    data, xorb_hash = build_xorb([b"a" * 100, b"b" * 50], SCHEME_LZ4)
    for cut in range(len(data)):
        with pytest.raises(XorbFormatError):
            verify_xorb(data[:cut], xorb_hash)


def test_wrong_chunk_content_changes_the_hash() -> None:
    data, xorb_hash = build_xorb([b"a" * 100, b"b" * 50])
    tampered = bytearray(data)
    tampered[20] ^= 1
    _bad(bytes(tampered), xorb_hash, "xorb hash is")


def test_wrong_expected_hash() -> None:
    data, _ = build_xorb([b"a" * 100])
    _bad(data, bytes(32), "xorb hash is")
    _bad(data, b"short", "a 5-byte value")


@pytest.mark.parametrize(
    ("header", "match"),
    [
        (_header(3, 0, 3, version=1), "unsupported version 1"),
        (_header(3, 3, 3), "unknown compression scheme 3"),
        (_header(3, 99, 3), "unknown compression scheme 99"),
        (_header(3, 0, 0), "empty chunk"),
        (_header(MAX_CHUNK_BYTES + 1, 0, MAX_CHUNK_BYTES + 1), "raw length 131073 over"),
        (_header(2 * MAX_CHUNK_BYTES + 1, 1, 100), "compressed length 262145 over"),
        (_header(3, 0, 4), "declares raw length 4"),
        (_header(0xFFFFFF, 1, 100), "compressed length"),
        (_header(50, 1, 100), "truncated payload"),
    ],
)
def test_bad_headers(header: bytes, match: str) -> None:
    _bad(header + b"abc", bytes(32), match)
    with pytest.raises(XorbFormatError, match=match):
        decode_chunk(header + b"abc")


def test_truncated_header() -> None:
    _bad(b"\x00\x03\x00", bytes(32), "truncated header")


def test_decompressed_length_differs_from_header() -> None:
    raw = b"z" * 5000
    frame = lz4.frame.compress(raw, store_size=False)
    for declared, match in [(4999, "more than"), (5001, "to 5000 bytes")]:
        chunk = _header(len(frame), SCHEME_LZ4, declared) + frame
        _bad(chunk, bytes(32), match)
        with pytest.raises(XorbFormatError, match=match):
            decode_chunk(chunk)


def test_decompression_bomb_is_bounded() -> None:
    # 128 KiB of zeros compress to a few hundred bytes; declared raw length 10.
    frame = lz4.frame.compress(bytes(MAX_CHUNK_BYTES), store_size=False)
    _bad(_header(len(frame), SCHEME_LZ4, 10) + frame, bytes(32), "more than")


def test_invalid_lz4_frames() -> None:
    frame = lz4.frame.compress(b"q" * 1000, store_size=False)
    cases = [
        (b"notlz4frame!", "invalid LZ4 frame"),
        (frame[:-4], "decompresses to|does not end"),
        (frame + b"junk", "bytes after the LZ4 frame"),
        (frame + frame, "bytes after the LZ4 frame|more than"),
    ]
    for payload, match in cases:
        _bad(_header(len(payload), SCHEME_LZ4, 1000) + payload, bytes(32), match)


@pytest.mark.parametrize("store_size", [False, True])
@pytest.mark.parametrize("block_size", [lz4.frame.BLOCKSIZE_MAX64KB, lz4.frame.BLOCKSIZE_MAX4MB])
@pytest.mark.parametrize("checksums", [False, True])
def test_lz4_frames_of_any_encoder_settings(
    store_size: bool, block_size: int, checksums: bool
) -> None:
    # Frames the fast path can bound and frames it leaves to the capped decoder both verify.
    raw = (b"lorem ipsum " * 12_000)[:MAX_CHUNK_BYTES]
    frame = lz4.frame.compress(
        raw,
        store_size=store_size,
        block_size=block_size,
        content_checksum=checksums,
        block_checksum=checksums,
    )
    chunk = _header(len(frame), SCHEME_LZ4, len(raw)) + frame
    # (LZ4 shrinks a 4 MB block size to fit the input, so only the size field forces the slow path)
    assert (_lz4_frame_bound(memoryview(frame)) is not None) == (not store_size)
    assert decode_chunk(chunk) == raw
    expected = merkle_root([(chunk_hash(raw), len(raw))])
    assert verify_xorb(
        chunk + chunk, merkle_root([(chunk_hash(raw), len(raw))] * 2)
    ).raw_len == 2 * len(raw)
    assert verify_xorb(chunk, expected).chunks[0].raw_len == len(raw)
    for declared in (len(raw) - 1, 10):
        with pytest.raises(XorbFormatError, match="more than"):
            decode_chunk(_header(len(frame), SCHEME_LZ4, declared) + frame)


def test_trailing_garbage_and_bad_footers() -> None:
    chunks = [b"a" * 100, b"b" * 50]
    data, xorb_hash = build_xorb(chunks)
    _bad(data + b"\x00", xorb_hash, "truncated header")
    _bad(data + b"XETBLOB", xorb_hash, "footer of 7 bytes")
    with_footer, _ = build_xorb(chunks, footer=True)
    footer = with_footer[len(data) :]
    _bad(data + footer + b"\x00", xorb_hash, "trailing bytes")
    for index in range(0, len(footer), 7):
        tampered = bytearray(footer)
        tampered[index] ^= 0x40
        nonce_at = len(footer) - 4 - 16
        if nonce_at <= index < nonce_at + 4:
            assert verify_xorb(data + bytes(tampered), xorb_hash).serialized_len == len(with_footer)
        else:  # a broken ident makes the footer look like a bad chunk header
            _bad(data + bytes(tampered), xorb_hash, "footer" if index >= 7 else "chunk 2")
    other, _ = build_xorb([b"c" * 100, b"b" * 50], footer=True)
    _bad(data + other[len(data) :], xorb_hash, "footer disagrees")


def test_limits_on_chunk_count_raw_size_and_body() -> None:
    many, many_hash = build_xorb([b"x"] * (MAX_XORB_CHUNKS + 1))
    _bad(many, many_hash, f"more than {MAX_XORB_CHUNKS} chunks")
    just, just_hash = build_xorb([b"x"] * MAX_XORB_CHUNKS)
    assert len(verify_xorb(just, just_hash).chunks) == MAX_XORB_CHUNKS
    zeros = [bytes(MAX_CHUNK_BYTES)] * (MAX_XORB_BYTES // MAX_CHUNK_BYTES + 1)
    big, big_hash = build_xorb(zeros, SCHEME_LZ4)
    assert len(big) < 1_000_000
    _bad(big, big_hash, f"more than {MAX_XORB_BYTES} uncompressed bytes")
    exact, exact_hash = build_xorb(zeros[:-1], SCHEME_LZ4)
    assert verify_xorb(exact, exact_hash).raw_len == MAX_XORB_BYTES
    oversized = memoryview(bytearray(MAX_SERIALIZED_XORB_BYTES + 1))
    _bad(oversized, bytes(32), "over")


def test_decode_chunk_refuses_trailing_bytes() -> None:
    data, _ = build_xorb([b"abc"])
    assert decode_chunk(data) == b"abc"
    with pytest.raises(XorbFormatError, match="1 trailing bytes"):
        decode_chunk(data + b"!")


def test_build_xorb_refuses_bad_chunks() -> None:
    for chunks in ([b""], [bytes(MAX_CHUNK_BYTES + 1)]):
        with pytest.raises(ValueError, match="outside"):
            build_xorb(chunks)
    with pytest.raises(ValueError, match="scheme"):
        build_xorb([b"a"], 7)


_FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FUZZ
@given(st.binary(max_size=400), st.binary(min_size=32, max_size=32))
def test_fuzz_random_bytes(data: bytes, xorb_hash: bytes) -> None:
    try:
        verify_xorb(data, xorb_hash)
    except XorbFormatError:
        return
    raise AssertionError("random bytes verified against a random hash")


_SMALL_CHUNKS = st.lists(
    st.one_of(
        st.binary(min_size=1, max_size=300), st.builds(lambda n: b"ab" * n, st.integers(1, 400))
    ),
    min_size=1,
    max_size=5,
)


@_FUZZ
@given(
    _SMALL_CHUNKS,
    st.sampled_from([SCHEME_NONE, SCHEME_LZ4, SCHEME_BG4_LZ4]),
    st.booleans(),
    st.lists(
        st.tuples(st.integers(0, 10_000), st.integers(0, 255), st.sampled_from("xid")), max_size=4
    ),
)
def test_fuzz_mutated_xorbs(
    chunks: list[bytes], scheme: int, footer: bool, mutations: list[tuple[int, int, str]]
) -> None:
    data, xorb_hash = build_xorb(chunks, scheme, footer=footer)
    mutated = bytearray(data)
    for position, value, kind in mutations:
        at = position % (len(mutated) + 1)
        if kind == "x" and at < len(mutated):
            mutated[at] ^= value or 1
        elif kind == "i":
            mutated.insert(at, value)
        elif at < len(mutated):
            del mutated[at]
    try:
        verified = verify_xorb(bytes(mutated), xorb_hash)
    except XorbFormatError:
        assert bytes(mutated) != data
        return
    # Success only if the content truly hashes to the expected root.
    decoded = _reference_decode(bytes(mutated))
    assert merkle_root([(chunk_hash(c), len(c)) for c in decoded]) == xorb_hash
    assert [c.hash for c in verified.chunks] == [chunk_hash(c) for c in decoded]
    assert b"".join(decoded) == b"".join(chunks)
