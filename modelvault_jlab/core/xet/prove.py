"""The real sha256 of a Xet file a shard registers, in one sequential pass over its chunks.

A shard's sha256 is only a claim, so every new file is read back from its stored xorbs and hashed
before it is registered. That pass is on the upload's critical path (the client waits for the
shard's answer), so it reads each term's serialized span in large pieces into one reusable
buffer and hashes uncompressed chunks straight from it: no copy per chunk, one decode per
compressed chunk. (:func:`.assemble.iter_file` serves ranges and yields ``bytes``; it copies.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from ...ids import Sha256
from ...storage.blobs import BlobStore
from ...storage.meta import XetStore
from ...storage.records import XetTermRecord, XorbChunkRecord
from .assemble import XetContentError, _Terms, decoded_chunk
from .xorb import CHUNK_HEADER_BYTES, MAX_COMPRESSED_CHUNK_BYTES

PROVE_PIECE_BYTES = 1 << 20
"""Serialized bytes read at a time (whole chunks; a piece holds at least one)."""


def file_sha256(meta: XetStore, blobs: BlobStore, terms: Sequence[XetTermRecord]) -> Sha256:
    """sha256 of the file made of ``terms``. Blocking: call it from a worker thread.

    Raises:
        XetContentError: a xorb is missing, short, or does not hold what its rows say.
    """
    digest = hashlib.sha256()
    lookup = _Terms(meta)
    buffer = bytearray(max(PROVE_PIECE_BYTES, CHUNK_HEADER_BYTES + MAX_COMPRESSED_CHUNK_BYTES))
    for term in terms:
        chunks = lookup.chunks(term)
        with blobs.open_reader(lookup.blob_of(term)) as reader:
            reader.seek(chunks[0].ser_start)
            i = 0
            while i < len(chunks):
                j = _piece_end(chunks, i, len(buffer))
                base = chunks[i].ser_start
                view = memoryview(buffer)[: chunks[j - 1].ser_end - base]
                _read_exactly(reader, view, term.xorb_hash)
                for ch in chunks[i:j]:
                    raw = decoded_chunk(
                        view[ch.ser_start - base : ch.ser_end - base], ch, term.xorb_hash
                    )
                    digest.update(raw)
                i = j
    return Sha256(digest.hexdigest())


def _piece_end(chunks: Sequence[XorbChunkRecord], i: int, room: int) -> int:
    """The end of the run of contiguous chunks from ``i`` whose serialized bytes fit ``room``."""
    base, j = chunks[i].ser_start, i
    while j < len(chunks) and chunks[j].ser_end - base <= room:
        if j > i and chunks[j].ser_start != chunks[j - 1].ser_end:
            raise XetContentError("Chunks of a xorb are not contiguous.")
        j += 1
    if j == i:
        raise XetContentError(f"Chunk {chunks[i].index} of a xorb is larger than a chunk can be.")
    return j


def _read_exactly(reader: object, view: memoryview, xorb_hash: str) -> None:
    got = 0
    while got < len(view):
        n = reader.readinto(view[got:])  # type: ignore[attr-defined]  # binary files have it
        if not n:
            raise XetContentError(f"Xorb {xorb_hash} is shorter than its chunks.")
        got += n
