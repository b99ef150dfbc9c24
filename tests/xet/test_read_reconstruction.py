"""Reconstruction plans: for random files, term layouts and ranges, a client that follows the
plan exactly as hf_xet does (fetch each URL's byte ranges, decode the chunks of each term, drop
``offset_into_first_range``, stop after the requested length) gets exactly the requested bytes."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelvault_jlab.core.xet.reconstruction import plan, to_json
from modelvault_jlab.errors import RangeNotSatisfiableError, StorageError
from modelvault_jlab.ids import Sha256
from modelvault_jlab.storage.records import XetFileRecord, XetTermRecord, XorbChunkRecord


def _serialize(chunks: Sequence[bytes]) -> tuple[bytes, list[XorbChunkRecord]]:
    """A xorb of uncompressed chunks (scheme 0: header + raw bytes) and its chunk rows."""
    out = bytearray()
    rows = []
    raw = 0
    for i, c in enumerate(chunks):
        start = len(out)
        out += (
            bytes([0]) + struct.pack("<I", len(c))[:3] + bytes([0]) + struct.pack("<I", len(c))[:3]
        )
        out += c
        rows.append(XorbChunkRecord(i, f"c{i}", raw, len(c), start, len(out)))
        raw += len(c)
    return bytes(out), rows


def _decode(serialized: bytes) -> list[bytes]:
    chunks, pos = [], 0
    while pos < len(serialized):
        n = int.from_bytes(serialized[pos + 1 : pos + 4], "little")
        chunks.append(serialized[pos + 8 : pos + 8 + n])
        pos += 8 + n
    return chunks


@st.composite
def layouts(draw: Any) -> tuple[dict[str, tuple[bytes, list[XorbChunkRecord]]], XetFileRecord]:
    xorbs = {}
    for x in range(draw(st.integers(1, 3))):
        sizes = draw(st.lists(st.integers(1, 40), min_size=1, max_size=8))
        chunks = [
            bytes([(x * 37 + i * 11 + j) % 251 for j in range(n)]) for i, n in enumerate(sizes)
        ]
        xorbs[f"x{x}"] = _serialize(chunks)
    terms = []
    for _ in range(draw(st.integers(1, 6))):
        xorb = draw(st.sampled_from(sorted(xorbs)))
        n = len(xorbs[xorb][1])
        start = draw(st.integers(0, n - 1))
        end = draw(st.integers(start + 1, n))
        unpacked = sum(r.raw_len for r in xorbs[xorb][1][start:end])
        terms.append(XetTermRecord(xorb, start, end, unpacked))
    size = sum(t.unpacked for t in terms)
    return xorbs, XetFileRecord("f", Sha256("0" * 64), size, tuple(terms))


def _content(xorbs: dict[str, tuple[bytes, list[XorbChunkRecord]]], record: XetFileRecord) -> bytes:
    out = b""
    for t in record.terms:
        ser, rows = xorbs[t.xorb_hash]
        out += b"".join(ser[r.ser_start + 8 : r.ser_end] for r in rows[t.start : t.end])
    return out


def _follow(
    body: dict[str, Any],
    xorbs: dict[str, tuple[bytes, list[XorbChunkRecord]]],
    length: int,
    fetched: dict[str, list[tuple[int, int]]],
) -> bytes:
    """What hf_xet does with a reconstruction answer (v1 or v2)."""
    out = b""
    for term in body["terms"]:
        xorb, (cs, ce) = term["hash"], (term["range"]["start"], term["range"]["end"])
        ser = xorbs[xorb][0]
        if "xorbs" in body:
            entries = [
                (r["chunks"], r["bytes"], e["url"])
                for e in body["xorbs"][xorb]
                for r in e["ranges"]
            ]
        else:
            entries = [(e["range"], e["url_range"], e["url"]) for e in body["fetch_info"][xorb]]
        chunks_, bytes_, url = next(
            (c, b, u) for c, b, u in entries if c["start"] <= cs and ce <= c["end"]
        )
        piece = ser[bytes_["start"] : bytes_["end"] + 1]
        fetched.setdefault(xorb, []).append((bytes_["start"], bytes_["end"]))
        assert (bytes_["start"], bytes_["end"]) in url_ranges(url)
        decoded = _decode(piece)
        data = b"".join(decoded[cs - chunks_["start"] : ce - chunks_["start"]])
        assert len(data) == term["unpacked_length"]
        out += data
    return out[body["offset_into_first_range"] :][:length]


def url_ranges(url: str) -> list[tuple[int, int]]:
    spec = url.partition("?")[2]
    return [tuple(int(x) for x in r.split("-")) for r in spec.split(",")]  # type: ignore[misc]


def _url(xorb: str, ranges: Sequence[tuple[int, int]]) -> str:
    return f"{xorb}?" + ",".join(f"{a}-{b}" for a, b in ranges)


@settings(max_examples=300, deadline=None)
@given(layouts(), st.data(), st.sampled_from([1, 2]))
def test_following_the_plan_yields_exactly_the_requested_bytes(
    layout: tuple[dict[str, tuple[bytes, list[XorbChunkRecord]]], XetFileRecord],
    data: Any,
    version: Any,
) -> None:
    xorbs, record = layout
    content = _content(xorbs, record)
    start = data.draw(st.integers(0, record.size - 1))
    end = data.draw(st.integers(start + 1, record.size))

    def lookup(xorb: str, s: int, e: int) -> list[XorbChunkRecord]:
        return xorbs[xorb][1][s:e]

    p = plan(record, lookup, start, end)
    body = to_json(p, version, _url)
    fetched: dict[str, list[tuple[int, int]]] = {}
    assert _follow(body, xorbs, end - start, fetched) == content[start:end]
    # Only what the range needs is fetched: every signed byte lies in a chunk of a kept term.
    for t in p.terms:
        assert t.start < t.end
    # Terms are trimmed to whole chunks: the first kept chunk holds ``start``.
    assert 0 <= p.offset_into_first_range < xorbs[p.terms[0].xorb_hash][1][p.terms[0].start].raw_len


def test_a_range_past_the_end_is_not_satisfiable() -> None:
    _, rows = _serialize([b"abc", b"def"])
    record = XetFileRecord("f", Sha256("0" * 64), 6, (XetTermRecord("x", 0, 2, 6),))
    for start, end in ((6, 7), (3, 3), (-1, 2), (0, 7)):
        with pytest.raises(RangeNotSatisfiableError):
            plan(record, lambda x, s, e: rows[s:e], start, end)


def test_metadata_that_disagrees_with_the_terms_is_an_error() -> None:
    _, rows = _serialize([b"abc", b"def"])
    lying = XetFileRecord("f", Sha256("0" * 64), 7, (XetTermRecord("x", 0, 2, 7),))
    with pytest.raises(StorageError):
        plan(lying, lambda x, s, e: rows[s:e], 0, 7)
    missing = XetFileRecord("f", Sha256("0" * 64), 6, (XetTermRecord("x", 0, 2, 6),))
    with pytest.raises(StorageError):
        plan(missing, lambda x, s, e: rows[s : e - 1], 0, 6)


def test_a_whole_file_plan_reads_two_rows_per_term() -> None:
    """A whole-file reconstruction (what hf_xet asks for) reads each term's end rows only, not
    one row per chunk (a 2 GiB file has ~32k chunks)."""
    _, rows = _serialize([bytes([i]) * 10 for i in range(50)])
    terms = (XetTermRecord("x", 0, 20, 200), XetTermRecord("x", 20, 50, 300))
    record = XetFileRecord("f", Sha256("0" * 64), 500, terms)
    read: list[int] = []

    def lookup(xorb: str, s: int, e: int) -> list[XorbChunkRecord]:
        read.append(e - s)
        return rows[s:e]

    p = plan(record, lookup, 0, 500)
    assert sum(read) == 4 and [(t.start, t.end) for t in p.terms] == [(0, 20), (20, 50)]
    assert [(f.byte_start, f.byte_last) for f in p.fetches["x"]] == [(0, rows[-1].ser_end - 1)]
    lying = XetFileRecord("f", Sha256("0" * 64), 501, (terms[0], XetTermRecord("x", 20, 50, 301)))
    with pytest.raises(StorageError):
        plan(lying, lookup, 0, 501)
