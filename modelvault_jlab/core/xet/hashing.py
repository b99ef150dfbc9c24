"""Xet hashes: chunk hashes, the merkle tree of xorbs and files, and the hash string form.

Everything here is byte-for-byte what xet-core computes (``merklehash/data_hash.rs``,
``merklehash/aggregated_hashes.rs``, ``metadata_shard/chunk_verification.rs``). A hash is 32
bytes; xet-core reads them as four little-endian u64 words, which is why the string form is not
``bytes.hex()``.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence

import numpy as np
from blake3 import blake3

DATA_KEY = bytes(
    [
        102, 151, 245, 119, 91, 149, 80, 222, 49, 53, 203, 172, 165, 151, 24, 28,
        157, 228, 33, 16, 155, 235, 43, 88, 180, 208, 176, 75, 147, 173, 242, 41,
    ]
)  # fmt: skip
INTERNAL_NODE_KEY = bytes(
    [
        1, 126, 197, 199, 165, 71, 41, 150, 253, 148, 102, 102, 180, 138, 2, 230,
        93, 221, 83, 111, 55, 199, 109, 210, 248, 99, 82, 230, 74, 83, 113, 63,
    ]
)  # fmt: skip
VERIFICATION_KEY = bytes(
    [
        127, 24, 87, 214, 206, 86, 237, 102, 18, 127, 249, 19, 231, 165, 195, 243,
        164, 205, 38, 213, 181, 219, 73, 230, 65, 36, 152, 127, 40, 251, 148, 195,
    ]
)  # fmt: skip
ZERO_HASH = bytes(32)
# Copying a keyed hasher is cheaper than keying a new one (about 0.5 us of ~2 us per node).
_DATA_HASHER = blake3(key=DATA_KEY)
_NODE_HASHER = blake3(key=INTERNAL_NODE_KEY)
_FILE_KEY = bytes(32)  # file hash = the merkle root keyed with an all-zero salt

_WORDS = struct.Struct("<4Q")
_HASH_STRING = re.compile(r"[0-9a-f]{64}")
_HEX_DIGITS = re.compile(r"[0-9a-f]*")
# xet-core merges 2..9 nodes per parent, cutting after a node whose last word is 0 mod 4.
_MAX_GROUP = 9
_BRANCHING = 4


def hash_to_string(h: bytes) -> str:
    """The string form used in URLs, JSON and merkle node text: 4 times ``%016x`` of LE u64 words."""
    if len(h) != 32:
        raise ValueError(f"a Xet hash is 32 bytes, got {len(h)}")
    return "{:016x}{:016x}{:016x}{:016x}".format(*_WORDS.unpack(h))


def string_to_hash(s: str) -> bytes:
    """Inverse of :func:`hash_to_string`; exactly 64 lowercase hex digits."""
    if not isinstance(s, str) or _HASH_STRING.fullmatch(s) is None:
        raise ValueError("a Xet hash string is exactly 64 lowercase hex digits")
    return _WORDS.pack(*(int(s[i : i + 16], 16) for i in range(0, 64, 16)))


def strings_to_hashes(strings: Sequence[str]) -> list[bytes]:
    """:func:`string_to_hash` of many at once (one hex decode and one byte swap for all: a shard
    check converts a chunk hash per 64 KiB of every file)."""
    joined = "".join(strings)
    if any(len(s) != 64 for s in strings) or _HEX_DIGITS.fullmatch(joined) is None:
        raise ValueError("a Xet hash string is exactly 64 lowercase hex digits")
    words = np.frombuffer(bytes.fromhex(joined), dtype=">u8").astype("<u8").tobytes()
    return [words[i : i + 32] for i in range(0, len(words), 32)]


def chunk_hash(data: bytes | memoryview) -> bytes:
    """The hash of one uncompressed chunk."""
    hasher = _DATA_HASHER.copy()
    hasher.update(data)
    return hasher.digest()


def _node_lines(hashes: Sequence[bytes], sizes: Sequence[int]) -> list[bytes]:
    """The ``"{hash string} : {size}\\n"`` line of every node (one struct round trip per level)."""
    n = len(hashes)
    words = struct.unpack(f"<{4 * n}Q", b"".join(hashes))
    text = struct.pack(f">{4 * n}Q", *words).hex()
    return [f"{text[64 * i : 64 * i + 64]} : {sizes[i]}\n".encode() for i in range(n)]


def _groups(hashes: Sequence[bytes]) -> list[tuple[int, int]]:
    """xet-core ``next_merge_cut`` applied left to right: ``[start, end)`` of each parent."""
    n = len(hashes)
    # u64_le(hash[24:32]) % 4 == 0 depends only on the lowest byte of that word
    natural = [h[24] % _BRANCHING == 0 for h in hashes]
    groups = []
    start = 0
    while start < n:
        if n - start <= 2:
            end = n
        else:
            limit = min(_MAX_GROUP, n - start)
            end = start + limit
            for i in range(start + 2, start + limit):
                if natural[i]:
                    end = i + 1
                    break
        groups.append((start, end))
        start = end
    return groups


def _node_hash(text: bytes) -> bytes:
    hasher = _NODE_HASHER.copy()
    hasher.update(text)
    return hasher.digest()


def merkle_root(nodes: Sequence[tuple[bytes, int]]) -> bytes:
    """xet-core's aggregated node hash of ``(hash, size)`` pairs in order; ``[]`` -> zeros."""
    if not nodes:
        return ZERO_HASH
    hashes = [h for h, _ in nodes]
    sizes = [s for _, s in nodes]
    if any(len(h) != 32 for h in hashes):
        raise ValueError("a Xet hash is 32 bytes")
    while len(hashes) > 1:
        lines = _node_lines(hashes, sizes)
        groups = _groups(hashes)
        hashes = [blake3(b"".join(lines[i:j]), key=INTERNAL_NODE_KEY).digest() for i, j in groups]
        sizes = [sum(sizes[i:j]) for i, j in groups]
    return hashes[0]


def file_hash(chunks: Sequence[tuple[bytes, int]]) -> bytes:
    """The file hash: the merkle root of all its chunks, keyed with 32 zero bytes; ``[]`` -> zeros."""
    return file_hash_with_salt(chunks, _FILE_KEY)


def file_hash_with_salt(chunks: Sequence[tuple[bytes, int]], salt: bytes) -> bytes:
    """xet-core ``file_hash_with_salt`` (the salt is a 32-byte blake3 key)."""
    if not chunks:
        return ZERO_HASH
    return blake3(merkle_root(chunks), key=salt).digest()


def verification_hash(chunk_hashes: Sequence[bytes]) -> bytes:
    """A shard term's range hash: the raw chunk hashes of the range, concatenated and keyed."""
    return blake3(b"".join(chunk_hashes), key=VERIFICATION_KEY).digest()


def sha256_from_hash_layout(h: bytes) -> str:
    """The sha256 a shard stores (in hash layout, 4 LE words) as the standard hex digest."""
    return hash_to_string(h)


def sha256_to_hash_layout(hex_digest: str) -> bytes:
    """Inverse of :func:`sha256_from_hash_layout` (for building shards)."""
    return string_to_hash(hex_digest)
