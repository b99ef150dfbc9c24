#!/usr/bin/env python
"""Garbage collection on many blobs: time and peak RSS of ``modelvault gc``.

    python bench/bench_gc.py [--blobs 100000] [--needed-every 2]

Fills a fresh data dir (SQLite, folder blob store, under /var/tmp) with N small unique blobs,
one in ``--needed-every`` of them named by a waiver-free reference (a generic bundle file row, so
GC must keep it), then runs ``modelvault gc --dry-run`` and ``modelvault gc`` (grace 0) as child
processes and reports wall time and the child's peak RSS (``ru_maxrss``). Nothing asserts a
timing (bench/README.md, "Garbage collection").
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save_result


def fill(data_dir: Path, n: int, needed_every: int) -> None:
    from modelvault_jlab.bootstrap import open_vault
    from modelvault_jlab.config import VaultSettings

    vault = open_vault(VaultSettings(data_dir=str(data_dir)))
    try:
        db = vault.meta.database  # type: ignore[attr-defined]
        for start in range(0, n, 1000):
            infos = vault.content.put_many(
                [
                    f"blob {i} {os.urandom(8).hex()}".encode()
                    for i in range(start, min(n, start + 1000))
                ]
            )
            with db.transaction() as tx:
                for i, info in enumerate(infos, start):
                    if i % needed_every == 0:  # needed: a generic file of a bundle names it
                        tx.execute(
                            "INSERT INTO bundle_files(name, sha256, size, created_by, created_at) "
                            "VALUES (?, ?, ?, 'bench', 0)",
                            (f"f{i}", info.sha256, info.size),
                        )
    finally:
        vault.close()


def run_gc(data_dir: Path, *extra: str) -> tuple[float, int, dict[str, object]]:
    """Wall seconds, peak RSS bytes of the child, and its JSON report."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    began = time.perf_counter()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelvault_jlab.cli",
            "gc",
            "--json",
            "--grace-seconds",
            "0",
            "--data-dir",
            str(data_dir),
            *extra,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB, max over children
    return seconds, max(peak, before) * 1024, json.loads(out.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blobs", type=int, default=100_000)
    parser.add_argument("--needed-every", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="10,000 blobs")
    args = parser.parse_args()
    n = 10_000 if args.quick else args.blobs
    with tempfile.TemporaryDirectory(dir="/var/tmp", prefix="mv-bench-gc-") as tmp:
        data_dir = Path(tmp) / "vault"
        began = time.perf_counter()
        fill(data_dir, n, args.needed_every)
        fill_seconds = time.perf_counter() - began
        dry_s, dry_rss, dry = run_gc(data_dir, "--dry-run")
        gc_s, gc_rss, done = run_gc(data_dir)
    table = "\n".join(
        [
            f"{n} blobs, 1 in {args.needed_every} needed; filled in {fill_seconds:.1f} s",
            f"  gc --dry-run: {dry_s:.1f} s, {dry['collected']} collectable, "
            f"peak RSS {dry_rss / 2**20:.0f} MiB",
            f"  gc:           {gc_s:.1f} s, {done['collected']} collected "
            f"({done['bytes']} bytes), peak RSS {gc_rss / 2**20:.0f} MiB (max over both runs)",
            f"  per collected blob: {gc_s / max(1, int(str(done['collected']))) * 1e3:.2f} ms",
        ]
    )
    print(table)
    save_result(
        "gc",
        {
            "blobs": n,
            "fill_seconds": fill_seconds,
            "dry_run": [dry_s, dry_rss, dry],
            "gc": [gc_s, gc_rss, done],
        },
        table,
        args.quick,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
