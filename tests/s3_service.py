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
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from unittest import mock

from tests.servers import (
    HOST,
    RunningServer,
    on_free_port,
    spawn,
    start_standalone,
    stop_group,
    wait_http,
)

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
    moto = Path(sys.executable).with_name("moto_server")

    def start(port: int) -> S3Service:
        log_path = tmp_dir / f"moto-{port}.log"
        proc = spawn(
            [str(moto), "-H", HOST, "-p", str(port)], log_path, {**S3_ENV, "TMPDIR": str(tmp_dir)}
        )
        url = f"http://{HOST}:{port}"
        wait_http(url + "/", proc, log_path)
        return S3Service(url, proc, log_path)

    service = on_free_port(start)
    try:
        yield service
    finally:
        stop_group(service.proc)


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
