#!/usr/bin/env python
"""S3 blob store benchmark: a large download redirected to S3 vs streamed by the server vs direct.

    python bench/bench_s3.py [--size-gib 2] [--reps 3] [--quick]

Starts its own S3-compatible server (moto_server) and two ModelVault servers on 127.0.0.1 that
share one data dir and one bucket: one answers downloads with a 302 to a presigned URL
(``--blob-download-redirect``), the other streams the blob from S3 through itself. Then, in the
same run and interleaved (the machine is shared and noisy: compare the ratios):

1. ingest: HfApi.upload_file of the file (Git LFS, HF_HUB_DISABLE_XET=1; parts go to S3 while
   the body arrives) vs boto3 ``upload_file`` of the same file straight to the bucket;
2. download, curl to /dev/null: ``curl -L`` of the resolve URL on the redirecting server, curl of
   the resolve URL on the streaming server, curl of a presigned URL (S3 alone);
3. one ``hf_hub_download`` (fresh cache) from each server.

Prints a table with medians and ratios, writes JSON to bench/out/, cleans everything up.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import (
    GiB,
    MiB,
    VaultServer,
    curl,
    log,
    make_file,
    mbps,
    save_result,
    sha256_of,
)
from tests.s3_service import S3_ENV, running_s3

REPO = "bench/s3"
FILE_NAME = "model.bin"


def run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    os.environ.update(S3_ENV)
    os.environ["HF_HUB_DISABLE_XET"] = "1"  # read when huggingface_hub is imported
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    import boto3
    from huggingface_hub import HfApi, hf_hub_download

    size = int(args.size_gib * GiB)
    src = tmp / FILE_NAME
    make_file(src, size)
    sha = sha256_of(src)
    result: dict[str, Any] = {"size_bytes": size, "reps": args.reps}
    with running_s3(tmp) as s3_service:
        s3_url = s3_service.endpoint_url
        s3 = boto3.client("s3", endpoint_url=s3_url, region_name="us-east-1")
        bucket = "bench-vault"
        common = [
            f"--blob-store-url=s3://{bucket}/vault",
            f"--s3-endpoint-url={s3_url}",
            "--s3-region=us-east-1",
            "--s3-create-bucket",
        ]
        data_dir = tmp / "vault"
        redirecting = VaultServer(data_dir, tmp / "redirect.log")
        streaming = VaultServer(data_dir, tmp / "stream.log")  # same metadata, same bucket
        redirecting.serve_args = [*common, "--blob-download-redirect"]
        streaming.serve_args = [*common, "--no-blob-download-redirect"]
        token = redirecting.cli("token", "create", "--scope", "admin", "--name", "bench")
        try:
            redirecting.start(token)
            streaming.start(token)
            log(f"servers up; ingesting {size / GiB:.2f} GiB")
            api = HfApi(endpoint=redirecting.endpoint, token=token)
            api.create_repo(REPO)
            t0 = time.perf_counter()
            api.upload_file(path_or_fileobj=str(src), path_in_repo=FILE_NAME, repo_id=REPO)
            ingest = time.perf_counter() - t0
            t0 = time.perf_counter()
            s3.upload_file(str(src), bucket, "bench/direct-upload")
            direct_upload = time.perf_counter() - t0
            s3.delete_object(Bucket=bucket, Key="bench/direct-upload")
            result["ingest"] = {
                "modelvault_s": ingest,
                "boto3_direct_s": direct_upload,
                "ratio": ingest / direct_upload,
            }
            log(f"ingest {ingest:.1f} s vs boto3 direct {direct_upload:.1f} s")

            key = f"vault/sha256/{sha[:2]}/{sha[2:4]}/{sha}"
            resolve = f"/resolve/main/{FILE_NAME}"
            ways = {
                "redirect": lambda: curl(
                    f"{redirecting.endpoint}/{REPO}{resolve}", token, "/dev/null", "-L"
                ),
                "streamed": lambda: curl(f"{streaming.endpoint}/{REPO}{resolve}", token),
                "direct": lambda: curl(
                    s3.generate_presigned_url(
                        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=600
                    )
                ),
            }
            speeds: dict[str, list[float]] = {k: [] for k in ways}
            for rep in range(args.reps):
                for name, fetch in ways.items():
                    got = fetch()
                    nbytes, seconds = got["bytes"], got["total"]
                    if nbytes != size:
                        raise RuntimeError(f"{name}: {nbytes} bytes, expected {size}")
                    speeds[name].append(mbps(nbytes, seconds, MiB))
                    log(f"rep {rep + 1} {name}: {speeds[name][-1]:.0f} MiB/s")
            med = {k: statistics.median(v) for k, v in speeds.items()}
            result["download_mib_s"] = {"median": med, "all": speeds}

            hf: dict[str, float] = {}
            for name, server in (("redirect", redirecting), ("streamed", streaming)):
                cache = tmp / f"hf-cache-{name}"
                t0 = time.perf_counter()
                got = hf_hub_download(
                    REPO, FILE_NAME, endpoint=server.endpoint, token=token, cache_dir=cache
                )
                hf[name] = mbps(size, time.perf_counter() - t0, MiB)
                if Path(got).stat().st_size != size:
                    raise RuntimeError("hf_hub_download returned a wrong size")
                shutil.rmtree(cache)
                log(f"hf_hub_download {name}: {hf[name]:.0f} MiB/s")
            result["hf_hub_download_mib_s"] = hf
        finally:
            redirecting.stop()
            streaming.stop()
    return result


def report(r: dict[str, Any]) -> str:
    med = r["download_mib_s"]["median"]
    hf = r["hf_hub_download_mib_s"]
    ing = r["ingest"]
    return "\n".join(
        [
            f"S3 blobs, {r['size_bytes'] / GiB:.2f} GiB file, {r['reps']} reps, medians",
            "| figure | MiB/s or s | ratio |",
            "|---|---|---|",
            f"| curl via 302 to presigned URL | {med['redirect']:.0f} MiB/s "
            f"| {med['redirect'] / med['direct']:.2f} x direct |",
            f"| curl streamed through the server | {med['streamed']:.0f} MiB/s "
            f"| {med['streamed'] / med['direct']:.2f} x direct |",
            f"| curl of a presigned URL (S3 alone) | {med['direct']:.0f} MiB/s | 1.00 |",
            f"| redirect vs streamed | | {med['redirect'] / med['streamed']:.2f} x |",
            f"| hf_hub_download, redirect / streamed | {hf['redirect']:.0f} / "
            f"{hf['streamed']:.0f} MiB/s | {hf['redirect'] / hf['streamed']:.2f} x |",
            f"| ingest: upload_file (LFS) vs boto3 upload_file | {ing['modelvault_s']:.1f} s / "
            f"{ing['boto3_direct_s']:.1f} s | {ing['ratio']:.2f} x |",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-gib", type=float, default=2.0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="256 MiB file")
    parser.add_argument("--tmp-parent", default="/var/tmp")
    args = parser.parse_args()
    if args.quick:
        args.size_gib = 0.25
    if not shutil.which("curl"):
        sys.exit("curl not found")
    tmp = Path(tempfile.mkdtemp(prefix="mv-bench-s3-", dir=args.tmp_parent))
    try:
        result = run(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    table = report(result)
    print()
    print(table)
    save_result("s3", result, table, args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
