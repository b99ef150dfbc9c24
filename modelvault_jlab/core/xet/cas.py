"""The Xet CAS write side: write tokens, xorb uploads, shard uploads, global-dedup queries.

Trust, in the order a client meets it:

- A **write token** is granted to whoever may write the Hub repo (the LFS and commit rule).
- A **xorb** is verified as it streams in (chunk hashes, then merkle root = its name) and is
  published as an ordinary blob only once it verified; its chunks become rows, and the
  repository it was uploaded into is recorded.
- A **shard** is a list of claims. Every term must name a xorb uploaded into the token's
  repository (so a file can only be assembled from bytes someone with write access there sent),
  its chunk range, length and verification hash must match the stored chunks, and the file hash
  must be the merkle hash of all of them. Its sha256 is only a claim: each file is assembled from
  the stored xorbs and hashed, and the file is registered only when the real sha256 equals the
  claim — then scanned like an LFS upload, so the gate has a verdict before any byte is served.
  Nothing of a shard is registered unless every file in it passed.
- **Dedup** answers only from xorbs uploaded into the token's repository, with a fresh HMAC key.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from ...errors import InvalidInputError, PayloadTooLargeError
from ...ids import Sha256
from ...storage.meta import MetadataStore
from ...storage.records import (
    BlobInfo,
    XetFileRecord,
    XetTermRecord,
    XorbChunkRecord,
    XorbRecord,
)
from ..audit import AuditLog
from ..content import ContentStore
from ..governance.gate import Gate
from ..holdings import BlobHoldings
from ..hub.read import HubService
from ..hub.refs import HubRef
from ..identity import Principal
from .assemble import open_terms
from .hashing import (
    file_hash,
    hash_to_string,
    string_to_hash,
    strings_to_hashes,
    verification_hash,
)
from .prove import file_sha256
from .shard import ShardFile, UploadShard, build_dedup_shard, parse_upload_shard
from .tokens import XetGrant, XetTokens
from .xorb import MAX_SERIALIZED_XORB_BYTES, XorbVerifier

MAX_SHARD_BYTES = 64 * 1024 * 1024
"""Largest shard body (hf_xet cuts shards at 64 MiB)."""
MAX_SHARD_FILES = 100_000
MAX_SHARD_TERMS = 1_000_000
MAX_SHARD_CHUNKS = 1 << 22
"""Chunk rows one shard check may read plus chunks its terms may cover (≈ 256 GiB of files at
64 KiB a chunk): bounds the database reads, hashing and reassembly one request causes."""
MAX_SHARD_XORBS = 100_000
"""Distinct xorbs one shard may name (≈ 6 TiB of them)."""
_CACHED_XORBS = 64
"""Xorbs whose chunk lists a shard check keeps (terms of one file often share a xorb)."""
PROVE_PARALLEL = 2
"""Files of one shard read back, hashed and scanned at once (sha256 and reads release the GIL:
two keep both cores busy on a shard of many files; one big file is one sequential pass)."""
MAX_DEDUP_XORBS = 64
"""Xorbs one dedup answer lists (up to ~4 GiB of content, a shard of about 3 MiB): bounded work
per query whatever the repository holds."""

ShardProgress = Callable[[str, int, int], None]
"""``(stage, done, total)``: ``validating`` per file checked, then ``committing``."""


@dataclass(frozen=True)
class ShardOutcome:
    files: tuple[XetFileRecord, ...]
    new_files: int
    """Files this shard registered for the first time (0: it was all known already)."""


class XetCas:
    def __init__(
        self,
        meta: MetadataStore,
        content: ContentStore,
        hub: HubService,
        gate: Gate | None,
        holdings: BlobHoldings,
        audit: AuditLog,
        tokens: XetTokens,
        clock: Callable[[], float] = time.time,
        dedup_key_seconds: int = 600,
    ) -> None:
        self._meta = meta
        self._content = content
        self._hub = hub
        self._gate = gate
        self._holdings = holdings
        self._audit = audit
        self.tokens = tokens
        self._clock = clock
        self._dedup_key_seconds = dedup_key_seconds

    # -- tokens --
    def write_token(
        self, who: Principal, ref: HubRef, revision: str, *, create_pr: bool = False
    ) -> tuple[str, int]:
        """A write token for the repo (``create_pr``: for a pull request to be opened by the
        commit). Raises RepoNotFoundError, PermissionDeniedError (as an LFS batch would)."""
        self._hub.repo_for(who, ref, "write")
        if len(revision) > 255:
            raise InvalidInputError("Revision name too long.")
        return self.tokens.issue(
            ref.repository,
            ref.repo_type,
            ref.repo_id,
            "" if create_pr else revision,
            "write",
            who=who.name,
        )

    # -- xorbs --
    def xorb_upload(self, grant: XetGrant, xorb_hash: str) -> XorbUpload:
        """A xorb about to arrive in pieces (see :class:`XorbUpload`).

        Raises:
            InvalidInputError: a malformed hash.
        """
        return XorbUpload(self._meta, self._content, grant.repository, xorb_hash)

    def put_xorb(self, grant: XetGrant, xorb_hash: str, body: bytes | memoryview) -> bool:
        """Verify and store a whole xorb; True if it was new. Blocking (hashes every chunk):
        call it from a worker thread.

        Raises:
            InvalidInputError: a malformed hash, or bytes that are not a xorb of that hash.
            PayloadTooLargeError: over the xorb size limit.
        """
        if len(body) > MAX_SERIALIZED_XORB_BYTES:
            raise PayloadTooLargeError(
                f"Xorb of {len(body)} bytes is over the limit of {MAX_SERIALIZED_XORB_BYTES}."
            )
        upload = self.xorb_upload(grant, xorb_hash)
        try:
            upload.write(body)
            return upload.finish()
        finally:
            upload.abort()  # no-op once finished

    # -- shards --
    async def put_shard(
        self, grant: XetGrant, body: bytes | memoryview, progress: ShardProgress | None = None
    ) -> ShardOutcome:
        """Verify a shard, prove each file's sha256 from the stored bytes, scan and register.

        Raises:
            InvalidInputError: a malformed shard, a term naming a xorb not uploaded into this
                repository, a range, length, verification or file hash that does not match, or
                a sha256 claim the content does not have. Nothing is registered then.
            PayloadTooLargeError: over the shard size limit.
        """
        report = progress or (lambda stage, done, total: None)
        if len(body) > MAX_SHARD_BYTES:
            raise PayloadTooLargeError(
                f"Shard of {len(body)} bytes is over the limit of {MAX_SHARD_BYTES}."
            )
        files = await asyncio.to_thread(self._checked_files, grant, body)
        total, proved = len(files), 0
        pending = iter(files)

        async def prove() -> None:
            # Each file: its real sha256 first, then the scan (a verdict is stored under that
            # sha256, so it must be the content's, never a claim).
            nonlocal proved
            for record in pending:
                real = await asyncio.to_thread(self._sha256_of, record)
                if real != record.sha256:
                    raise InvalidInputError(
                        f"Shard file {record.file_hash} claims sha256 {record.sha256}, but its "
                        f"content has sha256 {real}: nothing was registered."
                    )
                proved += 1
                report("validating", proved, total)
                if self._gate is not None:  # a verdict before any byte is served, as for LFS
                    await self._gate.scan_async(record.sha256, source=self._opener(record))

        workers = [asyncio.ensure_future(prove()) for _ in range(min(PROVE_PARALLEL, total))]
        try:
            await asyncio.gather(*workers)
        except BaseException:
            for worker in workers:
                worker.cancel()
            raise
        report("committing", 0, total)
        new = 0
        for record in files:
            new += self._meta.xet_file(record.file_hash) is None
            self._meta.put_xet_file(record, grant.repository)
            self._meta.register_blob(BlobInfo(record.sha256, record.size))
            self._holdings.uploaded(grant.repository, record.sha256)
        report("committing", total, total)
        self._audit.record(
            _uploader(grant),
            "xet.upload",
            repository=grant.repository,
            subject=f"{grant.repo_type}s/{grant.repo_id}",
            files=[r.sha256 for r in files][:1000],
            size=sum(r.size for r in files),
        )
        return ShardOutcome(tuple(files), new)

    def _opener(self, record: XetFileRecord) -> Callable[[], BinaryIO]:
        return lambda: open_terms(self._meta, self._content.blobs, record.terms)

    def _sha256_of(self, record: XetFileRecord) -> Sha256:
        return file_sha256(self._meta, self._content.blobs, record.terms)

    def _checked_files(self, grant: XetGrant, body: bytes | memoryview) -> list[XetFileRecord]:
        try:
            shard = parse_upload_shard(body, max_files=MAX_SHARD_FILES, max_terms=MAX_SHARD_TERMS)
        except ValueError as exc:
            raise InvalidInputError(f"Invalid shard: {exc}") from None
        return _ShardCheck(self._meta, grant.repository).files(shard)

    # -- dedup --
    def dedup_query(self, grant: XetGrant, chunk_hash: str) -> bytes | None:
        """The dedup shard for a chunk stored in the token's repository, or None (404).

        hf_xet asks only for a file's first chunk and about one chunk in 1,024, and learns only
        the chunks of the xorbs the answer lists. So the answer lists, besides the xorb holding
        the chunk, the other xorbs of the files that use it (as the Hub answers with the whole
        shard that registered the chunk): one hit on a new version's first chunk then covers the
        whole previous version, not one 64 MiB xorb of it."""
        key = _hash(chunk_hash, "chunk")
        found = self._meta.dedup_chunk(hash_to_string(key), [grant.repository])
        if found is None:
            return None
        xorb_hash, _ = found
        xorbs = [
            xorb_hash,
            *self._meta.sibling_xorbs(xorb_hash, grant.repository, MAX_DEDUP_XORBS - 1),
        ]
        return build_dedup_shard(
            [
                (
                    string_to_hash(name),
                    [
                        (string_to_hash(c.chunk_hash), c.raw_len)
                        for c in self._meta.xorb_chunks(name)
                    ],
                )
                for name in xorbs
            ],
            secrets.token_bytes(32),
            int(self._clock()) + self._dedup_key_seconds,
        )


class XorbUpload:
    """One xorb arriving in pieces: its bytes go to a blob writer's temp file and through an
    incremental verifier (chunk headers, bounded decoding, chunk hashes) as they come, so memory
    is a partial chunk whatever the xorb's size. Nothing is visible until :meth:`finish` checked
    the merkle root: then the blob is published (unless the xorb is stored already) and the
    xorb's chunks recorded for the repository. :meth:`abort` leaves nothing behind.

    A producer either calls :meth:`write` per piece, or feeds :attr:`writer` through an ingest
    pipeline with this object among its digests (:meth:`update` only verifies). One feeder.
    """

    def __init__(
        self, meta: MetadataStore, content: ContentStore, repository: str, xorb_hash: str
    ) -> None:
        self._verifier = XorbVerifier(_hash(xorb_hash, "xorb"))
        self._meta = meta
        self._content = content
        self._repository = repository
        self.name = xorb_hash
        self.writer = content.writer()
        self.error: InvalidInputError | None = None
        """Why the bytes were refused (kept: a pipeline stopped by it reports only that it
        stopped)."""

    def update(self, data: bytes | memoryview) -> None:
        """Verify the next piece (the writer is fed separately)."""
        if self.error is not None:
            raise self.error
        try:
            self._verifier.update(data)
        except ValueError as exc:
            self.error = InvalidInputError(f"Invalid xorb {self.name}: {exc}")
            raise self.error from None

    def write(self, data: bytes | memoryview) -> None:
        """Verify and store the next piece. Blocking."""
        self.update(data)
        self.writer.write(data)

    def finish(self) -> bool:
        """Check the whole xorb and publish it; True if it was new. Blocking.

        Raises:
            InvalidInputError: the bytes are not a xorb of that hash (nothing is published).
        """
        try:
            verified = self._verifier.finish()
        except ValueError as exc:
            raise InvalidInputError(f"Invalid xorb {self.name}: {exc}") from None
        name = hash_to_string(verified.hash)
        known = self._meta.get_xorb(name)
        if known is not None and self._content.known(known.blob_sha256) is not None:
            self.writer.abort()
            blob = BlobInfo(known.blob_sha256, known.serialized_len)
        else:
            blob = self._content.finish(self.writer)
        record = XorbRecord(
            name, blob.sha256, verified.serialized_len, verified.raw_len, len(verified.chunks)
        )
        chunks = [
            XorbChunkRecord(
                i, hash_to_string(c.hash), c.raw_start, c.raw_len, c.ser_start, c.ser_end
            )
            for i, c in enumerate(verified.chunks)
        ]
        return self._meta.put_xorb(record, chunks, self._repository)

    def abort(self) -> None:
        """Discard the bytes received (idempotent; a no-op after :meth:`finish`)."""
        self.writer.abort()


class _ShardCheck:
    """Checks one shard's claims against the stored xorbs of one repository."""

    def __init__(self, meta: MetadataStore, repository: str) -> None:
        self._meta = meta
        self._repository = repository
        self._xorbs: dict[str, XorbRecord] = {}
        self._chunks: OrderedDict[str, tuple[list[XorbChunkRecord], list[bytes]]] = OrderedDict()
        self._budget = MAX_SHARD_CHUNKS

    def files(self, shard: UploadShard) -> list[XetFileRecord]:
        records = [self._file(n, f) for n, f in enumerate(shard.files)]
        for entry in shard.xorbs:
            name = hash_to_string(entry.xorb_hash)
            xorb = self._xorb(name, f"CAS entry {name}")
            stored = self._all_chunks(name)
            listed = [(hash_to_string(h), start, size) for h, start, size in entry.chunks]
            if listed != [(c.chunk_hash, c.raw_start, c.raw_len) for c in stored]:
                raise InvalidInputError(
                    f"CAS entry {name}: its chunk list does not match the stored xorb."
                )
            if entry.num_bytes_in_cas != xorb.raw_len:
                raise InvalidInputError(
                    f"CAS entry {name}: {entry.num_bytes_in_cas} bytes stated, the xorb holds "
                    f"{xorb.raw_len}."
                )
        return records

    def _file(self, n: int, f: ShardFile) -> XetFileRecord:
        where = f"Shard file {n} ({hash_to_string(f.file_hash)})"
        if f.sha256 is None:
            raise InvalidInputError(f"{where} has no sha256.")
        nodes: list[tuple[bytes, int]] = []
        terms: list[XetTermRecord] = []
        for i, t in enumerate(f.terms):
            name = hash_to_string(t.xorb_hash)
            at = f"{where}, term {i}"
            xorb = self._xorb(name, at)
            if not 0 <= t.start < t.end <= xorb.n_chunks:
                raise InvalidInputError(
                    f"{at}: chunk range [{t.start}, {t.end}) is outside xorb {name} "
                    f"({xorb.n_chunks} chunks)."
                )
            self._spend(t.end - t.start)
            chunks = self._all_chunks(name)[t.start : t.end]
            size = sum(c.raw_len for c in chunks)
            if size != t.unpacked:
                raise InvalidInputError(
                    f"{at}: states {t.unpacked} bytes, chunks [{t.start}, {t.end}) of xorb {name} "
                    f"hold {size}."
                )
            hashes = self._hashes(name)[t.start : t.end]
            if verification_hash(hashes) != t.range_hash:
                raise InvalidInputError(f"{at}: the verification hash does not match the chunks.")
            nodes.extend(zip(hashes, (c.raw_len for c in chunks), strict=True))
            terms.append(XetTermRecord(name, t.start, t.end, t.unpacked))
        if file_hash(nodes) != f.file_hash:
            raise InvalidInputError(f"{where}: the file hash does not match its chunks.")
        return XetFileRecord(
            hash_to_string(f.file_hash),
            Sha256(f.sha256),
            sum(t.unpacked for t in terms),
            tuple(terms),
        )

    def _xorb(self, name: str, where: str) -> XorbRecord:
        if name in self._xorbs:
            return self._xorbs[name]
        if len(self._xorbs) >= MAX_SHARD_XORBS:
            raise InvalidInputError(f"The shard names more than {MAX_SHARD_XORBS} xorbs: split it.")
        xorb = self._meta.get_xorb(name)
        if xorb is None or not self._meta.xorb_uploaded_to(name, self._repository):
            raise InvalidInputError(
                f"{where}: xorb {name} was not uploaded to this repository; upload it first."
            )
        self._xorbs[name] = xorb
        return xorb

    def _spend(self, chunks: int) -> None:
        """Count chunk rows read or hashed: a shard whose checks would exceed the budget (say,
        a million one-chunk terms over xorbs that evict each other) is refused, not served."""
        self._budget -= chunks
        if self._budget < 0:
            raise InvalidInputError(
                f"Checking this shard needs more than {MAX_SHARD_CHUNKS} chunks: split it."
            )

    def _all_chunks(self, name: str) -> list[XorbChunkRecord]:
        return self._cached(name)[0]

    def _hashes(self, name: str) -> list[bytes]:
        """The chunk hashes of a xorb as bytes (converted once per xorb, not per term)."""
        return self._cached(name)[1]

    def _cached(self, name: str) -> tuple[list[XorbChunkRecord], list[bytes]]:
        if name in self._chunks:
            self._chunks.move_to_end(name)
            return self._chunks[name]
        self._spend(self._xorbs[name].n_chunks)  # _xorb(name) was checked first
        chunks = self._meta.xorb_chunks(name)
        entry = chunks, strings_to_hashes([c.chunk_hash for c in chunks])
        self._chunks[name] = entry
        if len(self._chunks) > _CACHED_XORBS:
            self._chunks.popitem(last=False)
        return entry


def _hash(text: str, what: str) -> bytes:
    try:
        return string_to_hash(text)
    except ValueError:
        raise InvalidInputError(f"Invalid {what} hash {text[:80]!r}: expected 64 hex.") from None


def _uploader(grant: XetGrant) -> Principal:
    # CAS calls carry a Xet token, not a vault token: the grant names who it was issued to.
    return Principal(name=grant.who or "xet-token", scope="write", kind="system")
