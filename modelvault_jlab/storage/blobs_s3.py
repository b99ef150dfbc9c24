"""S3-compatible blob store: objects at ``<prefix>sha256/ab/cd/<sha256>``.

Writing. Bytes go to a local spool file first (bounded memory whatever the blob size; the spool
also serves :meth:`S3BlobWriter.open_partial` to stream-through readers, which need random
access to bytes not yet in S3). Every full part is uploaded from the spool by a worker thread
while more bytes arrive, so at commit only the tail is left to send:

- blobs smaller than one part are sent with one ``PutObject`` to the final key at commit, after
  the digest and size checked out;
- larger blobs go into a multipart upload, invisible until ``CompleteMultipartUpload``. When the
  sha256 is known up front (``open_writer(expected_sha256)``: LFS uploads, pinned imports) the
  upload targets the final key and completing it *is* the publication. Otherwise the final key is
  only known at the end, so the parts go to a staging key ``<prefix>tmp/upload-<origin>-…``
  that is completed, copied server-side to the final key (no byte crosses the network again)
  and deleted. Uploading at commit instead would add a full second transfer to every ingest.

Nothing ever appears under a final key before the content verified. Dedup: a blob already in the
bucket is not uploaded again (checked before the first part and at commit).

Reading. :meth:`S3BlobStore.open_reader` is a seekable, buffered reader over ranged GETs whose
read-ahead window grows while reads are sequential and shrinks back on a seek (scanners jump
around zip directories); :meth:`S3BlobStore.iter_range` is one streaming ranged GET.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import io
import os
import socket
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast
from urllib.parse import urlsplit

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from ..errors import BlobNotFoundError, StorageError
from ..ids import Sha256, is_sha256
from .blobs import BlobStore, BlobWriter
from .blobs_s3_range import S3RangeReader
from .records import BlobInfo
from .tempfiles import TEMP_PREFIX, create_locked, is_live, remove_orphans

MiB = 1024 * 1024
MIN_PART_BYTES = 5 * MiB  # S3's minimum for every part but the last
MAX_PARTS = 10_000
MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # SigV4 limit
_STAGING = "tmp/upload-"
_HOST = socket.gethostname().replace("-", "_") or "host"


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` → ``("bucket", "some/prefix/")``.

    Raises:
        StorageError: not an ``s3://`` URL with a bucket.
    """
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise StorageError(f"Blob store URL must look like s3://bucket/prefix, not {url!r}.")
    prefix = parts.path.strip("/")
    return parts.netloc, f"{prefix}/" if prefix else ""


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _not_found(exc: ClientError) -> bool:
    return _error_code(exc) in ("404", "NoSuchKey", "NotFound")


@dataclass(frozen=True)
class S3Settings:
    """How to reach the bucket. Credentials left empty come from the usual AWS chain
    (environment, shared config/credentials files, instance or container role)."""

    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    presign_endpoint_url: str | None = None
    """Endpoint written into presigned URLs when clients reach the store under another name."""
    create_bucket: bool = False
    part_size: int = 16 * MiB
    max_concurrency: int = 8
    incomplete_max_age_seconds: float = 24 * 3600.0

    def __repr__(self) -> str:  # never print the secret
        return f"S3Settings(bucket={self.bucket!r}, prefix={self.prefix!r}, endpoint={self.endpoint_url!r})"


class S3BlobWriter(BlobWriter):
    """Spools locally, uploads parts in the background; publishes only at a verified commit."""

    def __init__(self, store: S3BlobStore, expected_sha256: Sha256 | None = None) -> None:
        super().__init__(expected_sha256)
        self._store = store
        # The descriptor holds the spool file's lock (and, through it, the staging key's).
        self._spool_path, fd = create_locked(store.spool_dir)
        self._fd: int | None = fd
        # Dedup up front: a blob known to be stored already is hashed and verified, not uploaded.
        self._skip_upload = expected_sha256 is not None and store.exists(expected_sha256)
        self._key = (
            store.key_for(expected_sha256)
            if expected_sha256 is not None
            # Where and when it was written, for clean-up by any replica (see _abandoned).
            else f"{store.prefix}{_STAGING}{store.origin}-{int(time.time())}-"
            f"{self._spool_path.name[len(TEMP_PREFIX) :]}"
        )
        self._upload_id: str | None = None
        self._parts: list[concurrent.futures.Future[dict[str, Any]]] = []
        self._handed_off = 0  # bytes given to part uploads so far
        self._staged = False  # a completed staging object exists
        self._done = False

    # -- writing --
    def _write(self, data: bytes | memoryview) -> None:
        if self._fd is None:
            raise StorageError("write after commit or abort")
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]
        if self._skip_upload:
            return
        while self.bytes_written - self._handed_off >= self._next_part_size():
            self._upload_part(self._next_part_size())

    def _next_part_size(self) -> int:
        # Parts grow every 1,000 parts so that the 10,000-part limit is never the size limit
        # (16 MiB parts: ~880 GiB).
        return self._store.settings.part_size * (1 + len(self._parts) // 1000)

    def _upload_part(self, length: int) -> None:
        if len(self._parts) >= MAX_PARTS:
            raise StorageError("blob too large for one multipart upload")
        store = self._store
        if self._upload_id is None:
            created = store.client.create_multipart_upload(Bucket=store.bucket, Key=self._key)
            self._upload_id = str(created["UploadId"])
            store.live_uploads.add(self._upload_id)
        number, offset = len(self._parts) + 1, self._handed_off
        self._handed_off += length
        # The worker reads its part from the spool, so memory is one part per pool thread.
        self._parts.append(
            store.pool.submit(self._send_part, self._upload_id, number, offset, length)
        )

    def _send_part(self, upload_id: str, number: int, offset: int, length: int) -> dict[str, Any]:
        assert self._fd is not None
        body = os.pread(self._fd, length, offset)
        store = self._store
        response = store.client.upload_part(
            Bucket=store.bucket, Key=self._key, UploadId=upload_id, PartNumber=number, Body=body
        )
        return {"PartNumber": number, "ETag": response["ETag"]}

    def open_partial(self) -> BinaryIO:
        # Raises FileNotFoundError once published: the caller then reads the stored blob.
        return self._spool_path.open("rb")

    # -- publishing --
    def commit(
        self, expected_sha256: str | None = None, expected_size: int | None = None
    ) -> BlobInfo:
        if self._fd is None:
            raise StorageError("commit after commit or abort")
        try:
            info = self.verify(expected_sha256, expected_size)
            store = self._store
            final = store.key_for(info.sha256)
            if self._skip_upload or store.exists(info.sha256):
                self.abort()  # identical content is stored once
                return info
            if self._upload_id is None:
                # Smaller than a part: one request, straight to the final key.
                body = os.pread(self._fd, info.size, 0)
                store.client.put_object(Bucket=store.bucket, Key=final, Body=body)
            else:
                if info.size > self._handed_off:
                    self._upload_part(info.size - self._handed_off)
                parts = [f.result() for f in self._parts]
                store.client.complete_multipart_upload(
                    Bucket=store.bucket,
                    Key=self._key,
                    UploadId=self._upload_id,
                    MultipartUpload={"Parts": parts},
                )
                store.live_uploads.discard(self._upload_id)
                self._upload_id = None
                self._staged = self._key != final
                if self._staged:
                    store.copy_within(self._key, final)
                    store.client.delete_object(Bucket=store.bucket, Key=self._key)
            self._done = True
            self._release_spool()
            return info
        except ClientError as exc:
            self.abort()
            raise StorageError(f"The object store refused the blob ({_error_code(exc)}).") from exc
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        store = self._store
        for future in self._parts:
            future.cancel()
        # A part still in flight could land after AbortMultipartUpload; wait for it first.
        concurrent.futures.wait(self._parts)
        with contextlib.suppress(ClientError):
            if self._upload_id is not None:
                store.client.abort_multipart_upload(
                    Bucket=store.bucket, Key=self._key, UploadId=self._upload_id
                )
                store.live_uploads.discard(self._upload_id)
            elif self._staged:
                # Completed but not copied (the copy failed): drop the staging object.
                store.client.delete_object(Bucket=store.bucket, Key=self._key)
        self._release_spool()

    def _release_spool(self) -> None:
        # Readers opened by open_partial keep their descriptor: the bytes stay readable to them.
        with contextlib.suppress(FileNotFoundError):
            self._spool_path.unlink()
        if self._fd is not None:
            os.close(self._fd)  # the lock goes with it, once the name is gone
            self._fd = None


class S3BlobStore(BlobStore):
    """Content-addressed blobs in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, …)."""

    reads_wait_on_network = True

    def __init__(self, settings: S3Settings, spool_dir: str | os.PathLike[str]) -> None:
        if settings.part_size < MIN_PART_BYTES:
            raise StorageError(f"S3 part size must be at least {MIN_PART_BYTES} bytes.")
        self.settings = settings
        self.bucket = settings.bucket
        self.prefix = settings.prefix
        self.spool_dir = Path(spool_dir)
        self.spool_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Staging keys name the host and spool folder of their writer: a replica that shares
        # both can tell from the spool file's lock whether that writer is alive.
        folder = hashlib.sha256(str(self.spool_dir.resolve()).encode()).hexdigest()[:8]
        self.origin = f"{_HOST}.{folder}"
        session = boto3.session.Session(
            aws_access_key_id=settings.access_key_id or None,
            aws_secret_access_key=settings.secret_access_key or None,
            region_name=settings.region or None,
        )
        config = Config(
            signature_version="s3v4",
            # Path-style addressing works with every S3-compatible server on a plain endpoint.
            s3={"addressing_style": "path" if settings.endpoint_url else "auto"},
            max_pool_connections=settings.max_concurrency * 2 + 4,
            retries={"mode": "standard", "max_attempts": 5},
            # Integrity is ours (sha256 of every blob); default CRC trailers are not understood
            # by several S3-compatible servers.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self.client: Any = session.client("s3", endpoint_url=settings.endpoint_url, config=config)
        self._presigner: Any = (
            session.client("s3", endpoint_url=settings.presign_endpoint_url, config=config)
            if settings.presign_endpoint_url
            else self.client
        )
        self.pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=settings.max_concurrency, thread_name_prefix="s3-blobs"
        )
        self.live_uploads: set[str] = set()
        """Multipart uploads of this process's writers in progress (never cleaned up)."""
        self._transfer = TransferConfig(
            multipart_threshold=1024 * MiB,
            multipart_chunksize=max(settings.part_size, 256 * MiB),
            max_concurrency=settings.max_concurrency,
        )
        self._check_bucket()

    def _check_bucket(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if not _not_found(exc) and _error_code(exc) != "NoSuchBucket":
                raise StorageError(
                    f"Cannot use S3 bucket {self.bucket!r}: {_error_code(exc) or exc}."
                ) from None
            if not self.settings.create_bucket:
                raise StorageError(
                    f"S3 bucket {self.bucket!r} does not exist (create it, or set "
                    "s3_create_bucket=True)."
                ) from None
            self.client.create_bucket(Bucket=self.bucket)

    def close(self) -> None:
        self.pool.shutdown(wait=True)

    def key_for(self, sha256: str) -> str:
        if not is_sha256(sha256):
            raise StorageError("invalid blob address")
        return f"{self.prefix}sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"

    # -- BlobStore --
    def open_writer(self, expected_sha256: Sha256 | None = None) -> S3BlobWriter:
        return S3BlobWriter(self, expected_sha256)

    def _head(self, sha256: Sha256) -> dict[str, Any] | None:
        try:
            return cast(
                "dict[str, Any]",
                self.client.head_object(Bucket=self.bucket, Key=self.key_for(sha256)),
            )
        except ClientError as exc:
            if _not_found(exc):
                return None
            raise

    def exists(self, sha256: Sha256) -> bool:
        return self._head(sha256) is not None

    def size(self, sha256: Sha256) -> int:
        head = self._head(sha256)
        if head is None:
            raise BlobNotFoundError(f"Blob {sha256} is not stored.")
        return int(head["ContentLength"])

    def open_reader(self, sha256: Sha256) -> BinaryIO:
        size = self.size(sha256)
        raw = S3RangeReader(self.client, self.bucket, self.key_for(sha256), size)
        return cast(BinaryIO, io.BufferedReader(raw, buffer_size=256 * 1024))

    def iter_range(
        self, sha256: Sha256, start: int, end: int, chunk_size: int
    ) -> Generator[bytes, None, None]:
        if end <= start:
            return
        try:
            response = self.client.get_object(
                Bucket=self.bucket, Key=self.key_for(sha256), Range=f"bytes={start}-{end - 1}"
            )
        except ClientError as exc:
            if _not_found(exc):
                raise BlobNotFoundError(f"Blob {sha256} is not stored.") from None
            if _error_code(exc) == "InvalidRange":  # start at or past the end: no bytes
                return
            raise
        body = response["Body"]
        try:
            yield from body.iter_chunks(chunk_size)
        finally:
            body.close()

    def delete(self, sha256: Sha256) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.key_for(sha256))

    def presigned_url(self, sha256: Sha256, expires_seconds: int) -> str | None:
        return cast(
            str,
            self._presigner.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": self.key_for(sha256)},
                ExpiresIn=max(1, min(int(expires_seconds), MAX_PRESIGN_SECONDS)),
            ),
        )

    def copy_within(self, source_key: str, target_key: str) -> None:
        """Server-side copy (parallel part copies for large objects)."""
        self.client.copy(
            {"Bucket": self.bucket, "Key": source_key},
            self.bucket,
            target_key,
            Config=self._transfer,
        )

    def put_bytes(self, data: bytes) -> BlobInfo:
        return self.put_many([data])[0]

    def put_many(self, values: Sequence[bytes]) -> list[BlobInfo]:
        """Hash locally (the key is the digest of the bytes in hand, so nothing can be published
        unverified) and send the missing ones in parallel, one PutObject each."""
        infos = [BlobInfo(Sha256(hashlib.sha256(v).hexdigest()), len(v)) for v in values]
        unique = {info.sha256: value for info, value in zip(infos, values, strict=True)}

        def put(sha: Sha256, value: bytes) -> None:
            if not self.exists(sha):
                self.client.put_object(Bucket=self.bucket, Key=self.key_for(sha), Body=value)

        futures = [self.pool.submit(put, sha, value) for sha, value in unique.items()]
        for future in futures:
            future.result()
        return infos

    def cleanup_incomplete(self, older_than_seconds: float | None = None) -> int:
        """Abort multipart uploads and delete staging objects that interrupted writers left.

        Replicas share the bucket, so an upload is only taken for abandoned when it is older than
        ``older_than_seconds`` (default: the store's ``incomplete_max_age_seconds``), or when its
        staging key names this host and a process that is gone. Uploads of this process's live
        writers are never touched. Local spool files of dead processes go too.
        """
        max_age = (
            self.settings.incomplete_max_age_seconds
            if older_than_seconds is None
            else older_than_seconds
        )
        cutoff = time.time() - max_age
        removed = remove_orphans(self.spool_dir)
        paginator = self.client.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for upload in page.get("Uploads", []):
                key, upload_id = upload["Key"], upload["UploadId"]
                if upload_id in self.live_uploads:
                    continue
                if self._abandoned(key, upload["Initiated"].timestamp(), cutoff):
                    with contextlib.suppress(ClientError):
                        self.client.abort_multipart_upload(
                            Bucket=self.bucket, Key=key, UploadId=upload_id
                        )
                        removed += 1
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=f"{self.prefix}{_STAGING}"):
            for obj in page.get("Contents", []):
                if self._abandoned(obj["Key"], obj["LastModified"].timestamp(), cutoff):
                    self.client.delete_object(Bucket=self.bucket, Key=obj["Key"])
                    removed += 1
        return removed

    def _abandoned(self, key: str, started: float, cutoff: float) -> bool:
        """Started before ``cutoff``, or a staging key of a writer of this spool folder that is
        gone (its spool file is missing or unlocked: see :mod:`.tempfiles`).

        A staging key carries its own start time, which is preferred to the server's (some
        S3-compatible servers do not report a multipart upload's real initiation time).
        """
        staging = f"{self.prefix}{_STAGING}"
        if not key.startswith(staging):
            return started < cutoff
        fields = key[len(staging) :].split("-")
        if len(fields) == 4:  # <host>-<pid>-<stamp>-<uuid>, written by earlier versions
            fields = [fields[0], fields[2], ""]
        origin, stamp, spool_id, *_ = [*fields, "", "", ""]
        if stamp.isdigit():
            started = float(stamp)
        if origin == self.origin and spool_id.isalnum():
            spool = self.spool_dir / f"{TEMP_PREFIX}{spool_id}"
            if not is_live(spool):
                return True
        return started < cutoff


__all__ = ["S3BlobStore", "S3BlobWriter", "S3Settings", "parse_s3_url"]
