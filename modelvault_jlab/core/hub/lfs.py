"""Git LFS uploads: batch negotiation, pre-authorised upload grants, multipart assembly.

The Hub client sends LFS ``PUT``s (and multipart part ``PUT``s and the completion ``POST``) without
its ``Authorization`` header, so each upload URL carries its own credential: an HMAC over
(repository, oid, size, expiry, token id) with a key kept in metadata, valid only for that one
object and only while the token it was granted to is neither revoked nor expired.

A batch answers "already stored, nothing to upload" only when the caller may reuse the stored
blob (:mod:`.holdings`); otherwise it asks for the bytes, so the batch reveals nothing about
blobs in repositories the caller cannot read.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from ...errors import AuthenticationError, BlobNotFoundError, InvalidInputError, NotFoundError
from ...ids import Sha256, validate_sha256
from ...storage.ingest import IngestPipeline
from ...storage.meta import MetadataStore
from ...storage.records import BlobInfo
from ..audit import AuditLog
from ..content import ContentStore
from ..holdings import BlobHoldings
from ..identity import Principal, require_live
from .read import HubService
from .refs import HubRef

MAX_BATCH_OBJECTS = 1000
"""Objects per batch request (huggingface_hub sends 256, git-lfs 100): the work and the answer of
one request stay bounded."""
MAX_PARTS = 10_000
"""Parts of one multipart upload, as in S3, and part URLs in one batch answer: larger (or more)
objects get larger parts, never more URLs."""
DEFAULT_MAX_OBJECT_BYTES = 50 * 10**9
"""The Hub's per-file limit."""


@dataclass(frozen=True)
class UploadGrant:
    """Permission to upload one object into one repository until ``expires_at``."""

    repository: str
    oid: Sha256
    size: int
    expires_at: int
    signature: str
    part_size: int | None
    token_id: str = ""
    """The token the URL was granted to ('' for a host login, e.g. Jupyter's)."""

    @property
    def part_count(self) -> int | None:
        if self.part_size is None:
            return None
        return max(1, -(-self.size // self.part_size))


@dataclass(frozen=True)
class BatchResult:
    oid: str
    size: int
    grant: UploadGrant | None  # None: already stored, nothing to upload


class LfsService:
    def __init__(
        self,
        meta: MetadataStore,
        content: ContentStore,
        hub: HubService,
        audit: AuditLog,
        holdings: BlobHoldings,
        *,
        multipart_threshold_bytes: int,
        part_size_bytes: int,
        grant_ttl_seconds: int = 24 * 3600,
        max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._meta = meta
        self._content = content
        self._hub = hub
        self._audit = audit
        self._holdings = holdings
        self._multipart_threshold = multipart_threshold_bytes
        self._part_size = part_size_bytes
        self._ttl = grant_ttl_seconds
        self._max_object_bytes = max_object_bytes
        self._clock = clock
        self._key = bytes.fromhex(
            meta.set_setting_if_absent("lfs_upload_key", secrets.token_hex(32))
        )

    def _sign(
        self,
        repository: str,
        oid: str,
        size: int,
        expires_at: int,
        part_size: int | None,
        token_id: str,
    ) -> str:
        msg = f"{repository}|{oid}|{size}|{expires_at}|{part_size or 0}|{token_id}".encode()
        return hmac.new(self._key, msg, hashlib.sha256).hexdigest()

    def part_etag(self, grant: UploadGrant, part_sha256: Sha256) -> str:
        """The ETag of an uploaded part: its sha256 plus a MAC binding it to this upload, so a
        completion can only assemble parts whose bytes were sent for this grant (never other
        blobs of the store named by their sha256)."""
        mac = hmac.new(
            self._key, f"part|{grant.signature}|{part_sha256}".encode(), hashlib.sha256
        ).hexdigest()
        return f"{part_sha256}-{mac[:32]}"

    def batch(
        self, who: Principal, ref: HubRef, objects: Sequence[tuple[str, object]]
    ) -> list[BatchResult]:
        """Decide, per object, whether it must be uploaded, and grant the upload.

        Raises:
            RepoNotFoundError, PermissionDeniedError, InvalidInputError.
        """
        return list(self.batch_results(who, ref, objects))

    def batch_results(
        self, who: Principal, ref: HubRef, objects: Sequence[tuple[str, object]]
    ) -> Iterator[BatchResult]:
        """:meth:`batch` one object at a time, so that a server can serve others in between."""
        self._hub.repo_for(who, ref, "write")
        if len(objects) > MAX_BATCH_OBJECTS:
            raise InvalidInputError(f"At most {MAX_BATCH_OBJECTS} objects per batch request.")
        multipart = sum(
            1 for _, size in objects if isinstance(size, int) and size > self._multipart_threshold
        )
        max_parts = MAX_PARTS // max(1, multipart)
        for oid, size in objects:
            sha = validate_sha256(oid)
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise InvalidInputError(f"Invalid size for object {sha}: expected an integer.")
            if size > self._max_object_bytes:
                raise InvalidInputError(
                    f"Object {sha} is larger than the limit of {self._max_object_bytes} bytes."
                )
            known = self._content.known(sha)
            if known is not None and known.size == size and self._holdings.reusable(who, sha):
                yield BatchResult(sha, size, None)
                continue
            expires_at = int(self._clock()) + self._ttl
            part_size = self._part_size_for(size, max_parts)
            token_id = who.token_id or ""
            grant = UploadGrant(
                ref.repository,
                sha,
                size,
                expires_at,
                self._sign(ref.repository, sha, size, expires_at, part_size, token_id),
                part_size,
                token_id,
            )
            yield BatchResult(sha, size, grant)

    def _part_size_for(self, size: int, max_parts: int) -> int | None:
        if size <= self._multipart_threshold:
            return None
        return max(self._part_size, -(-size // max_parts))

    def check_grant(
        self,
        repository: str,
        oid: str,
        size: int,
        expires_at: int,
        signature: str,
        part_size: int | None,
        token_id: str = "",
    ) -> UploadGrant:
        """Raises AuthenticationError for a forged, altered or expired upload URL, or one whose
        token was revoked or expired since it was granted."""
        sha = validate_sha256(oid)
        expected = self._sign(repository, sha, size, expires_at, part_size, token_id)
        if not hmac.compare_digest(expected, signature):
            raise AuthenticationError("Invalid upload URL: its signature does not match.")
        now = self._clock()
        if expires_at < now:
            raise AuthenticationError("Upload URL expired: ask for a new one (retry the upload).")
        if token_id:
            record = self._meta.get_token(token_id)
            if record is None:
                raise AuthenticationError("Upload URL refused: its token no longer exists.")
            require_live(record, now)
        return UploadGrant(repository, sha, size, expires_at, signature, part_size, token_id)

    def finish_upload(self, grant: UploadGrant, info: BlobInfo) -> None:
        self._holdings.uploaded(grant.repository, info.sha256)
        self._audit.record(
            _uploader(grant),
            "lfs.upload",
            repository=grant.repository,
            subject=info.sha256,
            size=info.size,
        )

    def part_bounds(self, grant: UploadGrant, part_number: int) -> int:
        """The exact size part ``part_number`` (1-based) must have."""
        count = grant.part_count
        if grant.part_size is None or count is None:
            raise InvalidInputError("This upload is not multipart.")
        if not 1 <= part_number <= count:
            raise InvalidInputError(f"Part number {part_number} is outside 1..{count}.")
        if part_number < count:
            return grant.part_size
        return grant.size - grant.part_size * (count - 1)

    def complete_multipart(self, grant: UploadGrant, parts: Sequence[tuple[int, str]]) -> BlobInfo:
        """Concatenate the uploaded parts (each a stored blob named by its etag) into the object.

        Raises:
            InvalidInputError: parts missing, duplicated or out of order.
            DigestMismatchError / SizeMismatchError: the assembled content is not the object.
        """
        count = grant.part_count
        numbers = [n for n, _ in parts]
        if count is None or numbers != list(range(1, count + 1)):
            raise InvalidInputError(f"Multipart completion must list parts 1..{count} in order.")
        part_shas = []
        for n, etag in parts:
            tag = etag.strip('"')
            sha = validate_sha256(tag.partition("-")[0])
            if not hmac.compare_digest(tag, self.part_etag(grant, sha)):
                raise InvalidInputError(f"Part {n}: its ETag was not issued for this upload.")
            if not self._content.blobs.exists(sha):
                raise InvalidInputError(f"Part {n} (etag {sha}) was never uploaded.")
            part_shas.append(sha)
        writer = self._content.writer(grant.oid)
        with writer:
            # Read, hashed and written in a pipeline (the three overlap).
            pipeline = IngestPipeline(writer)
            try:
                for sha in part_shas:
                    with self._content.blobs.open_reader(sha) as reader:
                        pipeline.feed_from(reader)
                pipeline.finish()
            except BaseException:
                pipeline.abort(wait=10.0)  # before the writer is aborted
                raise
            info = self._content.finish(writer, grant.oid, grant.size)
        for sha in set(part_shas):
            # A part is garbage once assembled, unless its bytes are also a real, registered blob.
            if sha != info.sha256 and self._meta.get_blob(sha) is None:
                self._content.blobs.delete(sha)
        self.finish_upload(grant, info)
        return info

    def verify(self, who: Principal, ref: HubRef, oid: str, size: int) -> BlobInfo:
        self._hub.repo_for(who, ref, "write")
        sha = validate_sha256(oid)
        try:
            info = self._content.require(sha)
        except BlobNotFoundError:
            raise NotFoundError(f"Object {sha} was not uploaded.") from None
        if not self._holdings.reusable(who, sha):  # stored, but not for this caller
            raise NotFoundError(f"Object {sha} was not uploaded.")
        if info.size != size:
            raise InvalidInputError(f"Object {sha} has {info.size} bytes, not {size}.")
        return info


def _uploader(grant: UploadGrant) -> Principal:
    # LFS PUTs carry no token (client behaviour); the grant was issued to an authorised writer.
    return Principal(name="lfs-upload-url", scope="write", kind="system")
