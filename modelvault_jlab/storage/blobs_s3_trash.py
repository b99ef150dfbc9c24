"""The trash of the S3 blob store (see :mod:`.blob_trash`): copy aside, then delete the original."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from botocore.exceptions import ClientError

from ..errors import StorageError
from ..ids import Sha256
from .blob_trash import TRASH, BlobTrash
from .blobs_s3 import S3BlobStore, _error_code, _not_found

T = TypeVar("T")
R = TypeVar("R")


class S3BlobTrash(BlobTrash):
    def __init__(self, store: S3BlobStore) -> None:
        self._store = store
        self._prefix = f"{store.prefix}{TRASH}/"

    def _each(self, items: Sequence[T], work: Callable[[T], R]) -> list[R]:
        return [f.result() for f in [self._store.pool.submit(work, i) for i in items]]

    def _delete(self, key: str) -> None:
        self._store.client.delete_object(Bucket=self._store.bucket, Key=key)

    def set_aside(self, shas: Sequence[str]) -> dict[str, str]:
        def one(sha: str) -> tuple[str, str | None]:
            key = f"{self._prefix}{sha}.{uuid.uuid4().hex[:8]}"
            try:
                self._store.copy_within(self._store.key_for(sha), key)
            except ClientError as exc:
                if _not_found(exc) or _error_code(exc) == "NoSuchKey":
                    return sha, None
                raise StorageError(
                    f"S3 refused to set blob {sha} aside ({_error_code(exc)})."
                ) from None
            self._delete(self._store.key_for(sha))  # only once the copy exists
            return sha, key

        return {sha: key for sha, key in self._each(shas, one) if key is not None}

    def discard(self, tokens: Sequence[str]) -> None:
        self._each(tokens, self._delete)

    def put_back(self, items: Sequence[tuple[str, str]]) -> None:
        def one(item: tuple[str, str]) -> None:
            sha, key = item
            # present: a writer stored the bytes again meanwhile
            if not self._store.exists(Sha256(sha)):
                self._store.copy_within(key, self._store.key_for(sha))
            self._delete(key)

        self._each(items, one)

    def leftovers(self) -> Iterator[tuple[str, str]]:
        pages = self._store.client.get_paginator("list_objects_v2").paginate(
            Bucket=self._store.bucket, Prefix=self._prefix
        )
        for page in pages:
            for item in page.get("Contents", ()):
                key = str(item["Key"])
                yield key[len(self._prefix) :].partition(".")[0], key


__all__ = ["S3BlobTrash"]
