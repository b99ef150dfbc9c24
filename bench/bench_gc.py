#!/usr/bin/env python
"""Garbage collection on many blobs: time and peak RSS of ``modelvault gc``.

    python bench/bench_gc.py [--blobs 100000] [--needed-every 2] [--xet-files N] [--quick]

Fills a fresh data dir (SQLite, folder blob store, under /var/tmp) with N small unique blobs,
one in ``--needed-every`` of them named by a waiver-free reference (a generic bundle file row, so
GC must keep it), then runs ``modelvault gc --dry-run`` and ``modelvault gc`` (grace 0) as child
processes and reports wall time, the child's CPU seconds and peak RSS (``ru_maxrss``).

With ``--xet-files M`` (default N/10) a second data dir holds the same blobs plus M Xet files,
each a registered sha256 over its own xorb (a blob) of two chunks, one in ``--needed-every``
named by a bundle file: the run prints the CPU ratio of the two collections (same run, same
load) and the extra CPU per Xet file. Nothing asserts a timing (bench/README.md, "Garbage
collection"); the load average is printed next to every figure.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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


def fill_xet(data_dir: Path, m: int, needed_every: int) -> None:
    """M Xet files, each over its own xorb of two small chunks (registered as uploads are)."""
    from modelvault_jlab.bootstrap import open_vault
    from modelvault_jlab.config import VaultSettings
    from modelvault_jlab.core.xet.hashing import chunk_hash, file_hash, hash_to_string
    from modelvault_jlab.core.xet.xorb import build_xorb, verify_xorb
    from modelvault_jlab.ids import Sha256
    from modelvault_jlab.storage.records import (
        BlobInfo,
        XetFileRecord,
        XetTermRecord,
        XorbChunkRecord,
        XorbRecord,
    )

    vault = open_vault(VaultSettings(data_dir=str(data_dir)))
    meta: Any = vault.meta
    try:
        for start in range(0, m, 500):
            files = [[os.urandom(512), os.urandom(512)] for _ in range(start, min(m, start + 500))]
            xorbs = [build_xorb(chunks) for chunks in files]
            blobs = vault.content.put_many([data for data, _ in xorbs])
            needed = []
            for i, (chunks, (data, h), blob) in enumerate(zip(files, xorbs, blobs, strict=True)):
                verified = verify_xorb(data, h)
                name = hash_to_string(h)
                rows = [
                    XorbChunkRecord(
                        k,
                        hash_to_string(c.hash),
                        c.raw_start,
                        c.raw_len,
                        c.ser_start,
                        c.ser_end,
                    )
                    for k, c in enumerate(verified.chunks)
                ]
                meta.put_xorb(
                    XorbRecord(name, blob.sha256, len(data), verified.raw_len, 2),
                    rows,
                    "models",
                )
                content = b"".join(chunks)
                sha = Sha256(hashlib.sha256(content).hexdigest())
                fh = hash_to_string(file_hash([(chunk_hash(c), len(c)) for c in chunks]))
                term = XetTermRecord(name, 0, 2, len(content))
                meta.put_xet_file(XetFileRecord(fh, sha, len(content), (term,)), "models")
                meta.register_blob(BlobInfo(sha, len(content)))
                if (start + i) % needed_every == 0:
                    needed.append((f"x{start + i}", sha, len(content)))
            with meta.database.transaction() as tx:  # needed: a generic file of a bundle
                tx.executemany(
                    "INSERT INTO bundle_files(name, sha256, size, created_by, created_at) "
                    "VALUES (?, ?, ?, 'bench', 0)",
                    needed,
                )
    finally:
        vault.close()


def run_gc(data_dir: Path, *extra: str) -> tuple[float, float, int, dict[str, object]]:
    """Wall seconds, CPU seconds and peak RSS bytes of the child, and its JSON report."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
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
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    peak = after.ru_maxrss  # KiB, max over children so far
    return seconds, cpu, peak * 1024, json.loads(out.stdout)


def _load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blobs", type=int, default=100_000)
    parser.add_argument("--needed-every", type=int, default=2)
    parser.add_argument("--xet-files", type=int, default=None, help="default: blobs / 10")
    parser.add_argument("--quick", action="store_true", help="10,000 blobs")
    args = parser.parse_args()
    n = 10_000 if args.quick else args.blobs
    m = n // 10 if args.xet_files is None else args.xet_files
    lines = []
    results: dict[str, Any] = {"blobs": n, "xet_files": m}
    with tempfile.TemporaryDirectory(dir="/var/tmp", prefix="mv-bench-gc-") as tmp:
        for label, xet in (("blobs only", 0), ("with Xet", m)):
            data_dir = Path(tmp) / label.replace(" ", "-")
            began = time.perf_counter()
            fill(data_dir, n, args.needed_every)
            if xet:
                fill_xet(data_dir, xet, args.needed_every)
            fill_seconds = time.perf_counter() - began
            dry_s, dry_cpu, dry_rss, dry = run_gc(data_dir, "--dry-run")
            dry_load = _load()
            gc_s, gc_cpu, gc_rss, done = run_gc(data_dir)
            results[label] = {
                "fill_seconds": fill_seconds,
                "dry_run": [dry_s, dry_cpu, dry_rss, dry],
                "gc": [gc_s, gc_cpu, gc_rss, done],
            }
            collected = max(1, int(str(done["collected"])))
            lines += [
                f"{label}: {n} blobs + {xet} Xet files, 1 in {args.needed_every} needed; "
                f"filled in {fill_seconds:.1f} s",
                f"  gc --dry-run: {dry_s:.1f} s wall, {dry_cpu:.1f} s CPU ({dry_load}), "
                f"{dry['collected']} collectable, {dry.get('xet_files', 0)} Xet files, "
                f"peak RSS {dry_rss / 2**20:.0f} MiB",
                f"  gc:           {gc_s:.1f} s wall, {gc_cpu:.1f} s CPU ({_load()}), "
                f"{done['collected']} blobs collected ({done['bytes']} bytes), "
                f"{done.get('xet_files', 0)} Xet files, {done.get('xorbs', 0)} xorbs, "
                f"peak RSS {gc_rss / 2**20:.0f} MiB (max over runs so far)",
                f"  per collected blob: {gc_cpu / collected * 1e3:.2f} ms CPU",
            ]
    base, with_xet = results["blobs only"]["gc"], results["with Xet"]["gc"]
    ratio = with_xet[1] / max(base[1], 1e-9)
    per_file = (with_xet[1] - base[1]) / max(1, m - m // args.needed_every) * 1e3
    lines.append(
        f"ratio gc CPU with Xet / blobs only: {ratio:.2f}; extra CPU per collected Xet file "
        f"(its registration, rows, xorb and xorb blob): {per_file:.2f} ms ({_load()})"
    )
    table = "\n".join(lines)
    print(table)
    save_result("gc", results, table, args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
