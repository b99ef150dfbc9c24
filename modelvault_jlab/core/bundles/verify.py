"""Offline verification of an exported bundle archive: no vault, only trusted public keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .archive import ArchiveReader, HashSink
from .errors import UntrustedKeyError
from .signing import Signature, verify_with

CHUNK = 1 << 20


def verify_archive(path: str | Path, keys: dict[str, bytes]) -> dict[str, Any]:
    """Verify an exported archive offline: signature, promotions, every blob's digest.

    ``keys`` maps key ids to raw public keys; an archive signed by any other key is refused.
    """

    def verify(data: bytes, sig: Signature) -> None:
        public = keys.get(sig.key_id)
        if public is None:
            raise UntrustedKeyError(f"The archive is signed by key {sig.key_id}, not given.")
        verify_with(public, data, sig)

    reader = ArchiveReader(verify, lambda sha, size: HashSink())
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            reader.feed(chunk)
    result = reader.finish()
    return {
        "name": result.manifest.name,
        "version": result.manifest.version,
        "digest": result.manifest.digest,
        "key_id": result.signature.key_id,
        "blobs": len(result.blobs),
        "promotions": len(result.promotions),
        "ok": True,
    }
