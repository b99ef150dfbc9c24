"""Write-behind A/B (issue 17): a blob written through the ingest pipeline and published (fsync),
with ``sync_file_range`` write-back started per 8 MiB (storage/write_behind.py) and without.

Usage (repo root, project venv)::

    python bench/bench_write_behind.py            # 512 MiB, 3 rounds of each, alternating
    python bench/bench_write_behind.py --quick    # 128 MiB, 2 rounds

The source is in /dev/shm (no disk read); the blob store in /var/tmp. Per case: wall time to a
published blob, the part of it spent in the final commit (fsync), and process CPU seconds. The
figure is the ratio of the medians, without / with (> 1: write-behind is faster); the load
average is printed next to it.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from modelvault_jlab.storage import write_behind
from modelvault_jlab.storage.blobs_fs import FsBlobStore
from modelvault_jlab.storage.ingest import IngestPipeline

MiB = 1 << 20


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def one(store: FsBlobStore, src: Path, enabled: bool) -> dict[str, float]:
    saved = write_behind._sync_file_range
    if not enabled:
        write_behind._sync_file_range = None
    try:
        t0, c0 = time.perf_counter(), cpu()
        writer = store.open_writer()
        pipeline = IngestPipeline(writer)
        with src.open("rb", buffering=0) as f:
            pipeline.feed_from(f)
        pipeline.finish()
        t1 = time.perf_counter()
        info = writer.commit()
        t2 = time.perf_counter()
        store.delete(info.sha256)
        return {"wall": t2 - t0, "commit": t2 - t1, "cpu": cpu() - c0}
    finally:
        write_behind._sync_file_range = saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    size, rounds = (128 * MiB, 2) if args.quick else (512 * MiB, 3)
    if write_behind._sync_file_range is None:
        print("sync_file_range is not available here: nothing to compare")
        return 0
    shm = Path(tempfile.mkdtemp(dir="/dev/shm"))
    tmp = Path(tempfile.mkdtemp(prefix="mv-write-behind-", dir="/var/tmp"))
    try:
        src = shm / "src"
        with src.open("wb") as f:
            for _ in range(size // (16 * MiB)):
                f.write(os.urandom(16 * MiB))
        store = FsBlobStore(tmp / "blobs")
        load0 = os.getloadavg()[0]
        results: dict[bool, list[dict[str, float]]] = {True: [], False: []}
        for _ in range(rounds):
            for enabled in (False, True):
                r = one(store, src, enabled)
                results[enabled].append(r)
                print(f"write-behind {'on ' if enabled else 'off'}: wall {r['wall']:.2f} s, "
                      f"commit {r['commit']:.2f} s, CPU {r['cpu']:.2f} s")  # fmt: skip
    finally:
        shutil.rmtree(shm, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    med = {e: {k: statistics.median(x[k] for x in rs) for k in ("wall", "commit", "cpu")}
           for e, rs in results.items()}  # fmt: skip
    print(f"{size // MiB} MiB, {rounds} rounds; load average {load0:.1f} -> "
          f"{os.getloadavg()[0]:.1f}")  # fmt: skip
    print("| figure (median) | off | on | off / on |")
    print("| --- | --- | --- | --- |")
    for k in ("wall", "commit", "cpu"):
        off, on = med[False][k], med[True][k]
        print(f"| {k} s | {off:.2f} | {on:.2f} | {off / on if on else float('inf'):.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
