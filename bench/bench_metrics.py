#!/usr/bin/env python
"""Cost of metrics per request: a warm small-file GET with and without them, same run.

    python bench/bench_metrics.py [--rounds 10] [--per-round 200] [--quick]

Starts two ModelVault servers on 127.0.0.1 that differ only in ``VaultSettings.metrics_enabled``,
stores the same 4 KiB file in each, and downloads it through the resolve URL with one keep-alive
client, alternating servers round by round (so machine noise hits both alike). Prints the median
time per GET for each, their ratio, and scrapes ``/metrics`` once at the end to check the
requests were counted. Nothing asserts a timing: compare the ratio (bench/README.md, "Metrics").
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from huggingface_hub import HfApi

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _procs import VaultServer, save_result

REPO = "bench/small"


def start(root: Path, name: str, metrics: bool) -> tuple[VaultServer, str]:
    config = root / f"{name}.py"
    config.write_text(f"c.VaultSettings.metrics_enabled = {metrics}\n")
    server = VaultServer(root / name, root / f"{name}.log")
    server.serve_args = ["--config", str(config)]
    token = server.cli(
        "token",
        "create",
        "--scope",
        "admin",
        "--user",
        "bench",
        "--name",
        "bench",
    )
    server.start(token)
    api = HfApi(endpoint=server.endpoint, token=token)
    api.create_repo(REPO)
    api.upload_file(path_or_fileobj=b"x" * 4096, path_in_repo="config.json", repo_id=REPO)
    return server, token


def timed_gets(client: httpx.Client, url: str, token: str, n: int) -> float:
    """Seconds per GET over ``n`` sequential GETs."""
    headers = {"Authorization": f"Bearer {token}"}
    began = time.perf_counter()
    for _ in range(n):
        r = client.get(url, headers=headers)
        if r.status_code != 200 or len(r.content) != 4096:
            raise RuntimeError(f"GET {url}: {r.status_code}")
    return (time.perf_counter() - began) / n


def recording_cost(n: int = 100_000) -> float:
    """Seconds per request of what metrics add in the server (family lookup + counters)."""
    from modelvault_jlab.core.metrics import VaultMetrics
    from modelvault_jlab.web.hf import ResolveHandler
    from modelvault_jlab.web.metrics import family_of

    metrics = VaultMetrics()
    handler = ResolveHandler.__new__(ResolveHandler)
    began = time.perf_counter()
    for _ in range(n):
        metrics.request_answered(family_of(handler), 200, 0.001, 0, 4096)
    return (time.perf_counter() - began) / n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="3 rounds of 50")
    args = parser.parse_args()
    rounds, per_round = (3, 50) if args.quick else (args.rounds, args.per_round)
    with tempfile.TemporaryDirectory(dir="/var/tmp", prefix="mv-bench-metrics-") as tmp:
        root = Path(tmp)
        servers: dict[str, tuple[VaultServer, str]] = {}
        try:
            servers["with"] = start(root, "with", True)
            servers["without"] = start(root, "without", False)
            times: dict[str, list[float]] = {"with": [], "without": []}
            with httpx.Client(timeout=30) as client:
                urls = {
                    k: f"{s.endpoint}/{REPO}/resolve/main/config.json"
                    for k, (s, _) in servers.items()
                }
                for k, (_, token) in servers.items():  # warm: scanned, cached decisions
                    timed_gets(client, urls[k], token, 20)
                for i in range(rounds):
                    order = ["with", "without"] if i % 2 == 0 else ["without", "with"]
                    for k in order:
                        times[k].append(timed_gets(client, urls[k], servers[k][1], per_round))
                server, token = servers["with"]
                scraped = client.get(
                    f"http://127.0.0.1:{server.port}/metrics",
                    headers={"Authorization": f"Bearer {token}"},
                ).text
        finally:
            for server, _ in servers.values():
                server.stop()
    counted = next(
        (
            float(line.rsplit(" ", 1)[1])
            for line in scraped.splitlines()
            if line.startswith('modelvault_http_requests_total{family="hf_resolve",status="200"}')
        ),
        0.0,
    )
    med = {k: statistics.median(v) for k, v in times.items()}
    cost = recording_cost()
    ratio = med["with"] / med["without"]
    table = "\n".join(
        [
            f"warm 4 KiB GET, {rounds} rounds x {per_round}, one keep-alive client",
            f"  without metrics: {med['without'] * 1e3:.3f} ms per GET (median of rounds)",
            f"  with metrics:    {med['with'] * 1e3:.3f} ms per GET (median of rounds)",
            f"  ratio with/without: {ratio:.3f} ({(ratio - 1) * 100:+.1f} %)",
            f"  resolve GETs counted by /metrics: {counted:.0f}",
            f"  in-process cost of recording one request: {cost * 1e6:.1f} us "
            f"({cost / med['without'] * 100:.2f} % of a GET without metrics)",
        ]
    )
    print(table)
    result: dict[str, Any] = {
        "rounds": rounds,
        "per_round": per_round,
        "seconds_per_get": times,
        "median": med,
        "ratio": ratio,
        "counted": counted,
        "recording_seconds_per_request": cost,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    save_result("metrics", result, table, args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
