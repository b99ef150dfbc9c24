"""What the S3 blob store adds to the contract (tests/storage/test_contract.py runs that on S3
too): multipart uploads that stay invisible, clean-up of what dead writers left in a bucket
shared by replicas, presigned URLs, bucket checks. Against a real S3 server (moto_server)."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from modelvault_jlab.errors import StorageError
from modelvault_jlab.ids import Sha256
from modelvault_jlab.storage.blobs_s3 import S3BlobStore, parse_s3_url
from tests.s3_service import S3Service, s3_settings
from tests.storage.blob_backends import leftovers, stored_objects

MiB = 1 << 20


def _sha(data: bytes) -> Sha256:
    return Sha256(hashlib.sha256(data).hexdigest())


@pytest.fixture
def store(s3_service: S3Service, tmp_path: Path) -> Iterator[S3BlobStore]:
    s = S3BlobStore(s3_settings(s3_service), spool_dir=tmp_path / "spool")
    yield s
    s.close()


def _uploads(store: S3BlobStore) -> list[str]:
    listing = store.client.list_multipart_uploads(Bucket=store.bucket, Prefix=store.prefix)
    return [u["Key"] for u in listing.get("Uploads", [])]


def test_parts_are_uploaded_while_writing_and_invisible_until_commit(
    store: S3BlobStore,
) -> None:
    data = os.urandom(16 * MiB)
    with store.open_writer() as w:
        w.write(data[: 11 * MiB])  # two full parts handed to the uploader
        for part in w._parts:
            part.result()
        keys = _uploads(store)
        assert len(keys) == 1 and keys[0].startswith("vault/tmp/upload-")  # staging, not final
        assert not store.exists(_sha(data)) and stored_objects(store) == []
        w.write(data[11 * MiB :])
        w.commit(_sha(data), len(data))
    assert stored_objects(store) == [store.key_for(_sha(data))]
    assert leftovers(store) == []  # staging object copied and deleted, no upload left
    with store.open_reader(_sha(data)) as f:
        assert f.read() == data


def test_announced_sha_uploads_to_the_final_key_and_dedups(store: S3BlobStore) -> None:
    data = os.urandom(12 * MiB)
    with store.open_writer(_sha(data)) as w:
        w.write(data[: 6 * MiB])
        for part in w._parts:
            part.result()
        assert _uploads(store) == [store.key_for(_sha(data))]  # invisible: not completed
        assert not store.exists(_sha(data))
        w.write(data[6 * MiB :])
        w.commit(None, len(data))
    assert store.exists(_sha(data)) and leftovers(store) == []
    # the same blob again: nothing is uploaded at all
    with store.open_writer(_sha(data)) as w:
        w.write(data)
        assert w._upload_id is None and _uploads(store) == []
        w.commit(None, len(data))
    assert len(stored_objects(store)) == 1


def test_cleanup_spares_live_and_young_uploads_of_other_replicas(
    s3_service: S3Service, tmp_path: Path
) -> None:
    settings = s3_settings(s3_service)
    replica_a = S3BlobStore(settings, spool_dir=tmp_path / "a")
    replica_b = S3BlobStore(settings, spool_dir=tmp_path / "b")
    try:
        writer = replica_a.open_writer()
        writer.write(os.urandom(6 * MiB))  # one part in flight on replica a
        for part in writer._parts:
            part.result()
        assert len(_uploads(replica_a)) == 1
        assert replica_a.cleanup_incomplete(older_than_seconds=0) == 0  # our live writer
        assert replica_b.cleanup_incomplete() == 0  # another replica's, and young: kept
        assert len(_uploads(replica_a)) == 1
        # a staging object of a dead writer of this spool folder goes at once, whatever its age
        dead = f"{settings.prefix}tmp/upload-{replica_b.origin}-{int(time.time())}-abc"
        replica_b.client.put_object(Bucket=settings.bucket, Key=dead, Body=b"x")
        assert replica_b.cleanup_incomplete() == 1
        # one written by an earlier version (host-pid-stamp-uuid) is judged by its age only
        legacy = f"{settings.prefix}tmp/upload-{_host()}-1-{int(time.time())}-{'0' * 32}"
        replica_b.client.put_object(Bucket=settings.bucket, Key=legacy, Body=b"x")
        assert replica_b.cleanup_incomplete() == 0
        # a killed replica's upload, once old enough, is aborted (moto reports a fixed, old
        # initiation time for every upload: the age comes from the staging key itself)
        assert replica_b.cleanup_incomplete(older_than_seconds=0) == 2
        assert _uploads(replica_a) == [] and leftovers(replica_b) == []
        with pytest.raises(StorageError):
            writer.commit()  # its upload is gone: the commit fails, nothing published
        assert stored_objects(replica_a) == []
    finally:
        replica_a.close()
        replica_b.close()


def test_presigned_url_serves_the_blob_without_credentials(
    store: S3BlobStore, s3_service: S3Service
) -> None:
    data = os.urandom(1 * MiB)
    info = store.put_bytes(data)
    url = store.presigned_url(info.sha256, 60)
    assert url is not None and url.startswith(s3_service.endpoint_url + "/")
    r = httpx.get(url)
    assert r.status_code == 200 and r.content == data
    r = httpx.get(url, headers={"Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == data[10:20]
    # moto does not check signatures; the URL must still be a SigV4 one with our expiry
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=60" in url
    long_lived = store.presigned_url(info.sha256, 10**9)
    assert long_lived is not None and "X-Amz-Expires=604800" in long_lived  # SigV4's maximum


def test_missing_bucket_is_a_clear_error_unless_asked_to_create(
    s3_service: S3Service, tmp_path: Path
) -> None:
    settings = s3_settings(s3_service, create_bucket=False)
    with pytest.raises(StorageError, match="does not exist"):
        S3BlobStore(settings, spool_dir=tmp_path / "spool")
    with pytest.raises(StorageError, match="part size"):
        S3BlobStore(s3_settings(s3_service, part_size=1 * MiB), spool_dir=tmp_path / "spool")


def test_settings_never_show_the_secret(s3_service: S3Service) -> None:
    settings = s3_settings(s3_service)
    assert settings.secret_access_key and settings.secret_access_key not in repr(settings)
    assert settings.secret_access_key not in str(settings)


def test_parse_s3_url() -> None:
    assert parse_s3_url("s3://bucket") == ("bucket", "")
    assert parse_s3_url("s3://bucket/a/b/") == ("bucket", "a/b/")
    with pytest.raises(StorageError):
        parse_s3_url("https://bucket/x")


def _host() -> str:
    from modelvault_jlab.storage import blobs_s3

    return blobs_s3._HOST
