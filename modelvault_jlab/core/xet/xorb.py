"""Xorbs: the serialized chunk containers of Xet, parsed and verified fail-closed.

A xorb is chunks back to back, each ``[u8 version=0][u24le compressed_len][u8 scheme][u24le
raw_len][payload]`` (xet-core ``xorb_object/xorb_chunk_format.rs``). Schemes: 0 none, 1 LZ4 frame,
2 byte-grouping-4 then LZ4 frame. The xorb hash is the merkle root of the chunk hashes and raw
sizes. xet-core can append an info footer starting with ``XETBLOB``; hf_xet 1.8.0 does not send
it, but one that agrees exactly with the chunks is accepted.

Every length read from the bytes is checked against the limits before it drives a slice,
an allocation or a decompression: a chunk never decompresses to more than its declared
``raw_len + 1`` bytes, and ``raw_len`` itself is at most :data:`MAX_CHUNK_BYTES`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import lz4.frame
import numpy as np

from .hashing import chunk_hash, hash_to_string, merkle_root

MAX_XORB_BYTES = 64 * 1024 * 1024  # raw (uncompressed) bytes in one xorb, xet-core MAX_XORB_BYTES
MAX_XORB_CHUNKS = 8 * 1024  # xet-core MAX_XORB_CHUNKS: the client cuts a xorb at this count
MAX_CHUNK_BYTES = 128 * 1024  # xet-core MAX_CHUNK_SIZE (target 64 KiB x 2)
MAX_COMPRESSED_CHUNK_BYTES = 2 * MAX_CHUNK_BYTES  # xet-core XorbChunkHeader::validate
CHUNK_HEADER_BYTES = 8
SCHEME_NONE, SCHEME_LZ4, SCHEME_BG4_LZ4 = 0, 1, 2

_FOOTER_IDENT = b"XETBLOB"
_FOOTER_VERSION = 1
_HASHES_IDENT = b"XBLBHSH"
_BOUNDARIES_IDENT = b"XBLBBND"
_FOOTER_BUFFER_BYTES = 16


def _footer_len(n_chunks: int) -> int:
    # ident+version, xorb hash, hashes section, boundaries section, tail, trailing info_length
    return 8 + 32 + (8 + 4 + 32 * n_chunks) + (8 + 4 + 8 * n_chunks) + 12 + 16 + 4


# The largest body a client legitimately sends: every raw byte stored plus a header per chunk,
# plus the optional footer. Callers cap request bodies with this, not with MAX_XORB_BYTES.
MAX_SERIALIZED_XORB_BYTES = (
    MAX_XORB_BYTES + CHUNK_HEADER_BYTES * MAX_XORB_CHUNKS + _footer_len(MAX_XORB_CHUNKS)
)

_HEADER = struct.Struct("<II")
_U32 = struct.Struct("<I")


class XorbFormatError(ValueError):
    """The bytes are not a valid xorb; the message says precisely why (it becomes a 400)."""


class XorbChunkInfo(NamedTuple):
    """One chunk of a verified xorb (a NamedTuple: built once per chunk on the hot path)."""

    hash: bytes  # chunk hash of the uncompressed bytes
    raw_start: int  # cumulative uncompressed offset within the xorb
    raw_len: int
    ser_start: int  # serialized byte range [ser_start, ser_end) of header+payload in the xorb
    ser_end: int


@dataclass(frozen=True)
class VerifiedXorb:
    hash: bytes
    chunks: tuple[XorbChunkInfo, ...]
    serialized_len: int  # all bytes received, footer included
    raw_len: int


def _header_at(data: memoryview, pos: int, index: int) -> tuple[int, int, int]:
    """(compressed_len, scheme, raw_len) of the chunk header at ``pos``, validated, its payload
    present in ``data``."""
    if len(data) - pos < CHUNK_HEADER_BYTES:
        raise XorbFormatError(f"chunk {index} at byte {pos}: truncated header")
    comp_len, scheme, raw_len = _header_fields(data, pos, index, pos)
    if len(data) - pos - CHUNK_HEADER_BYTES < comp_len:
        raise XorbFormatError(f"chunk {index} at byte {pos}: truncated payload")
    return comp_len, scheme, raw_len


def _header_fields(
    data: memoryview | bytearray, at: int, index: int, pos: int
) -> tuple[int, int, int]:
    """(compressed_len, scheme, raw_len) of the 8 header bytes at ``data[at:]``, validated (not
    whether the payload follows); ``pos`` is its offset in the xorb, for the message."""
    word0, word1 = _HEADER.unpack_from(data, at)
    version, comp_len = word0 & 0xFF, word0 >> 8
    scheme, raw_len = word1 & 0xFF, word1 >> 8
    if version != 0:
        raise XorbFormatError(f"chunk {index} at byte {pos}: unsupported version {version}")
    if scheme not in (SCHEME_NONE, SCHEME_LZ4, SCHEME_BG4_LZ4):
        raise XorbFormatError(f"chunk {index} at byte {pos}: unknown compression scheme {scheme}")
    if raw_len == 0:
        raise XorbFormatError(f"chunk {index} at byte {pos}: empty chunk")
    if raw_len > MAX_CHUNK_BYTES:
        raise XorbFormatError(
            f"chunk {index} at byte {pos}: raw length {raw_len} over {MAX_CHUNK_BYTES}"
        )
    if comp_len > MAX_COMPRESSED_CHUNK_BYTES:
        raise XorbFormatError(
            f"chunk {index} at byte {pos}: compressed length {comp_len} over "
            f"{MAX_COMPRESSED_CHUNK_BYTES}"
        )
    if scheme == SCHEME_NONE and comp_len != raw_len:
        raise XorbFormatError(
            f"chunk {index} at byte {pos}: uncompressed chunk of {comp_len} bytes declares "
            f"raw length {raw_len}"
        )
    return comp_len, scheme, raw_len


def _where(index: int, pos: int) -> str:
    return f"chunk {index} at byte {pos}"


_LZ4_MAGIC = b"\x04\x22\x4d\x18"
_LZ4_BLOCK_MAX = {4: 1 << 16, 5: 1 << 18, 6: 1 << 20, 7: 1 << 22}
_LZ4_FAST_BOUND = 2 * MAX_CHUNK_BYTES
_U32_AT = struct.Struct("<I").unpack_from


def _lz4_frame_bound(payload: memoryview) -> int | None:
    """An upper bound of what the LZ4 frame can decompress to, from its block headers alone.

    ``None`` unless the payload is exactly one plain frame (no content-size field, which the
    one-shot decoder would allocate from) whose blocks bound the output to at most
    ``_LZ4_FAST_BOUND``: such frames go to the slower decoder with an output cap.
    """
    n = len(payload)
    if n < 7 or payload[:4] != _LZ4_MAGIC:
        return None
    flags, descriptor = payload[4], payload[5]
    block_max = _LZ4_BLOCK_MAX.get((descriptor >> 4) & 7)
    if flags >> 6 != 1 or flags & 0x08 or block_max is None:
        return None
    pos = 7 + (4 if flags & 0x01 else 0)  # magic, FLG, BD, [dict id], header checksum
    block_checksum = 4 if flags & 0x10 else 0
    bound = 0
    while pos + 4 <= n:
        (size,) = _U32_AT(payload, pos)
        pos += 4
        if size == 0:  # end mark, then the optional content checksum
            pos += 4 if flags & 0x04 else 0
            return bound if pos == n else None
        stored = size & 0x7FFFFFFF
        bound += stored if size & 0x80000000 else block_max
        if bound > _LZ4_FAST_BOUND:
            return None
        pos += stored + block_checksum
    return None


def _lz4_bounded(payload: memoryview, raw_len: int, index: int, pos: int) -> bytes:
    if _lz4_frame_bound(payload) is not None:
        # Fast path (no decoder object, no intermediate copy): the output is at most 256 KiB.
        try:
            out, read = lz4.frame.decompress(payload, return_bytes_read=True)
        except RuntimeError as exc:
            raise XorbFormatError(f"{_where(index, pos)}: invalid LZ4 frame ({exc})") from None
        if len(out) == raw_len and read == len(payload):
            return bytes(out)
        eof, trailing = True, read != len(payload)
    else:
        decompressor = lz4.frame.LZ4FrameDecompressor()
        try:
            # raw_len + 1 bounds the output and still reveals a frame that is too long.
            out = decompressor.decompress(payload, max_length=raw_len + 1)
        except RuntimeError as exc:
            raise XorbFormatError(f"{_where(index, pos)}: invalid LZ4 frame ({exc})") from None
        eof, trailing = decompressor.eof, bool(decompressor.unused_data)
        if len(out) == raw_len and eof and not trailing:
            return bytes(out)
    where = _where(index, pos)
    if len(out) != raw_len:
        raise XorbFormatError(
            f"{where}: decompresses to {'more than' if len(out) > raw_len else len(out)} "
            f"bytes, header says {raw_len}"
        )
    if not eof:
        raise XorbFormatError(f"{where}: LZ4 frame does not end")
    raise XorbFormatError(f"{where}: bytes after the LZ4 frame")


def _bg4_regroup(grouped: bytes) -> bytes:
    """Undo byte grouping: plane i holds bytes i, i+4, ...; plane sizes n//4 + (rem > i).

    numpy does the strided copy (about twice as fast as bytearray slice assignment).
    """
    n = len(grouped)
    split, rem = divmod(n, 4)
    planes = np.frombuffer(grouped, dtype=np.uint8)
    out = np.empty(n, dtype=np.uint8)
    columns = out[: 4 * split].reshape(split, 4)
    start = 0
    for i in range(4):
        columns[:, i] = planes[start : start + split]
        if rem > i:
            out[4 * split + i] = planes[start + split]
        start += split + (1 if rem > i else 0)
    return out.tobytes()


def _bg4_split(data: bytes) -> bytes:
    return b"".join(data[i::4] for i in range(4))


def _decode_payload(
    payload: memoryview, scheme: int, raw_len: int, index: int, pos: int
) -> bytes | memoryview:
    if scheme == SCHEME_NONE:
        return payload  # length already checked equal to raw_len
    out = _lz4_bounded(payload, raw_len, index, pos)
    return _bg4_regroup(out) if scheme == SCHEME_BG4_LZ4 else out


def iter_chunks(data: bytes | memoryview) -> Iterator[tuple[int, int, int, memoryview]]:
    """Walk the chunk headers: ``(ser_start, ser_end, raw_len, header+payload view)`` per chunk.

    Stops at the end of the data or at an ``XETBLOB`` footer (not checked here). Headers and
    lengths are validated; payloads are not decompressed.
    """
    view = memoryview(data).cast("B")
    pos, index, end = 0, 0, len(view)
    while pos < end and not (view[pos] != 0 and view[pos : pos + 7] == _FOOTER_IDENT):
        comp_len, _scheme, raw_len = _header_at(view, pos, index)
        ser_end = pos + CHUNK_HEADER_BYTES + comp_len
        yield pos, ser_end, raw_len, view[pos:ser_end]
        pos, index = ser_end, index + 1


def decode_chunk(serialized: bytes | memoryview) -> bytes:
    """One serialized chunk (header + payload, nothing more) -> its uncompressed bytes."""
    return bytes(decode_chunk_view(serialized))


def decode_chunk_view(serialized: bytes | memoryview) -> bytes | memoryview:
    """:func:`decode_chunk` without a copy of an uncompressed chunk: a view of its payload in
    ``serialized`` (valid while that buffer is)."""
    view = memoryview(serialized).cast("B")
    comp_len, scheme, raw_len = _header_at(view, 0, 0)
    if len(view) != CHUNK_HEADER_BYTES + comp_len:
        raise XorbFormatError(f"chunk: {len(view) - CHUNK_HEADER_BYTES - comp_len} trailing bytes")
    return _decode_payload(view[CHUNK_HEADER_BYTES:], scheme, raw_len, 0, 0)


def verify_xorb(data: bytes | memoryview, expected_hash: bytes) -> VerifiedXorb:
    """Parse a whole xorb, decompress and hash every chunk, and check the merkle root."""
    verifier = XorbVerifier(expected_hash)
    verifier.update(data)
    return verifier.finish()


class XorbVerifier:
    """Verifies a xorb from its bytes as they arrive, in pieces of any size: each chunk is
    parsed, decoded (bounded) and hashed as soon as its last byte is in; :meth:`finish` checks
    the merkle root. Memory: at most one partial chunk (≤ 8 B + 256 KiB) or the footer is kept
    across pieces, plus one small tuple per chunk. Not thread-safe: one feeder.

    Raises :class:`XorbFormatError` (from :meth:`update` as early as the bytes show it, else from
    :meth:`finish`) with the same messages whatever the piece boundaries.
    """

    def __init__(self, expected_hash: bytes) -> None:
        self._expected = expected_hash
        self._nodes: list[tuple[bytes, int]] = []
        self._ranges: list[tuple[int, int]] = []
        self._raw_total = 0
        self._received = 0
        self._pos = 0  # xorb offset of the next chunk (or of the footer)
        self._pending = bytearray()  # the start of a chunk whose end has not arrived yet
        self._footer: bytearray | None = None

    @property
    def received(self) -> int:
        return self._received

    def update(self, data: bytes | memoryview) -> None:
        view = memoryview(data).cast("B")
        self._received += len(view)
        if self._received > MAX_SERIALIZED_XORB_BYTES:
            raise XorbFormatError(f"xorb over {MAX_SERIALIZED_XORB_BYTES} bytes")
        while len(view):
            if self._footer is not None:
                self._add_footer(view)
                return
            if self._pending:
                view = self._fill_pending(view)
                continue
            view = view[self._chunks_in(view) :]
            if not len(view) or self._footer_starts(view):
                return
            view = self._fill_pending(view)  # a chunk that continues in the next piece

    def finish(self) -> VerifiedXorb:
        """The verified xorb, once every byte was given to :meth:`update`."""
        if self._pending:
            index, pos = len(self._nodes), self._pos
            if len(self._pending) < CHUNK_HEADER_BYTES:
                if self._pending[0] == 0 or not _FOOTER_IDENT.startswith(self._pending):
                    raise XorbFormatError(f"chunk {index} at byte {pos}: truncated header")
                self._footer, self._pending = self._pending, bytearray()
            else:
                raise XorbFormatError(f"chunk {index} at byte {pos}: truncated payload")
        if self._received == 0:
            raise XorbFormatError("empty xorb")
        if not self._nodes:
            raise XorbFormatError("xorb has no chunks")
        root = merkle_root(self._nodes)
        if root != self._expected:
            raise XorbFormatError(
                f"xorb hash is {hash_to_string(root)}, not {_describe(self._expected)}"
            )
        chunks = []
        raw_start = 0
        for (h, raw_len), (ser_start, ser_end) in zip(self._nodes, self._ranges, strict=True):
            chunks.append(XorbChunkInfo(h, raw_start, raw_len, ser_start, ser_end))
            raw_start += raw_len
        if self._footer is not None:
            _check_footer(memoryview(self._footer), root, chunks)
        return VerifiedXorb(root, tuple(chunks), self._received, self._raw_total)

    def _footer_starts(self, view: memoryview) -> bool:
        """At a chunk boundary: does the footer start here (then all the rest is footer)?"""
        if len(view) < len(_FOOTER_IDENT) or bytes(view[: len(_FOOTER_IDENT)]) != _FOOTER_IDENT:
            return False  # (a prefix of the ident is kept pending: the next bytes decide)
        self._footer = bytearray()
        self._add_footer(view)
        return True

    def _add_footer(self, view: memoryview) -> None:
        assert self._footer is not None
        limit = _footer_len(len(self._nodes))
        if len(self._footer) + len(view) > limit:
            raise XorbFormatError(
                f"footer longer than the {limit} bytes expected for {len(self._nodes)} chunks "
                "(or trailing bytes)"
            )
        self._footer += view

    def _fill_pending(self, view: memoryview) -> memoryview:
        """Move bytes of ``view`` into the pending chunk; verify it once whole. The rest."""
        pending = self._pending
        if len(pending) < CHUNK_HEADER_BYTES:
            take = min(CHUNK_HEADER_BYTES - len(pending), len(view))
            pending += view[:take]
            view = view[take:]
            if len(pending) < CHUNK_HEADER_BYTES:
                return view
            if pending[0] != 0 and pending[: len(_FOOTER_IDENT)] == _FOOTER_IDENT:
                self._pending = bytearray()
                self._footer = bytearray()
                self._add_footer(memoryview(pending))
                return view
        self._check_index()
        comp_len, _, _ = _header_fields(pending, 0, len(self._nodes), self._pos)
        take = min(CHUNK_HEADER_BYTES + comp_len - len(pending), len(view))
        pending += view[:take]
        if len(pending) == CHUNK_HEADER_BYTES + comp_len:
            self._chunks_in(memoryview(pending))
            self._pending = bytearray()
        return view[take:]

    def _check_index(self) -> None:
        if len(self._nodes) >= MAX_XORB_CHUNKS:
            raise XorbFormatError(f"more than {MAX_XORB_CHUNKS} chunks")

    def _chunks_in(self, view: memoryview) -> int:
        """Verify the whole chunks at the start of ``view`` (which starts at a chunk); the bytes
        they took. Stops before a partial chunk or a footer."""
        # The loop runs once per ~64 KiB chunk next to a ~27 us hash: it keeps to plain tuples
        # and builds the result objects only for a xorb that verified.
        nodes, ranges = self._nodes, self._ranges
        total, pos, base = len(view), 0, self._pos
        while total - pos >= CHUNK_HEADER_BYTES:
            if view[pos] != 0 and view[pos : pos + 7] == _FOOTER_IDENT:
                break
            self._check_index()
            index = len(nodes)
            comp_len, scheme, raw_len = _header_fields(view, pos, index, base + pos)
            ser_end = pos + CHUNK_HEADER_BYTES + comp_len
            if ser_end > total:
                break
            self._raw_total += raw_len
            if self._raw_total > MAX_XORB_BYTES:
                raise XorbFormatError(f"more than {MAX_XORB_BYTES} uncompressed bytes")
            payload = view[pos + CHUNK_HEADER_BYTES : ser_end]
            raw = (
                payload
                if scheme == SCHEME_NONE
                else _decode_payload(payload, scheme, raw_len, index, base + pos)
            )
            nodes.append((chunk_hash(raw), raw_len))
            ranges.append((base + pos, base + ser_end))
            pos = ser_end
        self._pos = base + pos
        return pos


def _describe(h: bytes) -> str:
    return hash_to_string(h) if len(h) == 32 else f"a {len(h)}-byte value"


def _footer_bytes(xorb_hash: bytes, chunks: Sequence[XorbChunkInfo]) -> bytes:
    """xet-core's XorbObjectInfoV1 + info_length, exactly as its serializer writes them."""
    n = len(chunks)
    hashes = _HASHES_IDENT + b"\x00" + _U32.pack(n) + b"".join(c.hash for c in chunks)
    boundaries = (
        _BOUNDARIES_IDENT
        + bytes([1])
        + _U32.pack(n)
        + struct.pack(f"<{n}I", *(c.ser_end for c in chunks))
        + struct.pack(f"<{n}I", *(c.raw_start + c.raw_len for c in chunks))
    )
    tail_len = 12 + _FOOTER_BUFFER_BYTES
    tail = struct.pack(
        "<III", n, len(hashes) + len(boundaries) + tail_len, len(boundaries) + tail_len
    ) + bytes(_FOOTER_BUFFER_BYTES)
    info = _FOOTER_IDENT + bytes([_FOOTER_VERSION]) + xorb_hash + hashes + boundaries + tail
    return info + _U32.pack(len(info))


def _check_footer(footer: memoryview, xorb_hash: bytes, chunks: Sequence[XorbChunkInfo]) -> None:
    # Nothing reads the footer's claims; it is accepted only when it says exactly what the
    # verified chunks say (bar the free uniqueness nonce), so stored bytes never contradict it.
    expected = _footer_bytes(xorb_hash, chunks)
    if len(footer) != len(expected):
        raise XorbFormatError(
            f"footer of {len(footer)} bytes, {len(expected)} expected for {len(chunks)} chunks "
            "(or trailing bytes)"
        )
    buffer_at = len(expected) - 4 - _FOOTER_BUFFER_BYTES
    nonce_at, nonce_end = buffer_at, buffer_at + 4
    if footer[:nonce_at] != expected[:nonce_at] or footer[nonce_end:] != expected[nonce_end:]:
        raise XorbFormatError("XETBLOB footer disagrees with the chunks")


def build_xorb(
    chunks: Sequence[bytes], scheme: int = SCHEME_NONE, *, footer: bool = False
) -> tuple[bytes, bytes]:
    """Serialize chunks as the client does: ``(serialized xorb, xorb hash)``.

    ``scheme`` is the preferred compression; like xet-core, a chunk that does not shrink is
    stored uncompressed. ``footer`` appends xet-core's info footer.
    """
    if scheme not in (SCHEME_NONE, SCHEME_LZ4, SCHEME_BG4_LZ4):
        raise ValueError(f"unknown compression scheme {scheme}")
    parts: list[bytes] = []
    infos: list[XorbChunkInfo] = []
    pos = raw_pos = 0
    for chunk in chunks:
        raw = bytes(chunk)
        if not 0 < len(raw) <= MAX_CHUNK_BYTES:
            raise ValueError(f"chunk of {len(raw)} bytes outside 1..{MAX_CHUNK_BYTES}")
        payload, used = raw, SCHEME_NONE
        if scheme != SCHEME_NONE:
            source = _bg4_split(raw) if scheme == SCHEME_BG4_LZ4 else raw
            packed = lz4.frame.compress(source, store_size=False, block_linked=False)
            if len(packed) < len(raw):
                payload, used = packed, scheme
        parts.append(_HEADER.pack(len(payload) << 8, used | (len(raw) << 8)) + payload)
        end = pos + CHUNK_HEADER_BYTES + len(payload)
        infos.append(XorbChunkInfo(chunk_hash(raw), raw_pos, len(raw), pos, end))
        pos, raw_pos = end, raw_pos + len(raw)
    xorb_hash = merkle_root([(c.hash, c.raw_len) for c in infos])
    if footer:
        parts.append(_footer_bytes(xorb_hash, infos))
    return b"".join(parts), xorb_hash
