"""Content: the blob store plus its registry, and the git object ids the Hub protocol needs."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from ..errors import BlobNotFoundError, StorageError
from ..ids import Sha256
from ..storage.blobs import BlobStore, BlobWriter
from ..storage.blobs_fs import FsBlobStore
from ..storage.meta import HubStore
from ..storage.records import BlobInfo


def git_blob_oid(data: bytes) -> str:
    """The git blob sha1 of ``data``: what the Hub shows as the etag of a regular file."""
    h = hashlib.sha1(usedforsecurity=False)
    h.update(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    return (
        f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()
    )


def lfs_pointer_oid(sha256: str, size: int) -> str:
    """The git blob sha1 of an LFS file's pointer: the Hub's tree ``oid`` of an LFS file."""
    return git_blob_oid(lfs_pointer(sha256, size))


class ContentStore:
    """Blobs that are stored *and* registered in metadata.

    The blob store holds bytes; the registry row is what makes a blob referencable by a commit.
    A blob is registered only after its writer verified and published it.
    """

    def __init__(self, blobs: BlobStore, meta: HubStore, redirect_seconds: int = 0) -> None:
        self.blobs = blobs
        self._meta = meta
        self._redirect_seconds = redirect_seconds

    def download_url(self, sha256: Sha256) -> str | None:
        """Where a client may fetch a stored blob without this process serving the bytes (a
        presigned object-store URL), when redirects are enabled and the store can presign.
        Callers apply the gate first: this URL bypasses it."""
        if self._redirect_seconds <= 0:
            return None
        return self.blobs.presigned_url(sha256, self._redirect_seconds)

    def writer(self, expected_sha256: Sha256 | None = None) -> BlobWriter:
        """A blob writer; pass the sha256 when it is known up front (see BlobWriter)."""
        return self.blobs.open_writer(expected_sha256)

    def finish(
        self,
        writer: BlobWriter,
        expected_sha256: str | None = None,
        expected_size: int | None = None,
    ) -> BlobInfo:
        info = writer.commit(expected_sha256, expected_size)
        self._meta.register_blob(info)
        self._still_stored([info])
        return info

    def put_bytes(self, data: bytes) -> BlobInfo:
        info = self.blobs.put_bytes(data)
        self._meta.register_blob(info)
        self._still_stored([info])
        return info

    def put_many(self, values: Sequence[bytes]) -> list[BlobInfo]:
        infos = self.blobs.put_many(values)
        self._meta.register_blobs(infos)
        self._still_stored(infos)
        return infos

    def reuse(self, info: BlobInfo) -> None:
        """Register a stored blob again before something names it (an LFS file committed by its
        sha256): garbage collection then spares it, or the caller learns it is gone."""
        self._meta.register_blob(info)
        self._still_stored([info])

    def _still_stored(self, infos: Sequence[BlobInfo]) -> None:
        """The writer's half of the race with garbage collection (``core/gc.py``): a blob
        registered (again) is checked to be there still; gone means the collector took it
        between the writer's store and its registration, and the write fails, to be retried."""
        stored = getattr(self.blobs, "inner", self.blobs)  # under core.xet's XetBlobStore
        if not isinstance(stored, FsBlobStore):  # the only store the collector supports
            return
        for info in infos:
            if not self.blobs.exists(info.sha256):
                raise StorageError(
                    f"Blob {info.sha256} was garbage-collected while being stored again; retry."
                )

    def known(self, sha256: Sha256) -> BlobInfo | None:
        """The registered blob, if its bytes are really there (a lost file is not 'known')."""
        info = self._meta.get_blob(sha256)
        if info is None or not self.blobs.exists(sha256):
            return None
        return info

    def require(self, sha256: Sha256) -> BlobInfo:
        info = self.known(sha256)
        if info is None:
            raise BlobNotFoundError(f"Object {sha256} is not stored.")
        return info
