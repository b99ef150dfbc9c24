"""Blob store backends for the contract suite, and what each one may leave behind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from modelvault_jlab.storage.blobs import BlobStore
from modelvault_jlab.storage.blobs_fs import FsBlobStore
from modelvault_jlab.storage.blobs_s3 import S3BlobStore
from tests.s3_service import S3Service, s3_settings

BLOB_BACKENDS = ["fs", "s3"]


def open_blob_store(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[BlobStore]:
    if kind == "fs":
        yield FsBlobStore(tmp_path / "blobs")
        return
    # Asked for lazily: an fs-only run never starts the S3 server.
    service: S3Service = request.getfixturevalue("s3_service")
    store = S3BlobStore(s3_settings(service), spool_dir=tmp_path / "spool")
    yield store
    store.close()


def stored_objects(store: BlobStore) -> list[str]:
    """Every published blob object."""
    if isinstance(store, FsBlobStore):
        return [p.name for p in store.objects_dir.rglob("*") if p.is_file()]
    assert isinstance(store, S3BlobStore)
    listing = store.client.list_objects_v2(Bucket=store.bucket, Prefix=f"{store.prefix}sha256/")
    return [o["Key"] for o in listing.get("Contents", [])]


def leftovers(store: BlobStore) -> list[str]:
    """What unfinished writers left: temp/spool files, multipart uploads, staging objects."""
    if isinstance(store, FsBlobStore):
        return [p.name for p in store.tmp_dir.iterdir()]
    assert isinstance(store, S3BlobStore)
    found = [p.name for p in store.spool_dir.iterdir()]
    uploads = store.client.list_multipart_uploads(Bucket=store.bucket, Prefix=store.prefix)
    found += [f"upload {u['Key']}" for u in uploads.get("Uploads", [])]
    staging = store.client.list_objects_v2(Bucket=store.bucket, Prefix=f"{store.prefix}tmp/")
    found += [f"object {o['Key']}" for o in staging.get("Contents", [])]
    return found
