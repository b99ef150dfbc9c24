"""The bundle archive: one tar, written and read as a stream (never held in memory).

Layout, in this order::

    bundle/manifest.json      canonical manifest bytes (what the signature covers)
    bundle/signature.json     {"algorithm": "ed25519", "key_id", "signature"}
    bundle/promotions.json    [{"payload": <canonical JSON text>, "signature": {...}}, ...]
    blobs/sha256/<sha256>     every pinned blob once, sorted by digest

The reader is push-based (``feed(chunk)``), so an HTTP upload and a file are read the same way.
It verifies the manifest signature and every promotion record *before* accepting any blob, accepts
only the member names above (no links, no other types, no path can be formed from a name), checks
each blob's size and sha256 as it streams, and refuses anything extra, missing, duplicated or cut
short.
"""

from __future__ import annotations

import hashlib
import json
import re
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from ...errors import IntegrityError, InvalidInputError, VaultError
from ...storage.blobs import BlobStore
from ...storage.records import BlobInfo
from ...strict_json import parse_json
from .errors import ArchiveInvalidError, SignatureInvalidError
from .manifest import BundleManifest, canonical_json
from .signing import Signature

BLOCK = 512
MANIFEST = "bundle/manifest.json"
SIGNATURE = "bundle/signature.json"
PROMOTIONS = "bundle/promotions.json"
_BLOB_RE = re.compile(r"^blobs/sha256/([0-9a-f]{64})$")
_LIMITS = {MANIFEST: 64 << 20, SIGNATURE: 4096, PROMOTIONS: 4 << 20}
_ORDER = (MANIFEST, SIGNATURE, PROMOTIONS)


# -- writing --
def _header(name: str, size: int, mtime: float) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = int(mtime)
    info.mode = 0o644
    info.type = tarfile.REGTYPE
    return info.tobuf(format=tarfile.GNU_FORMAT)


def _padding(size: int) -> bytes:
    return b"\0" * (-size % BLOCK)


def _small(name: str, data: bytes, mtime: float) -> Iterator[bytes]:
    yield _header(name, len(data), mtime) + data + _padding(len(data))


def promotions_json(entries: list[tuple[bytes, str]]) -> bytes:
    return canonical_json(
        [{"payload": payload.decode(), "signature": json.loads(sig)} for payload, sig in entries]
    )


def archive_size(
    manifest_bytes: bytes,
    signature_json: str,
    promotions: list[tuple[bytes, str]],
    blobs: dict[str, int],
) -> int:
    """The exact byte length of :func:`export_chunks` (sent as Content-Length)."""
    sizes = [len(manifest_bytes), len(signature_json.encode()), len(promotions_json(promotions))]
    sizes += list(blobs.values())
    return sum(BLOCK + n + (-n % BLOCK) for n in sizes) + 2 * BLOCK


def export_chunks(
    manifest_bytes: bytes,
    signature_json: str,
    promotions: list[tuple[bytes, str]],
    blobs: dict[str, int],
    store: BlobStore,
    mtime: float,
    chunk_size: int = 1 << 20,
) -> Iterator[bytes]:
    """The archive as chunks of at most ``chunk_size`` bytes (plus a header)."""
    yield from _small(MANIFEST, manifest_bytes, mtime)
    yield from _small(SIGNATURE, signature_json.encode(), mtime)
    yield from _small(PROMOTIONS, promotions_json(promotions), mtime)
    for sha, size in sorted(blobs.items()):
        yield _header(f"blobs/sha256/{sha}", size, mtime)
        sent = 0
        for chunk in store.iter_range(sha, 0, size, chunk_size):  # type: ignore[arg-type]
            sent += len(chunk)
            yield chunk
        if sent != size:
            raise IntegrityError(f"Stored blob {sha} is shorter than its recorded size.")
        yield _padding(size)
    yield b"\0" * (2 * BLOCK)


# -- reading --
class BlobSink(Protocol):
    def write(self, data: bytes | memoryview) -> None: ...
    def commit(
        self, expected_sha256: str | None = None, expected_size: int | None = None
    ) -> BlobInfo: ...
    def abort(self) -> None: ...


class HashSink:
    """Verifies a blob without storing it (offline ``bundle verify``)."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._size = 0

    def write(self, data: bytes | memoryview) -> None:
        self._hash.update(data)
        self._size += len(data)

    def commit(
        self, expected_sha256: str | None = None, expected_size: int | None = None
    ) -> BlobInfo:
        from ...errors import DigestMismatchError
        from ...ids import Sha256

        actual = self._hash.hexdigest()
        if expected_sha256 is not None and actual != expected_sha256:
            raise DigestMismatchError(
                f"Blob content hashes to {actual}, not {expected_sha256}.",
                expected=expected_sha256,
                actual=actual,
            )
        return BlobInfo(Sha256(actual), self._size)

    def abort(self) -> None:
        return None


Verifier = Callable[[bytes, Signature], None]


@dataclass
class VerifiedBundle:
    """What an archive proved: its manifest, signature, promotions, and the blobs it carried."""

    manifest: BundleManifest
    manifest_bytes: bytes
    signature: Signature
    promotions: list[tuple[bytes, str]]
    """``(payload, signature JSON)`` in sequence order."""
    blobs: list[BlobInfo] = field(default_factory=list)


def check_promotions(
    digest: str, entries: list[tuple[bytes, str]], verify: Verifier
) -> list[dict[str, Any]]:
    """Verify a chain of promotion records for the bundle ``digest``; returns their payloads.

    Each record names the bundle digest, its sequence number and the sha256 of the previous
    record, so a record replayed onto another bundle, reordered or dropped from the middle fails.
    """
    out: list[dict[str, Any]] = []
    previous: str | None = None
    for seq, (payload, sig_json) in enumerate(entries):
        try:
            data = parse_json(payload, len(payload), "A promotion record")
            sig = Signature.from_dict(parse_json(sig_json, len(sig_json), "A signature"))
        except ValueError:
            raise SignatureInvalidError("A promotion record is not valid JSON.") from None
        verify(payload, sig)
        if not isinstance(data, dict) or canonical_json(data) != payload:
            raise SignatureInvalidError("A promotion record is not canonical JSON.")
        if data.get("bundle") != digest:
            raise SignatureInvalidError(
                f"Promotion record {seq} belongs to another bundle (replayed)."
            )
        if data.get("seq") != seq or data.get("previous") != previous:
            raise SignatureInvalidError(f"Promotion record {seq} is out of sequence.")
        previous = hashlib.sha256(payload).hexdigest()
        out.append(data)
    return out


class ArchiveReader:
    """Push-based, verifying tar reader. Call :meth:`feed` with chunks, then :meth:`finish`."""

    def __init__(self, verify: Verifier, sink_for: Callable[[str, int], BlobSink]) -> None:
        self._verify = verify
        self._sink_for = sink_for
        self._buf = bytearray()
        self._state = "header"  # header | data | pad | end
        self._name = ""
        self._remaining = 0
        self._pad = 0
        self._small: bytearray | None = None
        self._sink: BlobSink | None = None
        self._small_parts: dict[str, bytes] = {}
        self._expected: dict[str, int] = {}
        self._received: set[str] = set()
        self._zero_blocks = 0
        self.result: VerifiedBundle | None = None
        self.bytes_read = 0
        self.failed: VaultError | None = None

    # -- pushing --
    def feed(self, data: bytes | memoryview) -> None:
        if self.failed is not None:
            raise self.failed
        try:
            self._feed(memoryview(data))
        except VaultError as exc:
            self._fail(exc)
            raise
        except (tarfile.TarError, ValueError, UnicodeDecodeError) as exc:
            err = ArchiveInvalidError(f"Malformed bundle archive: {exc}.")
            self._fail(err)
            raise err from None

    def _fail(self, exc: VaultError) -> None:
        self.failed = exc
        if self._sink is not None:
            self._sink.abort()
            self._sink = None

    def _feed(self, view: memoryview) -> None:
        self.bytes_read += len(view)
        pos = 0
        n = len(view)
        while pos < n:
            if self._state == "data":
                take = min(self._remaining, n - pos)
                part = view[pos : pos + take]
                if self._sink is not None:
                    self._sink.write(part)
                else:
                    assert self._small is not None
                    self._small += part
                pos += take
                self._remaining -= take
                if self._remaining == 0:
                    self._end_member()
            elif self._state == "pad":
                take = min(self._pad, n - pos)
                pos += take
                self._pad -= take
                if self._pad == 0:
                    self._state = "header"
            elif self._state == "header":
                take = min(BLOCK - len(self._buf), n - pos)
                self._buf += view[pos : pos + take]
                pos += take
                if len(self._buf) == BLOCK:
                    block = bytes(self._buf)
                    self._buf.clear()
                    self._header(block)
            else:  # end: only zero padding may follow
                if any(view[pos:]):
                    raise ArchiveInvalidError("Data after the end of the bundle archive.")
                pos = n

    def _header(self, block: bytes) -> None:
        if not any(block):
            self._zero_blocks += 1
            if self._zero_blocks == 2:
                self._state = "end"
            return
        if self._zero_blocks:
            raise ArchiveInvalidError("Malformed bundle archive: an empty block inside it.")
        info = tarfile.TarInfo.frombuf(block, "utf-8", "strict")
        if info.type not in (tarfile.REGTYPE, tarfile.AREGTYPE):
            raise ArchiveInvalidError(
                f"Unexpected archive member {info.name[:120]!r}: only regular files are allowed."
            )
        self._start_member(info.name, info.size)

    def _start_member(self, name: str, size: int) -> None:
        self._name, self._remaining, self._pad = name, size, -size % BLOCK
        done = len(self._small_parts)
        if done < len(_ORDER):
            if name != _ORDER[done]:
                raise ArchiveInvalidError(
                    f"Unexpected archive member {name[:120]!r}: expected {_ORDER[done]}."
                )
            if size > _LIMITS[name]:
                raise ArchiveInvalidError(f"Archive member {name} is too large.")
            self._small = bytearray()
        else:
            m = _BLOB_RE.match(name)
            if m is None:
                raise ArchiveInvalidError(f"Unexpected archive member {name[:120]!r}.")
            sha = m.group(1)
            if sha not in self._expected:
                raise ArchiveInvalidError(f"Archive member {name} is not part of the bundle.")
            if sha in self._received:
                raise ArchiveInvalidError(f"Archive member {name} appears twice.")
            if size != self._expected[sha]:
                raise ArchiveInvalidError(
                    f"Archive member {name} has {size} bytes; the manifest says "
                    f"{self._expected[sha]}."
                )
            self._sink = self._sink_for(sha, size)
        self._state = "data"
        if size == 0:
            self._end_member()

    def _end_member(self) -> None:
        self._state = "pad" if self._pad else "header"
        if self._sink is not None:
            sink, self._sink = self._sink, None
            sha = self._name.rsplit("/", 1)[1]
            info = sink.commit(sha, self._expected[sha])
            self._received.add(sha)
            assert self.result is not None
            self.result.blobs.append(info)
            return
        assert self._small is not None
        self._small_parts[self._name] = bytes(self._small)
        self._small = None
        if len(self._small_parts) == len(_ORDER):
            self._verify_head()

    def _verify_head(self) -> None:
        """Signature, manifest and promotions: all checked before the first blob is read."""
        raw = self._small_parts[MANIFEST]
        try:
            sig = Signature.from_dict(_strict(self._small_parts[SIGNATURE]))
            promotions_raw = _strict(self._small_parts[PROMOTIONS])
        except ValueError:
            raise SignatureInvalidError("The bundle signature is not valid JSON.") from None
        self._verify(raw, sig)
        try:
            manifest = BundleManifest.from_dict(_strict(raw))
        except ValueError as exc:  # includes InvalidInputError
            msg = exc.message if isinstance(exc, InvalidInputError) else str(exc)
            raise ArchiveInvalidError(f"Invalid manifest: {msg}") from None
        if manifest.canonical() != raw:
            raise ArchiveInvalidError("The manifest is not in canonical form.")
        if not isinstance(promotions_raw, list) or not all(
            isinstance(p, dict) and isinstance(p.get("payload"), str) for p in promotions_raw
        ):
            raise ArchiveInvalidError("Malformed promotion records.")
        entries = [(p["payload"].encode(), json.dumps(p.get("signature"))) for p in promotions_raw]
        check_promotions(manifest.digest, entries, self._verify)
        self._expected = manifest.blobs()
        self.result = VerifiedBundle(manifest, raw, sig, entries)

    def finish(self) -> VerifiedBundle:
        """The verified bundle, once the whole archive arrived. Raises ArchiveInvalidError."""
        if self.failed is not None:
            raise self.failed
        if self._state != "end" or self.result is None:
            self._fail(ArchiveInvalidError("The bundle archive is truncated."))
            assert self.failed is not None
            raise self.failed
        missing = set(self._expected) - self._received
        if missing:
            err = ArchiveInvalidError(
                f"The archive lacks {len(missing)} blob(s) of the bundle, e.g. {min(missing)}."
            )
            self._fail(err)
            raise err
        return self.result

    def abort(self) -> None:
        if self._sink is not None:
            self._sink.abort()
            self._sink = None


def _strict(part: bytes) -> Any:
    """A JSON part of an uploaded archive (already bounded in size): finite numbers, bounded
    nesting; InvalidInputError (a ValueError) otherwise."""
    return parse_json(part, len(part), "A bundle archive part")
