"""Overhead of the permission check per request: a warm small-file GET, same server, same run.

    python bench/bench_permissions.py [--quick] [--targets 50] [--rounds 10] [--requests 300]

One standalone server, one hf-local repo ``team-a/small`` with a 1 KiB file. Two tokens read it:

- ``service``: a read token issued the old way (``--user ci``): scope and repositories alone
  decide, no permission target is evaluated — the request *without* permissions;
- ``alice``: a read token owned by ``user:alice``, a member of one of ``--targets`` targets
  (each with include and exclude patterns, granting a group), so every request evaluates the
  targets (repository level, then repo-id patterns, listing nothing) — the request *with* them.

Requests alternate the two tokens one by one on one keep-alive connection (after a warm-up), so
drift on a shared machine hits both alike; the result is the median of per-round medians, and
their ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _procs import VaultServer, save_result


def _setup(server: VaultServer, admin: str, targets: int) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {admin}"}
    hf = server.endpoint
    with httpx.Client(timeout=60, headers=headers) as c:
        r = c.post(f"{hf}/api/repos/create", json={"name": "small", "organization": "team-a"})
        r.raise_for_status()
        from huggingface_hub import HfApi

        HfApi(endpoint=hf, token=admin).upload_file(
            path_or_fileobj=b"x" * 1024, path_in_repo="small.bin", repo_id="team-a/small"
        )
        api = f"http://127.0.0.1:{server.port}/modelvault/api"
        for i in range(targets):
            body = {
                "repositories": ["models"],
                "include": [f"team-{i}/**", f"shared-{i}/*"],
                "exclude": [f"team-{i}/secret-*"],
                "grants": {f"group:team-{i}": "read", f"user:owner-{i}": "write"},
            }
            if i == targets - 1:
                body["include"] = ["team-a/**"]
            c.put(f"{api}/permissions/targets/t{i}", json=body).raise_for_status()
            members = ["alice"] if i == targets - 1 else [f"user-{i}-{j}" for j in range(5)]
            c.put(
                f"{api}/permissions/groups/team-{i}", json={"members": members}
            ).raise_for_status()
        tokens = {}
        for name, user in (("service", "ci"), ("alice", "user:alice")):
            r = c.post(f"{api}/tokens", json={"name": name, "scope": "read", "user": user})
            r.raise_for_status()
            tokens[name] = r.json()["token"]
    return tokens


def _round(client: httpx.Client, url: str, tokens: dict[str, str], n: int) -> dict[str, float]:
    """``n`` requests per token, alternating request by request (drift hits both alike)."""
    times: dict[str, list[float]] = {name: [] for name in tokens}
    for i in range(n):
        names = list(tokens) if i % 2 == 0 else list(reversed(tokens))
        for name in names:
            t0 = time.perf_counter()
            r = client.get(url, headers={"Authorization": f"Bearer {tokens[name]}"})
            times[name].append(time.perf_counter() - t0)
            if r.status_code != 200 or len(r.content) != 1024:
                raise RuntimeError(f"GET answered {r.status_code}: {r.text[:200]}")
    return {name: statistics.median(ts) for name, ts in times.items()}


def run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    server = VaultServer(tmp / "data", tmp / "serve.log")
    admin = server.cli("token", "create", "--scope", "admin", "--name", "bench")
    server.start(admin)
    try:
        tokens = _setup(server, admin, args.targets)
        url = f"{server.endpoint}/team-a/small/resolve/main/small.bin"
        medians: dict[str, list[float]] = {"service": [], "alice": []}
        with httpx.Client(timeout=60) as client:
            _round(client, url, tokens, 50)  # warm-up: caches, connection, permission snapshot
            for _ in range(args.rounds):
                for name, median in _round(client, url, tokens, args.requests).items():
                    medians[name].append(median)
    finally:
        server.stop()
    without = statistics.median(medians["service"])
    with_ = statistics.median(medians["alice"])
    return {
        "targets": args.targets,
        "rounds": args.rounds,
        "requests_per_round": args.requests,
        "median_ms_without": round(without * 1000, 3),
        "median_ms_with": round(with_ * 1000, 3),
        "overhead_percent": round((with_ / without - 1) * 100, 2),
        "per_round_ms": {k: [round(v * 1000, 3) for v in vs] for k, vs in medians.items()},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 rounds of 100 requests")
    parser.add_argument("--targets", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.requests = 4, 100
    with tempfile.TemporaryDirectory(prefix="mv-bench-perm-") as tmp:
        result = run(args, Path(tmp))
    table = (
        f"warm 1 KiB GET, {args.rounds} rounds x {args.requests} requests, "
        f"{args.targets} targets\n"
        f"  without permissions (service token): {result['median_ms_without']:.3f} ms\n"
        f"  with permissions (user token):       {result['median_ms_with']:.3f} ms\n"
        f"  overhead: {result['overhead_percent']:+.2f} %  (target <= 5 %)"
    )
    print(table)
    print(json.dumps(result["per_round_ms"]))
    save_result("permissions", result, table, args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
