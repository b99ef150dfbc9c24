#!/usr/bin/env python
"""Bundle benchmark: export then import of a bundle with one big model and 20 wheels.

    python bench/bench_bundles.py [--size-gib 2] [--quick] [--wheels 20]

Two ModelVault servers on 127.0.0.1 (source and air-gapped target), data under one
``mktemp -d -p /var/tmp`` directory, removed at the end. The source is seeded through the
storage (as the admin CLI does), then everything measured goes over HTTP:

1. export (``curl -o FILE`` of ``GET bundles/N/V/archive``) + import (``curl -X POST -T FILE``
   to ``bundles/import``; both streamed) vs ``tar -cf`` + ``tar -xf`` + ``sha256sum`` of the same files
   (the same work without a vault: pack, unpack, check every digest);
2. RSS growth of each server during its half (VmRSS sampled every 50 ms, peak - idle);
3. offline verification (``modelvault bundle verify ARCHIVE --key-file``) vs ``sha256sum`` of
   the files the archive carries.

Nothing here asserts a timing; the machine is shared and noisy: compare the ratios.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench._common import GiB, MiB, RssSampler, VaultServer, log, make_file  # noqa: E402


def seed(data_dir: Path, big: Path, wheels: int, tmp: Path) -> list[Path]:
    """Model repo ``bench/big`` + ``wheels`` wheels in pypi-local ``pypi``, written through the
    storage like the admin CLI (the server is not running yet). Returns the payload files."""
    from modelvault_jlab.bootstrap import open_vault
    from modelvault_jlab.config import VaultSettings
    from modelvault_jlab.core.hub.refs import HubRef
    from modelvault_jlab.core.hub.write import PutFile
    from modelvault_jlab.core.identity import SYSTEM
    from tests.pypi.dists import wheel_bytes, wheel_name

    vault = open_vault(VaultSettings(data_dir=str(data_dir)))
    vault.repositories.create(SYSTEM, "pypi", "pypi-local")
    ref = HubRef("models", "model", "bench/big")
    vault.hub_write.create_repo(SYSTEM, ref)
    writer = vault.content.writer()
    with big.open("rb") as f:
        while chunk := f.read(8 * MiB):
            writer.write(chunk)
    info = vault.content.finish(writer)
    card = vault.content.put_bytes(b"---\nlicense: apache-2.0\n---\n# big\n")
    ops = [
        PutFile("model.safetensors.bin", info.sha256, info.size, None),
        PutFile("README.md", card.sha256, card.size, None),
    ]
    vault.hub_write.commit(SYSTEM, ref, "main", ops, title="big model")
    files = [big]
    for i in range(wheels):
        name = f"benchpkg{i}"
        data = wheel_bytes(name, "1.0.0", payload=os.urandom(2 * MiB))
        path = tmp / wheel_name(name, "1.0.0")
        path.write_bytes(data)
        files.append(path)
        session = vault.pypi.begin_upload(SYSTEM, "pypi")
        session.start_file(path.name)
        session.write(data)
        session.fields = {":action": ["file_upload"], "name": [name], "version": ["1.0.0"]}
        vault.pypi.finish_upload(session)
    vault.close()
    return files


def timed(cmd: list[str], **kw: Any) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-gib", type=float, default=2.0)
    ap.add_argument("--quick", action="store_true", help="256 MiB model")
    ap.add_argument("--wheels", type=int, default=20)
    args = ap.parse_args()
    size = 256 * MiB if args.quick else int(args.size_gib * GiB)
    tmp = Path(tempfile.mkdtemp(prefix="mv-bench-bundles-", dir="/var/tmp"))
    src = VaultServer(tmp / "src", tmp / "src.log")
    dst = VaultServer(tmp / "dst", tmp / "dst.log")
    result: dict[str, Any] = {
        "size": size,
        "wheels": args.wheels,
        "when": dt.datetime.now().isoformat(),
    }
    try:
        big = tmp / "model.safetensors.bin"
        log(f"writing {size / MiB:.0f} MiB model")
        make_file(big, size)
        payload = seed(src.data_dir, big, args.wheels, tmp)
        src_token = src.cli("token", "create", "--scope", "admin")
        dst_token = dst.cli("token", "create", "--scope", "admin")
        src.start(src_token)
        dst.start(dst_token)
        sh = {"Authorization": f"Bearer {src_token}"}
        dh = {"Authorization": f"Bearer {dst_token}"}
        base_s = f"http://127.0.0.1:{src.port}/modelvault/api/"
        base_d = f"http://127.0.0.1:{dst.port}/modelvault/api/"
        httpx.post(base_d + "repositories", json={"key": "pypi", "kind": "pypi-local"}, headers=dh)
        comps: list[dict[str, Any]] = [
            {"kind": "hub", "repository": "models", "repo_id": "bench/big"}
        ] + [
            {"kind": "package", "repository": "pypi", "name": f"benchpkg{i}", "version": "1.0.0"}
            for i in range(args.wheels)
        ]
        t0 = time.perf_counter()
        r = httpx.post(
            base_s + "bundles",
            json={"name": "bench", "version": "1", "components": comps},
            headers=sh,
            timeout=3600,
        )
        r.raise_for_status()
        result["create_s"] = time.perf_counter() - t0
        key = r.json()["signature"]["key_id"]
        keys = httpx.get(base_s + "bundle-keys", headers=sh).json()["keys"]
        pub = next(k["public_key"] for k in keys if k["key_id"] == key)
        httpx.post(base_d + "bundle-keys", json={"public_key": pub}, headers=dh).raise_for_status()
        total = sum(p.stat().st_size for p in payload)
        result["payload_bytes"] = total
        archive = tmp / "bench.tar"

        idle = src.settle_rss()
        log("export")
        with RssSampler(src.pid) as rs:
            result["export_s"] = timed(
                [
                    "curl",
                    "-sS",
                    "-f",
                    "-o",
                    str(archive),
                    "-H",
                    f"Authorization: Bearer {src_token}",
                    base_s + "bundles/bench/1/archive",
                ]
            )
        result["export_rss_growth_mib"] = (rs.peak - idle) / MiB

        idle = dst.settle_rss()
        log("import")

        url = base_d + "bundles/import?hub_repository=models&pypi_repository=pypi"
        with RssSampler(dst.pid) as rd:
            t0 = time.perf_counter()
            out = subprocess.run(
                [
                    "curl",
                    "-sS",
                    "-f",
                    "-X",
                    "POST",
                    "-T",
                    str(archive),
                    "-H",
                    f"Authorization: Bearer {dst_token}",
                    "-H",
                    "Expect:",
                    url,
                ],
                check=True,
                capture_output=True,
            )
            result["import_s"] = time.perf_counter() - t0
        assert json.loads(out.stdout)["digest"]
        result["import_rss_growth_mib"] = (rd.peak - idle) / MiB

        log("baseline: tar -cf, tar -xf, sha256sum")
        names = [p.name for p in payload]
        result["tar_c_s"] = timed(["tar", "-cf", str(tmp / "base.tar"), *names], cwd=tmp)
        (tmp / "x").mkdir()
        result["tar_x_s"] = timed(["tar", "-xf", str(tmp / "base.tar"), "-C", str(tmp / "x")])
        result["sha256sum_x_s"] = timed(["sha256sum", *names], cwd=tmp / "x")
        shutil.rmtree(tmp / "x")
        (tmp / "base.tar").unlink()

        log("verify offline")
        (tmp / "key.pub").write_text(pub)
        result["sha256sum_s"] = timed(["sha256sum", *[str(p) for p in payload]])
        if shutil.which("openssl"):  # reference: OpenSSL's SHA-256 (what hashlib uses)
            result["openssl_sha256_s"] = timed(
                ["openssl", "dgst", "-sha256", *[str(p) for p in payload]]
            )
        result["verify_s"] = timed(
            [
                sys.executable,
                "-m",
                "modelvault_jlab.cli",
                "bundle",
                "verify",
                str(archive),
                "--key-file",
                str(tmp / "key.pub"),
            ]
        )
        vault_s = result["export_s"] + result["import_s"]
        base_s_ = result["tar_c_s"] + result["tar_x_s"] + result["sha256sum_x_s"]
        result["vault_mb_s"] = total / vault_s / 1e6
        result["baseline_mb_s"] = total / base_s_ / 1e6
        result["throughput_ratio"] = base_s_ / vault_s
        result["verify_ratio"] = result["verify_s"] / result["sha256sum_s"]
        print(json.dumps(result, indent=1))
        out = ROOT / "bench" / "out"
        out.mkdir(exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        (out / f"bundles-{'quick-' if args.quick else ''}{stamp}.json").write_text(
            json.dumps(result, indent=1)
        )
        return 0
    finally:
        src.stop()
        dst.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
