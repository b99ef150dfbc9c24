"""Hostile requests (issue 14): server memory while 100 unauthenticated clients each send a 1 GB
body, and the latency of a cheap GET every 50 ms while the hostile requests of the issue run.

    python bench/bench_hostile.py            # 100 clients x 1 GB, hostile set 3 times
    python bench/bench_hostile.py --quick    # 20 clients x 256 MiB, hostile set once

Targets: RSS growth < 64 MiB; probe p99 < 100 ms (and its max, for the record). Loopback only;
the server and the hostile clients are separate processes from the probe.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import RssSampler, VaultServer, save_result
from tests.hostile import MiB, send_body, status_of
from tests.latency_probe import latency_probe

REPO = "bench/hostile"


def flood(server: VaultServer, clients: int, body_bytes: int) -> dict[str, Any]:
    """``clients`` unauthenticated POSTs at once, each announcing and sending ``body_bytes``
    (half with Content-Length, half chunked), to a buffered route and to a streaming one."""
    base = f"http://127.0.0.1:{server.port}/"
    paths = ["modelvault/api/tokens", f"modelvault/hf/models/api/models/{REPO}/commit/main"]
    statuses: list[int | None] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        framing = {"Content-Length": str(body_bytes)} if i % 2 else {}
        answer = send_body(base + paths[i % len(paths)], framing, body_bytes, timeout=300)
        with lock:
            statuses.append(status_of(answer))

    idle = server.settle_rss()
    started = time.monotonic()
    with RssSampler(server.pid) as rss:
        threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return {
        "clients": clients,
        "body_bytes": body_bytes,
        "seconds": round(time.monotonic() - started, 2),
        "idle_rss": idle,
        "peak_rss": rss.peak,
        "growth": rss.peak - idle,
        "statuses": {str(s): statuses.count(s) for s in sorted(set(statuses), key=str)},
    }


def probe_under_attack(server: VaultServer, token: str, rounds: int) -> dict[str, Any]:
    base = f"http://127.0.0.1:{server.port}/"
    info = f"{base}modelvault/api/info"
    with latency_probe(info) as baseline:
        time.sleep(3)
    runs = []
    command = [sys.executable, "-m", "tests.hostile", base, token, REPO]
    with latency_probe(info) as probe:
        for _ in range(rounds):
            out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=600)
            runs.append(json.loads(out.stdout))
    return {
        "baseline": {"count": baseline.count, "p99": baseline.p99, "max": baseline.max},
        "attack": {"count": probe.count, "p99": probe.p99, "max": probe.max},
        "failures": probe.failures[:5],
        "runs": runs,
    }


def report(result: dict[str, Any]) -> str:
    f, p = result["flood"], result["probe"]
    ms = lambda s: f"{s * 1000:.1f} ms"  # noqa: E731
    lines = [
        f"{'figure':58} {'measured':>12} {'target':>10}",
        f"{'RSS growth, ' + str(f['clients']) + ' unauthenticated clients x ':46}"
        f"{f['body_bytes'] // MiB:>6} MiB {f['growth'] / MiB:>8.1f} MiB {'< 64 MiB':>10}",
        f"{'  (idle RSS ' + str(f['idle_rss'] // MiB) + ' MiB; answers ' + str(f['statuses']) + ')':58}",
        f"{'probe p99 while the hostile requests run':58} {ms(p['attack']['p99']):>12} "
        f"{'< 100 ms':>10}",
        f"{'probe max while the hostile requests run':58} {ms(p['attack']['max']):>12}",
        f"{'probe p99 / max without them (baseline)':58} "
        f"{ms(p['baseline']['p99']) + ' / ' + ms(p['baseline']['max']):>12}",
        f"{'ratio attack p99 / baseline p99':58} "
        f"{p['attack']['p99'] / max(p['baseline']['p99'], 1e-6):>12.2f}",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--body-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3, help="runs of the hostile set")
    parser.add_argument("--quick", action="store_true", help="20 clients x 256 MiB, 1 round")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.body_mib, args.rounds = 20, 256, 1
    tmp = Path(tempfile.mkdtemp(prefix="mv-bench-hostile-", dir="/var/tmp"))
    server = VaultServer(tmp / "vault", tmp / "serve.log")
    try:
        token = server.cli("token", "create", "--scope", "admin", "--user", "bench", "--name", "b")
        server.start(token)
        from huggingface_hub import HfApi

        api = HfApi(endpoint=server.endpoint, token=token)
        api.create_repo(REPO)
        api.upload_file(path_or_fileobj=b"0123456789", path_in_repo="ten.txt", repo_id=REPO)
        result = {
            "flood": flood(server, args.clients, args.body_mib * MiB),
            "probe": probe_under_attack(server, token, args.rounds),
            "command": " ".join(["python", *sys.argv]),
        }
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    table = report(result)
    print()
    print(table)
    save_result("hostile", result, table, args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
