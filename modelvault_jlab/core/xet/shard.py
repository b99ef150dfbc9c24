"""Xet shards: the upload shard hf_xet sends, and the dedup shard the CAS answers with.

Layout (xet-core ``metadata_shard/shard_format.rs``, ``file_structs.rs``, ``xorb_structs.rs``),
all integers little-endian, every entry 48 bytes:

- header: 32-byte tag, ``u64 version=2``, ``u64 footer_size``;
- file info: per file a header ``file_hash flags:u32 n:u32 0:u64``, ``n`` terms ``xorb_hash
  xorb_flags:u32 unpacked:u32 start:u32 end:u32``, ``n`` verification entries ``range_hash 0[16]``
  (flag bit 31), one metadata entry ``sha256 0[16]`` (flag bit 30); a bookend ``FF*32 0[16]``;
- CAS info: per xorb a header ``xorb_hash flags:u32 n:u32 num_bytes_in_cas:u32
  num_bytes_on_disk:u32`` and ``n`` chunks ``chunk_hash byte_start:u32 raw_len:u32 flags:u32
  0:u32``; a bookend;
- only in shards with a footer: the lookup tables and the 200-byte footer.

:func:`parse_upload_shard` accepts exactly what hf_xet 1.8.0 uploads (no footer, both file flags,
nothing after the CAS bookend); every count is checked against the bytes left and the caller's
limits before it drives a loop or an allocation.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from blake3 import blake3

from .hashing import hash_to_string, sha256_from_hash_layout, sha256_to_hash_layout
from .xorb import MAX_CHUNK_BYTES, MAX_XORB_BYTES, MAX_XORB_CHUNKS

SHARD_TAG = b"HFRepoMetaData\x00" + bytes(
    [85, 105, 103, 69, 106, 123, 129, 87, 131, 165, 189, 217, 92, 205, 209, 74, 169]
)
SHARD_VERSION = 2
FOOTER_VERSION = 1
FOOTER_BYTES = 200
ENTRY_BYTES = 48
FLAG_VERIFICATION = 1 << 31
FLAG_METADATA_EXT = 1 << 30
FILE_FLAGS = FLAG_VERIFICATION | FLAG_METADATA_EXT  # what hf_xet sets on every uploaded file
CHUNK_FLAG_GLOBAL_DEDUP = 1 << 31  # xet-core marks a file's first chunk with it

_BOOKEND_HASH = b"\xff" * 32
_BOOKEND = _BOOKEND_HASH + bytes(16)
_HEADER = struct.Struct("<32sQQ")
_ENTRY = struct.Struct("<32sIIII")  # every 48-byte entry as a hash and four u32 words
_FOOTER = struct.Struct("<9Q32sQQ6QQQQQ")
_LOOKUP = struct.Struct("<QI")
_CHUNK_LOOKUP = struct.Struct("<QII")
_WORDS = struct.Struct("<4Q")
assert _HEADER.size == ENTRY_BYTES and _ENTRY.size == ENTRY_BYTES and _FOOTER.size == FOOTER_BYTES


class ShardFormatError(ValueError):
    """The bytes are not an acceptable shard; the message says precisely why (a 400)."""


@dataclass(frozen=True)
class ShardTerm:
    xorb_hash: bytes
    unpacked: int  # raw bytes of chunks [start, end) of the xorb
    start: int
    end: int  # chunk index, exclusive
    range_hash: bytes  # verification hash of those chunks' hashes


@dataclass(frozen=True)
class ShardFile:
    file_hash: bytes
    terms: tuple[ShardTerm, ...]
    sha256: str | None  # standard hex; parsed shards always carry it (a claim, not a proof)


@dataclass(frozen=True)
class ShardXorbEntry:
    xorb_hash: bytes
    chunks: tuple[tuple[bytes, int, int], ...]  # (chunk hash, raw byte_start, raw_len)
    num_bytes_in_cas: int


@dataclass(frozen=True)
class UploadShard:
    files: tuple[ShardFile, ...]
    xorbs: tuple[ShardXorbEntry, ...]


class _Reader:
    """Bounds-checked cursor over 48-byte entries."""

    def __init__(self, data: memoryview) -> None:
        self.data = data
        self.pos = 0

    def entries_left(self) -> int:
        return (len(self.data) - self.pos) // ENTRY_BYTES

    def entry(self, what: str) -> tuple[bytes, int, int, int, int]:
        if len(self.data) - self.pos < ENTRY_BYTES:
            raise ShardFormatError(f"truncated: {what} at byte {self.pos}")
        fields: tuple[bytes, int, int, int, int] = _ENTRY.unpack_from(self.data, self.pos)
        self.pos += ENTRY_BYTES
        return fields

    def need(self, n_entries: int, what: str) -> None:
        if n_entries > self.entries_left():
            raise ShardFormatError(
                f"{what} at byte {self.pos} declares {n_entries} entries, "
                f"only {self.entries_left()} fit in the rest of the shard"
            )


def _zero(value: int, what: str, where: int) -> None:
    if value != 0:
        raise ShardFormatError(f"{what} at byte {where} must be 0, is {value}")


def parse_upload_shard(data: bytes | memoryview, *, max_files: int, max_terms: int) -> UploadShard:
    """Parse the shard of ``POST /v1|v2/shards``. ``max_terms`` bounds the terms of all files."""
    view = memoryview(data).cast("B")
    if len(view) < _HEADER.size:
        raise ShardFormatError(f"truncated: {len(view)} bytes, no shard header")
    tag, version, footer_size = _HEADER.unpack_from(view, 0)
    if tag != SHARD_TAG:
        raise ShardFormatError("not a shard (wrong header tag)")
    if version != SHARD_VERSION:
        raise ShardFormatError(f"shard version {version}, only {SHARD_VERSION} is accepted")
    if footer_size != 0:
        raise ShardFormatError(f"upload shards carry no footer, footer_size is {footer_size}")
    if (len(view) - _HEADER.size) % ENTRY_BYTES:
        raise ShardFormatError(f"{len(view)} bytes is not a header plus whole 48-byte entries")
    reader = _Reader(view[_HEADER.size :])
    files = _parse_files(reader, max_files, max_terms)
    xorbs = _parse_xorbs(reader)
    if reader.pos != len(reader.data):
        raise ShardFormatError(f"{len(reader.data) - reader.pos} bytes after the CAS bookend")
    return UploadShard(files, xorbs)


def _parse_files(reader: _Reader, max_files: int, max_terms: int) -> tuple[ShardFile, ...]:
    files: list[ShardFile] = []
    seen: set[bytes] = set()
    total_terms = 0
    while True:
        at = _HEADER.size + reader.pos
        file_hash, flags, n, unused_lo, unused_hi = reader.entry("file header")
        if file_hash == _BOOKEND_HASH:
            for value in (flags, n, unused_lo, unused_hi):
                _zero(value, "file bookend field", at)
            return tuple(files)
        if len(files) >= max_files:
            raise ShardFormatError(f"more than {max_files} files in one shard")
        if flags != FILE_FLAGS:
            raise ShardFormatError(
                f"file {hash_to_string(file_hash)}: flags {flags:#x}, expected {FILE_FLAGS:#x} "
                "(verification and metadata entries)"
            )
        _zero(unused_lo | unused_hi, "file header reserved field", at)
        if n == 0:
            raise ShardFormatError(f"file {hash_to_string(file_hash)}: no terms")
        if n > max_terms - total_terms:
            raise ShardFormatError(f"more than {max_terms} terms in one shard")
        reader.need(2 * n + 1, f"file {hash_to_string(file_hash)}")
        total_terms += n
        if file_hash in seen:
            raise ShardFormatError(f"file {hash_to_string(file_hash)} listed twice")
        seen.add(file_hash)
        segments = [reader.entry("term") for _ in range(n)]
        range_hashes = []
        for _ in range(n):
            where = _HEADER.size + reader.pos
            range_hash, *rest = reader.entry("verification entry")
            _zero(rest[0] | rest[1] | rest[2] | rest[3], "verification reserved field", where)
            range_hashes.append(range_hash)
        where = _HEADER.size + reader.pos
        sha_layout, *rest = reader.entry("metadata entry")
        _zero(rest[0] | rest[1] | rest[2] | rest[3], "metadata reserved field", where)
        terms = tuple(
            _term(file_hash, index, segment, range_hash)
            for index, (segment, range_hash) in enumerate(zip(segments, range_hashes, strict=True))
        )
        files.append(ShardFile(file_hash, terms, sha256_from_hash_layout(sha_layout)))


def _term(
    file_hash: bytes, index: int, segment: tuple[bytes, int, int, int, int], range_hash: bytes
) -> ShardTerm:
    xorb_hash, xorb_flags, unpacked, start, end = segment
    where = f"file {hash_to_string(file_hash)} term {index}"
    if xorb_flags != 0:
        raise ShardFormatError(f"{where}: xorb flags {xorb_flags:#x}, expected 0")
    if not start < end <= MAX_XORB_CHUNKS:
        raise ShardFormatError(f"{where}: chunk range [{start}, {end}) is empty or out of range")
    if not 0 < unpacked <= (end - start) * MAX_CHUNK_BYTES:
        raise ShardFormatError(f"{where}: {unpacked} bytes cannot be {end - start} chunks")
    return ShardTerm(xorb_hash, unpacked, start, end, range_hash)


def _parse_xorbs(reader: _Reader) -> tuple[ShardXorbEntry, ...]:
    xorbs: list[ShardXorbEntry] = []
    seen: set[bytes] = set()
    while True:
        at = _HEADER.size + reader.pos
        xorb_hash, flags, n, in_cas, _on_disk = reader.entry("xorb header")
        if xorb_hash == _BOOKEND_HASH:
            for value in (flags, n, in_cas, _on_disk):
                _zero(value, "CAS bookend field", at)
            return tuple(xorbs)
        # num_bytes_on_disk is informational (hf_xet 1.8.0 sends 0, the spec the serialized
        # length); nothing uses it, so any value passes.
        name = f"xorb {hash_to_string(xorb_hash)}"
        _zero(flags, f"{name} flags", at)
        if not 0 < n <= MAX_XORB_CHUNKS:
            raise ShardFormatError(f"{name}: {n} chunks, expected 1..{MAX_XORB_CHUNKS}")
        reader.need(n, name)
        if xorb_hash in seen:
            raise ShardFormatError(f"{name} listed twice")
        seen.add(xorb_hash)
        chunks = _chunk_entries(reader, name, n)
        raw_pos = sum(raw_len for _, _, raw_len in chunks)
        if raw_pos > MAX_XORB_BYTES:
            raise ShardFormatError(f"{name}: {raw_pos} bytes, over {MAX_XORB_BYTES}")
        if in_cas != raw_pos:
            raise ShardFormatError(f"{name}: num_bytes_in_cas {in_cas}, chunks sum to {raw_pos}")
        xorbs.append(ShardXorbEntry(xorb_hash, tuple(chunks), in_cas))


def _chunk_entries(reader: _Reader, name: str, n: int) -> tuple[tuple[bytes, int, int], ...]:
    """The ``n`` chunk entries at the cursor: checked all at once with numpy (about 1 us per
    entry otherwise); an invalid block is walked entry by entry for the precise error."""
    block = bytes(reader.data[reader.pos : reader.pos + ENTRY_BYTES * n])
    words = np.frombuffer(block, dtype="<u4").reshape(n, ENTRY_BYTES // 4)
    starts, lens, flags, unused = (words[:, i].astype(np.int64) for i in range(8, 12))
    valid = (
        np.array_equal(starts[1:], np.cumsum(lens)[:-1])
        and starts[0] == 0
        and bool(np.all((lens > 0) & (lens <= MAX_CHUNK_BYTES)))
        and not np.any(flags & ~CHUNK_FLAG_GLOBAL_DEDUP)
        and not np.any(unused)
    )
    if valid:
        reader.pos += ENTRY_BYTES * n
        hashes = [block[i : i + 32] for i in range(0, ENTRY_BYTES * n, ENTRY_BYTES)]
        return tuple(zip(hashes, starts.tolist(), lens.tolist(), strict=True))
    raw_pos = 0
    for index in range(n):
        where = _HEADER.size + reader.pos
        _hash, byte_start, raw_len, chunk_flags, reserved = reader.entry("chunk entry")
        if byte_start != raw_pos:
            raise ShardFormatError(
                f"{name} chunk {index}: byte_start {byte_start}, expected {raw_pos}"
            )
        if not 0 < raw_len <= MAX_CHUNK_BYTES:
            raise ShardFormatError(f"{name} chunk {index}: raw length {raw_len}")
        if chunk_flags & ~CHUNK_FLAG_GLOBAL_DEDUP:
            raise ShardFormatError(f"{name} chunk {index}: flags {chunk_flags:#x}")
        _zero(reserved, "chunk reserved field", where)
        raw_pos += raw_len
    raise AssertionError("the vectorised check and the walk disagree")  # pragma: no cover


def _file_entries(file: ShardFile) -> list[bytes]:
    flags = FLAG_VERIFICATION | (FLAG_METADATA_EXT if file.sha256 is not None else 0)
    out = [_ENTRY.pack(file.file_hash, flags, len(file.terms), 0, 0)]
    out += [_ENTRY.pack(t.xorb_hash, 0, t.unpacked, t.start, t.end) for t in file.terms]
    out += [t.range_hash + bytes(16) for t in file.terms]
    if file.sha256 is not None:
        out.append(sha256_to_hash_layout(file.sha256) + bytes(16))
    return out


def _xorb_entries(xorb: ShardXorbEntry, on_disk: int = 0) -> list[bytes]:
    out = [_ENTRY.pack(xorb.xorb_hash, 0, len(xorb.chunks), xorb.num_bytes_in_cas, on_disk)]
    out += [_ENTRY.pack(h, start, size, 0, 0) for h, start, size in xorb.chunks]
    return out


def build_upload_shard(files: Sequence[ShardFile], xorbs: Sequence[ShardXorbEntry]) -> bytes:
    """The shard hf_xet would upload for these files and new xorbs (tests and the bench)."""
    parts = [_HEADER.pack(SHARD_TAG, SHARD_VERSION, 0)]
    for file in files:
        parts += _file_entries(file)
    parts.append(_BOOKEND)
    for xorb in xorbs:
        parts += _xorb_entries(xorb)
    parts.append(_BOOKEND)
    return b"".join(parts)


def _lookup_key(h: bytes) -> int:
    return int.from_bytes(h[:8], "little")  # xet-core truncate_hash: the first u64 word


def build_dedup_shard(
    xorbs: Sequence[tuple[bytes, Sequence[tuple[bytes, int]]]],
    hmac_key: bytes,
    key_expiry: int,
    *,
    created: int | None = None,
) -> bytes:
    """The 200 reply of ``GET /v1/chunks/default/{hash}``: xorbs with their chunks.

    ``xorbs`` is ``(xorb hash, [(chunk hash, raw_len), ...])``. Chunk hashes are keyed with
    ``hmac_key`` (all zeros: left plain, as in xet-core), and the lookup tables the client
    searches are filled in (hf_xet 1.8.0 aborts the process on zeroed tables).
    """
    if len(hmac_key) != 32:
        raise ValueError("the HMAC key is 32 bytes")
    keyed = hmac_key != bytes(32)
    ordered = sorted(xorbs, key=lambda x: _WORDS.unpack(x[0]))  # xet-core's BTreeMap order
    parts = [_HEADER.pack(SHARD_TAG, SHARD_VERSION, FOOTER_BYTES), _BOOKEND]
    file_info_offset = _HEADER.size
    cas_info_offset = file_info_offset + ENTRY_BYTES
    xorb_lookup: list[tuple[int, int]] = []
    chunk_lookup: list[tuple[int, int, int]] = []
    stored = 0
    index = 0
    for xorb_hash, chunk_list in ordered:
        chunks = []
        raw_pos = 0
        for i, (chunk, raw_len) in enumerate(chunk_list):
            stored_hash = blake3(chunk, key=hmac_key).digest() if keyed else chunk
            chunks.append((stored_hash, raw_pos, raw_len))
            chunk_lookup.append((_lookup_key(stored_hash), index, i))
            raw_pos += raw_len
        xorb_lookup.append((_lookup_key(xorb_hash), index))
        parts += _xorb_entries(ShardXorbEntry(xorb_hash, tuple(chunks), raw_pos))
        index += 1 + len(chunks)
        stored += raw_pos
    parts.append(_BOOKEND)
    chunk_lookup.sort(key=lambda entry: entry[0])
    file_lookup_offset = cas_info_offset + ENTRY_BYTES * (index + 1)
    xorb_lookup_offset = file_lookup_offset  # no files
    chunk_lookup_offset = xorb_lookup_offset + _LOOKUP.size * len(xorb_lookup)
    footer_offset = chunk_lookup_offset + _CHUNK_LOOKUP.size * len(chunk_lookup)
    parts += [_LOOKUP.pack(*entry) for entry in xorb_lookup]
    parts += [_CHUNK_LOOKUP.pack(*entry) for entry in chunk_lookup]
    parts.append(
        _FOOTER.pack(
            FOOTER_VERSION,
            file_info_offset,
            cas_info_offset,
            file_lookup_offset,
            0,
            xorb_lookup_offset,
            len(xorb_lookup),
            chunk_lookup_offset,
            len(chunk_lookup),
            hmac_key,
            int(time.time()) if created is None else created,
            key_expiry,
            *([0] * 6),
            0,  # stored_bytes_on_disk: serialized sizes are not advertised
            0,  # materialized_bytes: no files
            stored,
            footer_offset,
        )
    )
    return b"".join(parts)
