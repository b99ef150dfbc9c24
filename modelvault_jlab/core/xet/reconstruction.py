"""Reconstruction plans: which chunks of which xorbs rebuild a Xet file, or a byte range of it,
and the v1/v2 reconstruction JSON the Xet client reads (protocol brief §2).

Conventions of the wire format: chunk ranges are end-exclusive, byte ranges end-inclusive. A
range request is trimmed to whole chunks; ``offset_into_first_range`` says how many bytes of the
first term's output the client drops, and the client stops after the requested length.

Pure domain: chunk rows come from a lookup, fetch URLs from a maker, both given by the caller.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ...errors import InvalidInputError, RangeNotSatisfiableError, StorageError
from ...storage.records import XetFileRecord, XetTermRecord, XorbChunkRecord
from .assemble import XetContentError, check_term_chunks, term_offsets
from .fetch import MAX_RANGES

ChunkLookup = Callable[[str, int, int], Sequence[XorbChunkRecord]]
"""``(xorb hash, start, end)`` -> the xorb's chunk rows ``[start, end)`` in index order."""
UrlMaker = Callable[[str, Sequence[tuple[int, int]]], str]
"""``(xorb hash, serialized byte ranges, end-inclusive)`` -> a URL that serves exactly those."""
Version = Literal[1, 2]


@dataclass(frozen=True)
class PlanTerm:
    xorb_hash: str
    start: int
    """Chunk index range ``[start, end)`` of the xorb."""
    end: int
    unpacked: int
    """Uncompressed bytes of chunks ``[start, end)``."""


@dataclass(frozen=True)
class FetchRange:
    """Chunks ``[chunk_start, chunk_end)`` of a xorb: serialized bytes ``byte_start..byte_last``."""

    chunk_start: int
    chunk_end: int
    byte_start: int
    byte_last: int


@dataclass(frozen=True)
class Plan:
    start: int
    end: int
    """The file bytes ``[start, end)`` the plan rebuilds."""
    offset_into_first_range: int
    terms: tuple[PlanTerm, ...]
    fetches: dict[str, tuple[FetchRange, ...]]
    """Per xorb, its needed chunk ranges merged (sorted, disjoint, not adjacent)."""


class FileLayout:
    """Where each term of a file starts in the file (:func:`.assemble.term_offsets`, checked
    against the record): offset -> term in O(log n)."""

    def __init__(self, record: XetFileRecord) -> None:
        self.record = record
        if any(t.unpacked <= 0 or t.end <= t.start for t in record.terms):
            raise StorageError(f"Xet file {record.file_hash} has an empty term.")
        self.offsets = term_offsets(record.terms)
        if self.offsets[-1] != record.size:
            raise StorageError(
                f"Xet file {record.file_hash}: its terms hold {self.offsets[-1]} bytes, "
                f"not {record.size}."
            )

    def term_at(self, offset: int) -> int:
        """Index of the term holding byte ``offset`` (``0 <= offset < size``)."""
        return bisect.bisect_right(self.offsets, offset) - 1


def term_chunks(chunks: ChunkLookup, term: XetTermRecord) -> Sequence[XorbChunkRecord]:
    """The chunk rows of a term, checked against it (a mismatch is corrupt metadata)."""
    rows = chunks(term.xorb_hash, term.start, term.end)
    check_term_chunks(term, rows)
    return rows


def checked_range(size: int, start: int, end: int) -> tuple[int, int]:
    """``[start, end)`` if it is a satisfiable range of a file of ``size`` bytes (an empty file:
    only ``[0, 0)``). Raises RangeNotSatisfiableError (416)."""
    if size == 0 and start == end == 0:
        return 0, 0
    if not 0 <= start < end <= size:
        raise RangeNotSatisfiableError(
            f"Range {start}-{end - 1} is not satisfiable for a file of {size} bytes.", size=size
        )
    return start, end


def plan(record: XetFileRecord, chunks: ChunkLookup, start: int, end: int) -> Plan:
    """The terms, trimmed to whole chunks, that rebuild bytes ``[start, end)`` of the file."""
    start, end = checked_range(record.size, start, end)
    layout = FileLayout(record)
    if start == end:
        return Plan(start, end, 0, (), {})
    first, last = layout.term_at(start), layout.term_at(end - 1)
    terms: list[PlanTerm] = []
    bounds: dict[tuple[str, int], XorbChunkRecord] = {}
    offset_into_first = 0
    for i in range(first, last + 1):
        term = record.terms[i]
        term_offset = layout.offsets[i]
        if not (
            (i == first and start > term_offset)
            or (i == last and end < term_offset + term.unpacked)
        ):
            # A whole term (every term of a whole-file plan): its two end rows say all the
            # plan needs, so a plan costs two indexed lookups per term, not one row per chunk.
            head, tail = _end_rows(chunks, term)
            terms.append(PlanTerm(term.xorb_hash, term.start, term.end, term.unpacked))
            bounds[term.xorb_hash, head.index] = head
            bounds[term.xorb_hash, tail.index] = tail
            continue
        rows = term_chunks(chunks, term)
        lo, hi = 0, len(rows)
        if i == first:  # drop whole chunks before ``start``
            lo = _chunk_at(rows, start - term_offset)
            offset_into_first = start - term_offset - (rows[lo].raw_start - rows[0].raw_start)
        if i == last:  # drop whole chunks after ``end``
            hi = _chunk_at(rows, end - 1 - term_offset) + 1
        kept = rows[lo:hi]
        terms.append(
            PlanTerm(term.xorb_hash, term.start + lo, term.start + hi, sum(r.raw_len for r in kept))
        )
        for row in (kept[0], kept[-1]):  # every merged range starts and ends at one of these
            bounds[term.xorb_hash, row.index] = row
    return Plan(start, end, offset_into_first, tuple(terms), _fetches(terms, bounds))


def _end_rows(chunks: ChunkLookup, term: XetTermRecord) -> tuple[XorbChunkRecord, XorbChunkRecord]:
    """The first and last chunk rows of a term, checked against it: chunks of a xorb are
    contiguous (``raw_start`` is the cumulative offset), so the ends give the term's length."""
    head = chunks(term.xorb_hash, term.start, term.start + 1)
    tail = chunks(term.xorb_hash, term.end - 1, term.end)
    if (
        len(head) != 1
        or len(tail) != 1
        or head[0].index != term.start
        or tail[0].index != term.end - 1
        or tail[0].raw_start + tail[0].raw_len - head[0].raw_start != term.unpacked
    ):
        raise XetContentError(
            f"Chunks [{term.start}, {term.end}) of xorb {term.xorb_hash} do not match a term."
        )
    return head[0], tail[0]


def _chunk_at(rows: Sequence[XorbChunkRecord], offset_in_term: int) -> int:
    """Index in ``rows`` of the chunk holding byte ``offset_in_term`` of the term."""
    base = rows[0].raw_start
    starts = [r.raw_start - base for r in rows]
    return bisect.bisect_right(starts, offset_in_term) - 1


def _fetches(
    terms: Sequence[PlanTerm], bounds: dict[tuple[str, int], XorbChunkRecord]
) -> dict[str, tuple[FetchRange, ...]]:
    """Per xorb, the union of its terms' chunk ranges (adjacent ones joined), as byte ranges."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for t in terms:
        spans.setdefault(t.xorb_hash, []).append((t.start, t.end))
    out: dict[str, tuple[FetchRange, ...]] = {}
    for xorb, ranges in spans.items():
        merged: list[list[int]] = []
        for s, e in sorted(ranges):
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        out[xorb] = tuple(
            FetchRange(s, e, bounds[xorb, s].ser_start, bounds[xorb, e - 1].ser_end - 1)
            for s, e in merged
        )
    return out


def to_json(p: Plan, version: Version, url_for: UrlMaker) -> dict[str, Any]:
    """The reconstruction response: v2 (``xorbs``: one URL per xorb for all its ranges) or v1
    (``fetch_info``: one URL per range)."""
    body: dict[str, Any] = {
        "offset_into_first_range": p.offset_into_first_range,
        "terms": [
            {"hash": t.xorb_hash, "unpacked_length": t.unpacked, "range": _span(t.start, t.end)}
            for t in p.terms
        ],
    }
    if version == 2:
        body["xorbs"] = {
            xorb: [
                {
                    "url": url_for(xorb, [(f.byte_start, f.byte_last) for f in group]),
                    "ranges": [
                        {
                            "chunks": _span(f.chunk_start, f.chunk_end),
                            "bytes": _span(f.byte_start, f.byte_last),
                        }
                        for f in group
                    ],
                }
                for group in _groups(fetches)
            ]
            for xorb, fetches in p.fetches.items()
        }
    elif version == 1:
        body["fetch_info"] = {
            xorb: [
                {
                    "range": _span(f.chunk_start, f.chunk_end),
                    "url": url_for(xorb, [(f.byte_start, f.byte_last)]),
                    "url_range": _span(f.byte_start, f.byte_last),
                }
                for f in fetches
            ]
            for xorb, fetches in p.fetches.items()
        }
    else:
        raise InvalidInputError(f"Unknown reconstruction version {version!r}.")
    return body


def _groups(fetches: Sequence[FetchRange]) -> list[Sequence[FetchRange]]:
    """At most :data:`~.fetch.MAX_RANGES` ranges per URL (URLs stay short)."""
    return [fetches[i : i + MAX_RANGES] for i in range(0, len(fetches), MAX_RANGES)]


def _span(start: int, end: int) -> dict[str, int]:
    return {"start": start, "end": end}
