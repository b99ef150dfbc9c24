#!/usr/bin/env python
"""The Xet read path alone (issue 16, figure b): hf_xet download vs curl from nginx, with the
server's CPU-seconds per GiB and what the client asked for.

    python bench/bench_xet_read.py [--quick] [--size-mib 256] [--reps 3] [--profile]

Starts its own ModelVault server and nginx on 127.0.0.1 (temp dir under /var/tmp), uploads one
file of fresh random bytes with Xet, then downloads it, interleaved:

- ``xet``: ``hf_hub_download`` through hf_xet (fresh HF_HOME, so no chunk cache);
- ``nginx``: ``curl`` of the same bytes from nginx (sendfile on): the reference;
- ``bridge``: ``curl`` of the resolve URL (the plain path every non-Xet client takes).

Prints throughput ratios over nginx measured in the same run, the server's CPU-seconds per GiB
downloaded (utime + stime from /proc: comparable on a loaded machine, wall time is not), the
number of reconstruction and fetch requests and the mean fetched bytes per request (from the
access log), and the load average. ``--profile`` records a py-spy profile of the server during
one Xet download (``py-spy`` must be installed) and prints its top entries.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import (
    GiB,
    MiB,
    Nginx,
    VaultServer,
    cpu_seconds,
    curl,
    log,
    mbps,
    med,
    run_in_temp_dir,
    sha256_of,
)
from bench.bench_xet import CREATE, REPO, UPLOAD, Clients, write_random

DOWNLOAD = """
import resource, time
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
c0, t0 = cpu(), time.perf_counter()
path = hf_hub_download(os.environ["REPO_ID"], os.environ["DEST"], cache_dir=os.environ["CACHE"])
emit({"seconds": time.perf_counter() - t0, "client_cpu": cpu() - c0, "path": path,
      "size": os.path.getsize(path)})
"""

_FETCH = re.compile(r"GET /\S*/cas/fetch/\S*[?&]r=([0-9,-]+)")
_RECON = re.compile(r"GET /\S*/cas/v[12]/reconstructions/\S* \(\S+\) ([0-9.]+)ms")


def request_counts(log_text: str) -> dict[str, int]:
    """Reconstruction and fetch requests in an access log excerpt, and the bytes the fetch URLs
    were signed for (each fetch asks for its signed ranges or a part of them)."""
    fetches = _FETCH.findall(log_text)
    signed = 0
    for spec in fetches:
        for part in spec.split(","):
            a, _, b = part.partition("-")
            signed += int(b) - int(a) + 1
    recon_ms = [float(ms) for ms in _RECON.findall(log_text)]
    return {
        "reconstructions": len(recon_ms),
        "reconstruction_ms": sum(recon_ms),
        "fetches": len(fetches),
        "fetch_signed_bytes": signed,
    }


def profile_top(svg_or_raw: Path, n: int = 15) -> list[str]:
    """The top ``n`` leaf functions of a py-spy ``raw`` (collapsed stacks) profile by samples."""
    own: dict[str, int] = {}
    total = 0
    for line in svg_or_raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        leaf = stack.split(";")[-1]
        own[leaf] = own.get(leaf, 0) + int(count)
        total += int(count)
    top = sorted(own.items(), key=lambda kv: -kv[1])[:n]
    return [f"{100 * c / max(total, 1):5.1f}%  {name}" for name, c in top]


def run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    size = args.size_mib * MiB
    src_dir, sink_dir, data_dir = tmp / "src", tmp / "sink", tmp / "data"
    for d in (src_dir, sink_dir):
        d.mkdir()
    result: dict[str, Any] = {
        "started": dt.datetime.now().isoformat(timespec="seconds"),
        "size_bytes": size,
        "reps": args.reps,
        "loadavg_start": os.getloadavg(),
    }
    server = VaultServer(data_dir, tmp / "server.log")
    token = server.cli("token", "create", "--scope", "admin", "--user", "bench", "--name", "bench")
    nginx = Nginx(tmp / "nginx", src_dir)
    try:
        server.start(token)
        nginx.start()
        clients = Clients(server, token, tmp)
        clients.run(CREATE, True, REPOS=REPO)
        dest = "read.bin"
        write_random(src_dir / dest, size)
        want = sha256_of(src_dir / dest)
        log(f"uploading {args.size_mib} MiB with Xet")
        clients.run(UPLOAD, True, SRC=str(src_dir / dest), DEST=dest)
        server.restart(token)
        sink = sink_dir / "dl.bin"
        resolve = f"{server.endpoint}/{REPO}/resolve/main/{dest}"
        runs: dict[str, list[dict[str, Any]]] = {"xet": [], "nginx": [], "bridge": []}
        order = list(runs)
        for rep in range(args.reps):
            for kind in order[rep % 3 :] + order[: rep % 3]:
                cpu0 = cpu_seconds(server.pid)
                log_at = server.log_path.stat().st_size
                if kind == "xet":
                    cache = tmp / "dl-cache"
                    out = clients.run(DOWNLOAD, True, DEST=dest, CACHE=str(cache))
                    assert out["size"] == size, out
                    if rep == 0:
                        assert sha256_of(Path(out["path"])) == want, "hf_xet got other bytes"
                    shutil.rmtree(cache, ignore_errors=True)
                    got: dict[str, Any] = {
                        "seconds": out["seconds"],
                        "client_cpu": out["client_cpu"],
                    }
                else:
                    url = nginx.url(dest) if kind == "nginx" else resolve
                    c = curl(url, None if kind == "nginx" else token, str(sink))
                    assert c["bytes"] == size, c
                    if rep == 0 and kind == "bridge":
                        assert sha256_of(sink) == want, "the bridge served other bytes"
                    sink.unlink()
                    got = {"seconds": c["total"]}
                got["server_cpu"] = cpu_seconds(server.pid) - cpu0
                got["loadavg"] = os.getloadavg()[0]
                with open(server.log_path, errors="replace") as f:
                    f.seek(log_at)
                    got.update(request_counts(f.read()))
                runs[kind].append(got)
                log(
                    f"  rep {rep} {kind}: {mbps(size, got['seconds']):.0f} MB/s, server CPU "
                    f"{got['server_cpu']:.2f} s, client CPU {got.get('client_cpu', 0):.2f} s, "
                    f"load {got['loadavg']:.2f}"
                )
        if args.profile:
            result["profile"] = profile(clients, server, tmp, dest)
    finally:
        server.stop()
        nginx.stop()
    medians = {k: mbps(size, med([x["seconds"] for x in v])) for k, v in runs.items()}
    result.update(
        runs=runs,
        median_MBps=medians,
        ratio_xet_nginx=medians["xet"] / medians["nginx"],
        ratio_bridge_nginx=medians["bridge"] / medians["nginx"],
        cpu_s_per_GiB={k: med([x["server_cpu"] for x in v]) * GiB / size for k, v in runs.items()},
        loadavg_end=os.getloadavg(),
    )
    return result


def profile(clients: Clients, server: VaultServer, tmp: Path, dest: str) -> list[str]:
    """py-spy of the server during one more Xet download: top leaf functions."""
    raw = tmp / "profile.txt"
    spy = subprocess.Popen(
        ["py-spy", "record", "-p", str(server.pid), "-f", "raw", "-o", str(raw), "-r", "200"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        clients.run(DOWNLOAD, True, DEST=dest, CACHE=str(tmp / "dl-cache-profile"))
    finally:
        spy.send_signal(2)
        spy.wait(60)
    return profile_top(raw) if raw.exists() else ["(py-spy wrote no profile)"]


def report(r: dict[str, Any]) -> str:
    x = r["runs"]["xet"]
    lines = [
        f"Xet read path — file {r['size_bytes'] / MiB:.0f} MiB, {r['reps']} reps (medians), "
        f"{r['started']}, load average {r['loadavg_start'][0]:.2f} -> {r['loadavg_end'][0]:.2f}",
        "",
        "| figure | MB/s | ratio over curl nginx | server CPU s/GiB |",
        "| --- | --- | --- | --- |",
        f"| b. hf_hub_download (hf_xet) | {r['median_MBps']['xet']:.0f} | "
        f"{r['ratio_xet_nginx']:.2f} (>= 0.8 wanted) | {r['cpu_s_per_GiB']['xet']:.2f} |",
        f"| b''. curl of the resolve URL (bridge) | {r['median_MBps']['bridge']:.0f} | "
        f"{r['ratio_bridge_nginx']:.2f} | {r['cpu_s_per_GiB']['bridge']:.2f} |",
        f"| curl from nginx | {r['median_MBps']['nginx']:.0f} | 1.00 | - |",
        "",
        f"hf_xet client CPU: {med([v['client_cpu'] for v in x]) * GiB / r['size_bytes']:.2f} "
        "s/GiB (inside the client, around hf_hub_download alone)",
        f"hf_xet requests per download: {x[0]['reconstructions']} reconstruction(s), "
        f"{x[0]['fetches']} fetch(es), {x[0]['fetch_signed_bytes'] / MiB:.1f} MiB signed "
        f"({x[0]['fetch_signed_bytes'] / max(x[0]['fetches'], 1) / MiB:.1f} MiB per fetch URL); "
        f"reconstruction answered in {med([v['reconstruction_ms'] for v in x]):.0f} ms (median)",
    ]
    if "profile" in r:
        lines += ["", "py-spy, server during one hf_xet download (own samples):", *r["profile"]]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="64 MiB, 2 reps")
    parser.add_argument("--profile", action="store_true", help="py-spy the server once")
    parser.add_argument("--tmp-parent", default="/var/tmp")
    args = parser.parse_args()
    if args.quick:
        args.size_mib, args.reps = 64, 2
    tools = ("curl", "nginx", *(["py-spy"] if args.profile else []))
    quick = args.quick or args.size_mib < 256
    return run_in_temp_dir("xet_read", args, run, report, tools=tools, quick=quick)


if __name__ == "__main__":
    sys.exit(main())
