"""Which trash (:mod:`.blob_trash`) a blob store has."""

from __future__ import annotations

import contextlib

from ..errors import InvalidInputError
from .blob_trash import BlobTrash, FsBlobTrash
from .blobs import BlobStore
from .blobs_fs import FsBlobStore


def trash_for(store: BlobStore) -> BlobTrash:
    """The trash of ``store``.

    Raises:
        InvalidInputError: a store kind blobs cannot be removed from safely.
    """
    if isinstance(store, FsBlobStore):
        return FsBlobTrash(store)
    with contextlib.suppress(ImportError):  # boto3 is optional (the ``s3`` extra)
        from .blobs_s3 import S3BlobStore
        from .blobs_s3_trash import S3BlobTrash

        if isinstance(store, S3BlobStore):
            return S3BlobTrash(store)
    raise InvalidInputError("Removing blobs supports the folder and S3 blob stores only.")


__all__ = ["trash_for"]
