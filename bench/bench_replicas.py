#!/usr/bin/env python
"""Replica benchmark: commits per second to distinct repos, 1 and 2 replicas on PostgreSQL, and
1 process on SQLite, in the same run.

    python bench/bench_replicas.py [--workers 8] [--seconds 10] [--reps 3]
                                   [--database-url postgresql://…] [--quick]

Each worker thread commits one small inline file per commit (the Hub's NDJSON commit API, over a
keep-alive connection) to its own repo, for ``--seconds``; with 2 replicas the workers alternate
between them. Blobs are files in one shared folder for every configuration, so the figures differ
by the metadata store and the number of processes only. Without ``--database-url`` a throwaway
PostgreSQL cluster is started (tests/pg_service.py; needs initdb), and each configuration gets a
fresh database. Prints medians and same-run ratios, writes JSON to bench/out/; asserts no timing
(the machine is shared: compare the ratios).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench._common import VaultServer, cpu_seconds, log, save_result  # noqa: E402
from tests.servers import HOST  # noqa: E402


@contextlib.contextmanager
def postgres(url: str | None) -> Iterator[Any]:
    """A function giving a database URL per configuration: fresh ones from a throwaway cluster,
    or always ``url`` (repo names differ per configuration, so they do not collide)."""
    if url:
        yield lambda: url
        return
    from tests.pg_service import PostgresCluster

    cluster = PostgresCluster()
    try:
        cluster.start()
        yield cluster.create_database
    finally:
        cluster.stop()


def commit_body(path: str, data: bytes) -> bytes:
    lines = [
        {"key": "header", "value": {"summary": f"add {path}", "description": ""}},
        {
            "key": "file",
            "value": {
                "path": path,
                "encoding": "base64",
                "content": base64.b64encode(data).decode(),
            },
        },
    ]
    return b"\n".join(json.dumps(line).encode() for line in lines) + b"\n"


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine so far (/proc/stat)."""
    with open("/proc/stat") as f:
        values = [float(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def measure(
    endpoints: list[str], token: str, tag: str, workers: int, seconds: float, pids: list[int]
) -> dict[str, Any]:
    """``workers`` threads committing to their own repos for ``seconds``: commits/s, latency,
    server CPU per commit, and how busy the whole machine was (a saturated machine cannot show
    what a second replica adds)."""
    headers = {"Authorization": f"Bearer {token}"}
    repos = [f"bench/{tag}-w{w}" for w in range(workers)]
    for w, repo in enumerate(repos):
        r = httpx.post(
            f"{endpoints[w % len(endpoints)]}/api/repos/create",
            json={"name": repo.split("/")[1], "organization": "bench", "type": "model"},
            headers=headers,
            timeout=30,
        )
        r.raise_for_status()
    latencies: list[list[float]] = [[] for _ in range(workers)]
    errors: list[str] = []
    start = threading.Barrier(workers + 1)

    def worker(w: int) -> None:
        url = f"{endpoints[w % len(endpoints)]}/api/models/{repos[w]}/commit/main"
        with httpx.Client(headers={**headers, "Content-Type": "application/x-ndjson"}) as c:
            start.wait()
            stop_at = time.monotonic() + seconds
            n = 0
            while n == 0 or time.monotonic() < stop_at:
                body = commit_body(f"f/{n:06d}.txt", f"{tag} {w} {n}".encode())
                t0 = time.monotonic()
                r = c.post(url, content=body, timeout=60)
                if r.status_code != 200:
                    errors.append(f"{r.status_code} {r.text[:200]}")
                    return
                latencies[w].append(time.monotonic() - t0)
                n += 1

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(workers)]
    for t in threads:
        t.start()
    cpu0, (busy0, total0) = sum(cpu_seconds(p) for p in pids), machine_cpu()
    start.wait()
    t0 = time.monotonic()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    cpu1, (busy1, total1) = sum(cpu_seconds(p) for p in pids), machine_cpu()
    if errors:
        raise RuntimeError(f"{len(errors)} commit(s) failed, e.g. {errors[0]}")
    flat = sorted(x for lat in latencies for x in lat)
    return {
        "commits": len(flat),
        "seconds": elapsed,
        "commits_per_s": len(flat) / elapsed,
        "p50_ms": 1000 * flat[len(flat) // 2],
        "p95_ms": 1000 * flat[int(len(flat) * 0.95)],
        "server_cpu_ms_per_commit": 1000 * (cpu1 - cpu0) / len(flat),
        "machine_busy": (busy1 - busy0) / max(total1 - total0, 1.0),
    }


def configuration(
    tmp: Path, name: str, replicas: int, database_url: str | None, args: argparse.Namespace
) -> dict[str, Any]:
    """Start ``replicas`` servers on one data dir (+ ``database_url``) and measure."""
    data_dir = tmp / name
    data_dir.mkdir()
    saved = os.environ.get("MODELVAULT_DATABASE_URL")
    if database_url:  # the servers and the CLI read it (never on a command line: a password)
        os.environ["MODELVAULT_DATABASE_URL"] = database_url
    else:
        os.environ.pop("MODELVAULT_DATABASE_URL", None)
    servers = [VaultServer(data_dir, tmp / f"{name}-{i}.log") for i in range(replicas)]
    try:
        token = servers[0].cli("token", "create", "--scope", "admin", "--name", "bench")
        for s in servers:
            s.start(token)
        endpoints = [s.endpoint for s in servers]
        pids = [s.pid for s in servers]
        measure(endpoints, token, f"{name}-warmup", args.workers, 1.0, pids)
        runs = [
            measure(endpoints, token, f"{name}-r{i}", args.workers, args.seconds, pids)
            for i in range(args.reps)
        ]
    finally:
        for s in servers:
            s.stop()
        if saved is None:
            os.environ.pop("MODELVAULT_DATABASE_URL", None)
        else:
            os.environ["MODELVAULT_DATABASE_URL"] = saved
    result = {
        "replicas": replicas,
        "database": "postgresql" if database_url else "sqlite",
        "runs": runs,
        "median_commits_per_s": statistics.median(r["commits_per_s"] for r in runs),
        "median_p50_ms": statistics.median(r["p50_ms"] for r in runs),
        "median_p95_ms": statistics.median(r["p95_ms"] for r in runs),
        "median_server_cpu_ms_per_commit": statistics.median(
            r["server_cpu_ms_per_commit"] for r in runs
        ),
        "median_machine_busy": statistics.median(r["machine_busy"] for r in runs),
    }
    log(f"{name}: {result['median_commits_per_s']:.1f} commits/s")
    return result


def report(result: dict[str, Any]) -> str:
    c = result["configs"]
    base = c["sqlite-1"]["median_commits_per_s"]
    pg1 = c["postgres-1"]["median_commits_per_s"]
    lines = [
        f"Commits/s to distinct repos, {result['workers']} workers, {result['seconds']} s x "
        f"{result['reps']} runs (medians), host {HOST}",
        "",
        f"{os.cpu_count()} CPUs; load average at the end {os.getloadavg()[0]:.1f}",
        "",
        "| configuration | commits/s | p50 | p95 | server CPU/commit | machine busy "
        "| vs SQLite, 1 process | vs PostgreSQL, 1 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in ("sqlite-1", "postgres-1", "postgres-2"):
        r = c[name]
        lines.append(
            f"| {name} | {r['median_commits_per_s']:.1f} | {r['median_p50_ms']:.0f} ms | "
            f"{r['median_p95_ms']:.0f} ms | {r['median_server_cpu_ms_per_commit']:.1f} ms | "
            f"{100 * r['median_machine_busy']:.0f}% | {r['median_commits_per_s'] / base:.2f} | "
            f"{r['median_commits_per_s'] / pg1:.2f} |"
        )
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# Replica follower: cold downloads of one big file split over two replicas on one data dir
# ----------------------------------------------------------------------------------------------
CARD = b"---\nlicense: apache-2.0\n---\n# follower bench\n"


def follower(tmp: Path, clients: int) -> dict[str, Any]:
    """``clients`` concurrent cold downloads of one file of $MODELVAULT_BENCH_FOLLOWER_MIB MiB
    (default 256) from an hf-remote, alternating between two replicas on one data dir (SQLite +
    blob folder); the upstream is a third vault. Upstream fetches come from the upstream's audit
    log; each client measures its first byte and its whole download (and checks the sha256)."""
    os.environ["HF_HUB_DISABLE_XET"] = "1"
    from huggingface_hub import HfApi

    from bench._common import MiB, make_file, sha256_of
    from bench.bench_remote import upstream_downloads

    size = int(os.environ.get("MODELVAULT_BENCH_FOLLOWER_MIB", "256")) * MiB
    up = VaultServer(tmp / "up", tmp / "up.log")
    replicas = [VaultServer(tmp / "vault", tmp / f"vault-{i}.log") for i in range(2)]
    up_admin = up.cli("token", "create", "--scope", "admin", "--user", "bench")
    up_read = up.cli("token", "create", "--scope", "read", "--user", "vault-mirror")
    token = replicas[0].cli("token", "create", "--scope", "admin", "--name", "bench")
    try:
        up.start(up_admin)
        for r in replicas:
            r.start(token)
        src = tmp / "model.safetensors"
        make_file(src, size)
        digest = sha256_of(src)
        api = HfApi(endpoint=up.endpoint, token=up_admin)
        api.create_repo("bench/big")
        t0 = time.monotonic()
        api.upload_file(path_or_fileobj=CARD, path_in_repo="README.md", repo_id="bench/big")
        api.upload_file(path_or_fileobj=str(src), path_in_repo=src.name, repo_id="bench/big")
        log(f"upstream holds {size / MiB:.0f} MiB ({time.monotonic() - t0:.1f} s to upload)")
        src.unlink()
        headers = {"Authorization": f"Bearer {token}"}
        base = f"http://{HOST}:{replicas[0].port}/modelvault"
        created = httpx.post(
            f"{base}/api/repositories",
            json={
                "key": "hub-remote",
                "kind": "hf-remote",
                "config": {"upstream": up.endpoint, "upstream_token": up_read},
            },
            headers=headers,
            timeout=30,
        )
        created.raise_for_status()
        urls = [
            f"http://{HOST}:{r.port}/modelvault/hf/hub-remote/bench/big/resolve/main/"
            for r in replicas
        ]
        # The model card, which the gate reads for the licence, is cached first; reading it
        # through each replica also warms the processes (a file is cold here, not a server).
        for url in urls:
            httpx.get(url + "README.md", headers=headers, timeout=60).raise_for_status()
        results: list[dict[str, Any]] = [{} for _ in range(clients)]
        gate = threading.Barrier(clients + 1)

        def client(i: int) -> None:
            h = hashlib.sha256()
            got = 0
            first = float("nan")
            with httpx.Client(headers=headers, timeout=600) as c:
                gate.wait()
                t = time.monotonic()
                with c.stream("GET", urls[i % 2] + "model.safetensors") as r:
                    for chunk in r.iter_bytes(1 << 20):
                        if got == 0:
                            first = time.monotonic() - t
                        got += len(chunk)
                        h.update(chunk)
                results[i] = {
                    "replica": i % 2,
                    "status": r.status_code,
                    "first_byte_s": first,
                    "total_s": time.monotonic() - t,
                    "bytes": got,
                    "ok": r.status_code == 200 and got == size and h.hexdigest() == digest,
                }

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        gate.wait()
        t0 = time.monotonic()
        for t in threads:
            t.join()
        wall = time.monotonic() - t0
        fetches = upstream_downloads(up, up_admin, "vault-mirror", "bench/big", "model.safetensors")
    finally:
        for r in replicas:
            r.stop()
        up.stop()
    return {
        "size_mib": size // MiB,
        "clients": clients,
        "upstream_fetches": fetches,
        "max_first_byte_s": max(r["first_byte_s"] for r in results),
        "median_first_byte_s": statistics.median(r["first_byte_s"] for r in results),
        "max_total_s": max(r["total_s"] for r in results),
        "wall_s": wall,
        "all_ok": all(r["ok"] for r in results),
        "clients_detail": results,
    }


def follower_report(result: dict[str, Any]) -> str:
    lines = [
        f"Replica follower: {result['clients']} cold downloads of one {result['size_mib']} MiB file, "
        f"alternating over 2 replicas on one data dir; {os.cpu_count()} CPUs, load "
        f"{os.getloadavg()[0]:.1f}",
        "",
        "| upstream fetches | first byte, max | first byte, median | slowest client | all "
        "byte-identical |",
        "|---|---|---|---|---|",
        f"| {result['upstream_fetches']} | {result['max_first_byte_s']:.2f} s | "
        f"{result['median_first_byte_s']:.2f} s | {result['max_total_s']:.1f} s | "
        f"{'yes' if result['all_ok'] else 'NO'} |",
        "",
        "| client | replica | first byte | total |",
        "|---|---|---|---|",
    ]
    for i, c in enumerate(result["clients_detail"]):
        lines.append(f"| {i} | {c['replica']} | {c['first_byte_s']:.2f} s | {c['total_s']:.1f} s |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("MODELVAULT_BENCH_DATABASE_URL"),
        help="PostgreSQL to use (default: a throwaway cluster; or $MODELVAULT_BENCH_DATABASE_URL)",
    )
    parser.add_argument("--quick", action="store_true", help="4 workers, 4 s, 1 run")
    parser.add_argument("--tmp-parent", default="/var/tmp")
    parser.add_argument(
        "--follower",
        action="store_true",
        help="only the replica-follower figure: 8 cold downloads of one file over 2 replicas "
        "(size: $MODELVAULT_BENCH_FOLLOWER_MIB, default 256)",
    )
    args = parser.parse_args()
    if args.follower:
        tmp = Path(tempfile.mkdtemp(prefix="mv-bench-follower-", dir=args.tmp_parent))
        try:
            result = follower(tmp, 8)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        table = follower_report(result)
        print()
        print(table)
        save_result("replicas-follower", result, table, result["size_mib"] < 1024)
        return 0
    if args.quick:
        args.workers, args.seconds, args.reps = 4, 4.0, 1
    tmp = Path(tempfile.mkdtemp(prefix="mv-bench-replicas-", dir=args.tmp_parent))
    try:
        with postgres(args.database_url) as database:
            configs = {
                "sqlite-1": configuration(tmp, "sqlite-1", 1, None, args),
                "postgres-1": configuration(tmp, "postgres-1", 1, database(), args),
                "postgres-2": configuration(tmp, "postgres-2", 2, database(), args),
            }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result: dict[str, Any] = {
        "workers": args.workers,
        "seconds": args.seconds,
        "reps": args.reps,
        "configs": configs,
        "command": " ".join([os.path.basename(sys.executable), *sys.argv]),
    }
    table = report(result)
    print()
    print(table)
    save_result("replicas", result, table, args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
