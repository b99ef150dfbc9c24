"""A real S3-compatible server for tests: ``moto_server`` as a subprocess on 127.0.0.1.

Nothing on the client side is mocked: boto3 talks HTTP to the server as it would to AWS or
MinIO. Each test gets its own bucket, so tests sharing the session's server do not see each
other's objects or multipart uploads.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from unittest import mock

import httpx

from tests.servers import RunningServer, free_port, start_standalone

if TYPE_CHECKING:
    from modelvault_jlab.storage.blobs_s3 import S3Settings

# moto accepts any credentials; set them so no test reads the developer's AWS configuration.
S3_ENV = {
    "AWS_ACCESS_KEY_ID": "modelvault-test",
    "AWS_SECRET_ACCESS_KEY": "modelvault-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


@dataclass
class S3Service:
    endpoint_url: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def host(self) -> str:
        return self.endpoint_url.split("://", 1)[1]

    def new_bucket_name(self) -> str:
        return f"mv-{uuid.uuid4().hex[:16]}"

    def client(self) -> object:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id=S3_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=S3_ENV["AWS_SECRET_ACCESS_KEY"],
        )


@contextlib.contextmanager
def running_s3(tmp_dir: Path) -> Iterator[S3Service]:
    port = free_port()
    log_path = tmp_dir / f"moto-{port}.log"
    moto = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log_path.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, **S3_ENV},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"moto_server exited early:\n{log_path.read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(url + "/", timeout=2)
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"moto_server not ready after 60s:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield S3Service(url, proc, log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def s3_settings(service: S3Service, **overrides: object) -> S3Settings:
    """Settings for a fresh bucket on ``service`` (created by the store)."""
    from modelvault_jlab.storage.blobs_s3 import S3Settings

    values: dict[str, object] = {
        "bucket": service.new_bucket_name(),
        "prefix": "vault/",
        "endpoint_url": service.endpoint_url,
        "region": "us-east-1",
        "access_key_id": S3_ENV["AWS_ACCESS_KEY_ID"],
        "secret_access_key": S3_ENV["AWS_SECRET_ACCESS_KEY"],
        "create_bucket": True,
        "part_size": 5 * 1024 * 1024,
        "max_concurrency": 4,
    }
    values.update(overrides)
    return S3Settings(**values)  # type: ignore[arg-type]


def start_standalone_on_s3(
    data_dir: Path, service: S3Service, *, redirect: bool, prefix: str = "vault"
) -> tuple[RunningServer, str]:
    """``modelvault serve`` with its blobs in a fresh bucket; returns the server and bucket."""
    bucket = service.new_bucket_name()
    with mock.patch.dict(os.environ, S3_ENV):  # the server's AWS credential chain
        server = start_standalone(
            data_dir,
            "--blob-store-url",
            f"s3://{bucket}/{prefix}",
            "--s3-endpoint-url",
            service.endpoint_url,
            "--s3-region",
            "us-east-1",
            "--s3-create-bucket",
            "--s3-part-size-bytes",
            str(5 * 1024 * 1024),
            "--blob-download-redirect" if redirect else "--no-blob-download-redirect",
            "--blob-redirect-expires-seconds",
            "120",
        )
    return server, bucket
