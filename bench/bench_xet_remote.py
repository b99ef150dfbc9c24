#!/usr/bin/env python
"""Remote Hub repositories over a Xet upstream (issue 16): cold fetch through the upstream's
reconstruction vs plain HTTP stream-through of the same file, the chunk cache's dedup, and what
the resolve HEAD added to every cold hf-remote fetch costs.

    python bench/bench_xet_remote.py [--size-mib 2048] [--reps 1] [--quick]

Starts on 127.0.0.1 (temp dir under /var/tmp, removed at the end): an *upstream* ModelVault
holding a base file (random bytes) and a fine-tune of it (5 % rewritten in the middle), both
uploaded with hf_xet; nginx in front of it on two ports, one passing everything, one hiding
``X-Xet-Hash`` and the ``Link`` (so the same upstream, same bytes, same proxy hop, looks like a
plain Hub); for each measurement a *fresh* vault (new data dir: nothing cached) with one
hf-remote repository on either port. Prints ratios measured in the same run, with CPU seconds
of both servers (from /proc) and the load average; JSON to bench/out/. Nothing is asserted.

1. cold curl of the base file through the vault: Xet upstream vs plain stream-through (time,
   TTFB, vault CPU, upstream CPU), interleaved per repetition.
2. then the fine-tune through the same vault: bytes sent by the upstream's fetch URLs
   (its ``modelvault_http_response_bytes{family="xet_fetch"}``) / bytes changed.
3. the HEAD: median time of a resolve HEAD at the upstream vs the median cold TTFB (both modes).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import cpu_seconds, curl, save_result
from tests.compat.hub_client import run_client
from tests.servers import (
    RunningServer,
    free_port,
    mint_token,
    start_nginx,
    start_standalone,
    stop_group,
)
from tests.xet.server_counters import metric_total

MiB = 1024**2

PUSH = """
from huggingface_hub import constants
assert not constants.HF_HUB_DISABLE_XET
api.create_repo(os.environ["REPO_ID"])
api.upload_file(path_or_fileobj=b"---\\nlicense: apache-2.0\\n---\\n# bench\\n",
                path_in_repo="README.md", repo_id=os.environ["REPO_ID"])
for name in ("base", "tuned"):
    api.upload_file(path_or_fileobj=os.environ["SRC"] + "/" + name + ".bin",
                    path_in_repo=name + ".bin", repo_id=os.environ["REPO_ID"])
emit(True)
"""

PROXY = """\
{preamble}events {{ worker_connections 256; }}
http {{
{paths}    upstream up {{ server {up_host}:{up_port}; keepalive 16; }}
    server {{
        listen {host}:{port};
        location / {{
            proxy_pass http://up;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_read_timeout 600s;
        }}
    }}
    server {{
        listen {host}:{plain_port};
        location / {{
            proxy_pass http://up;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_hide_header X-Xet-Hash;
            proxy_hide_header Link;
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_read_timeout 600s;
        }}
    }}
}}
"""


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def fetched_bytes(up: RunningServer) -> float:
    return metric_total(
        up.url, up.admin_token, "modelvault_http_response_bytes", family="xet_fetch"
    )


def make_files(src: Path, size: int) -> int:
    """base.bin (random) and tuned.bin (5 % rewritten at 40 %); returns the changed bytes."""
    rng = random.Random(2026)
    a = (size * 2 // 5) & ~4095
    b = a + size // 20
    with open(src / "base.bin", "wb") as base, open(src / "tuned.bin", "wb") as tuned:
        for start in range(0, size, 16 * MiB):
            block = rng.randbytes(min(16 * MiB, size - start))
            base.write(block)
            lo, hi = max(a, start), min(b, start + len(block))
            if lo < hi:
                block = block[: lo - start] + rng.randbytes(hi - lo) + block[hi - start :]
            tuned.write(block)
    return b - a


def remote(vault: RunningServer, upstream: str, token: str) -> str:
    key = f"r-{uuid.uuid4().hex[:6]}"
    r = httpx.post(
        vault.api("repositories"),
        json={
            "key": key,
            "kind": "hf-remote",
            "config": {"upstream": upstream, "upstream_token": token, "timeout_seconds": 600},
        },
        headers=vault.headers(),
        timeout=30,
    )
    r.raise_for_status()
    return key


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=2048)
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="64 MiB, 1 repetition")
    args = parser.parse_args()
    size = (64 if args.quick else args.size_mib) * MiB
    reps = 1 if args.quick else args.reps
    tmp = Path(tempfile.mkdtemp(prefix="bench-xet-remote-", dir="/var/tmp"))
    procs: list[Any] = []
    try:
        src = tmp / "src"
        src.mkdir()
        changed = make_files(src, size)
        up = start_standalone(tmp / "upstream")
        procs.append(up.proc)
        repo_id = "bench/xet"
        t0 = time.perf_counter()
        run_client(PUSH, endpoint=up.hf_endpoint(), token=up.admin_token, hf_home=tmp / "h",
                   extra_env={"REPO_ID": repo_id, "SRC": str(src)}, timeout=7200)  # fmt: skip
        print(f"uploaded 2 x {size // MiB} MiB with Xet in {time.perf_counter() - t0:.0f} s")
        plain_port = free_port()
        nginx, port = start_nginx(
            tmp / "nginx", PROXY, up_host="127.0.0.1", up_port=up.port, plain_port=plain_port
        )
        procs.append(nginx)
        path = up.hf_endpoint().split(f":{up.port}", 1)[1]
        ends = {
            "xet": f"http://127.0.0.1:{port}{path}",
            "plain": f"http://127.0.0.1:{plain_port}{path}",
        }
        token = mint_token(up.data_dir, "read", "mirror")
        rows: dict[str, list[dict[str, float]]] = {"xet": [], "plain": []}
        dedup: list[float] = []
        for rep in range(reps):
            for mode in ("xet", "plain") if rep % 2 == 0 else ("plain", "xet"):
                vault = start_standalone(tmp / f"vault-{mode}-{rep}")
                try:
                    key = remote(vault, ends[mode], token)
                    url = f"{vault.hf_endpoint(key)}/{repo_id}/resolve/main/base.bin"
                    vc, uc, la = cpu_seconds(vault.proc.pid), cpu_seconds(up.proc.pid), load()
                    got = curl(url, vault.admin_token, "/dev/null", "-L")
                    row = {
                        "seconds": got["total"],
                        "ttfb": got["ttfb"],
                        "bytes": got["bytes"],
                        "vault_cpu": cpu_seconds(vault.proc.pid) - vc,
                        "upstream_cpu": cpu_seconds(up.proc.pid) - uc,
                    }
                    assert row["bytes"] == size, row
                    rows[mode].append(row)
                    print(f"rep {rep} {mode}: {row} (load {la})", flush=True)
                    if mode == "xet":
                        before = fetched_bytes(up)
                        tuned = f"{vault.hf_endpoint(key)}/{repo_id}/resolve/main/tuned.bin"
                        curl(tuned, vault.admin_token, "/dev/null", "-L")
                        dedup.append((fetched_bytes(up) - before) / changed)
                finally:
                    stop_group(vault.proc)
                    shutil.rmtree(vault.data_dir, ignore_errors=True)
        head_url = f"{ends['plain']}/{repo_id}/resolve/main/base.bin"
        heads = []
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as client:
            for _ in range(21):
                t = time.perf_counter()
                client.head(head_url, timeout=30).raise_for_status()
                heads.append(time.perf_counter() - t)
        result = report(size, changed, rows, dedup, statistics.median(heads))
        save_result("xet-remote", result, result["table"], args.quick)
    finally:
        for proc in procs:
            stop_group(proc)
        shutil.rmtree(tmp, ignore_errors=True)


def report(
    size: int,
    changed: int,
    rows: dict[str, list[dict[str, float]]],
    dedup: list[float],
    head: float,
) -> dict[str, Any]:
    def m(mode: str, field: str) -> float:
        return statistics.median(r[field] for r in rows[mode])

    x, p = m("xet", "seconds"), m("plain", "seconds")
    lines = [
        f"size {size // MiB} MiB, {len(rows['xet'])} rep(s), load average now {load()}",
        "| figure | Xet upstream | plain stream-through | ratio Xet / plain |",
        "| --- | --- | --- | --- |",
        f"| cold fetch, time | {x:.2f} s ({size / x / 1e6:.0f} MB/s) | {p:.2f} s "
        f"({size / p / 1e6:.0f} MB/s) | {x / p:.2f} |",
        f"| cold fetch, TTFB | {m('xet', 'ttfb') * 1000:.0f} ms | "
        f"{m('plain', 'ttfb') * 1000:.0f} ms | {m('xet', 'ttfb') / m('plain', 'ttfb'):.2f} |",
        f"| vault CPU | {m('xet', 'vault_cpu'):.2f} s | {m('plain', 'vault_cpu'):.2f} s | "
        f"{m('xet', 'vault_cpu') / max(m('plain', 'vault_cpu'), 1e-3):.2f} |",
        f"| upstream CPU | {m('xet', 'upstream_cpu'):.2f} s | {m('plain', 'upstream_cpu'):.2f} s"
        f" | {m('xet', 'upstream_cpu') / max(m('plain', 'upstream_cpu'), 1e-3):.2f} |",
        f"| fine-tune after the base: upstream fetch bytes / changed ({changed / MiB:.1f} MiB) "
        f"| {statistics.median(dedup):.3f} | | target <= 1.2 |",
        f"| resolve HEAD at the upstream (added to every cold fetch) | {head * 1000:.1f} ms | "
        f"cold TTFB {m('plain', 'ttfb') * 1000:.0f} ms | {head / m('plain', 'ttfb'):.3f} |",
    ]
    table = "\n".join(lines)
    print(table)
    return {"size": size, "changed": changed, "rows": rows, "dedup": dedup, "head": head,
            "table": table}  # fmt: skip


if __name__ == "__main__":
    main()
