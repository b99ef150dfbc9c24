#!/usr/bin/env python
"""Xet storage: uploads, downloads, dedup and server memory with the stock Xet client.

    python bench/bench_xet.py [--size-mib 256] [--reps 2] [--keep] [--quick] [--upload-only]
        [--profile-dir DIR]
    MV_BENCH_XET_MIB=2048 python bench/bench_xet.py      # the issue's 2 GiB figures

Starts its own ModelVault server and nginx on 127.0.0.1 (temp dir under /var/tmp, same filesystem
as the server's data dir), prints a table of medians and same-run ratios, writes JSON to
bench/out/ and stops every process group on exit. Every client runs in its own interpreter
(tests/compat/hub_client.py) because huggingface_hub reads HF_HUB_DISABLE_XET at import; the
time is measured inside it, around the call alone. Nothing here asserts a timing.

Figures (see bench/README.md, section "Xet"):
a. ``upload_file`` of new random content with Xet vs the LFS path (HF_HUB_DISABLE_XET=1), same
   server, interleaved; ratio of Xet time over LFS time (<= 1.0 wanted).
b. ``hf_hub_download`` through hf_xet (fresh HF_HOME: no chunk cache) vs ``curl`` of the same
   bytes from nginx (sink: a file in the temp dir); throughput ratio (>= 0.8 wanted). For
   information: hf_hub_download with HF_HUB_DISABLE_XET=1 and curl of the resolve URL (bridge).
c. dedup: a safetensors file of many 4 MiB tensors, then a second version with ~5 % of its
   tensors rewritten, uploaded by the same client (same HF_HOME: its shard cache), and a third
   version (another 5 %) by a fresh client (global dedup only). Bytes sent = growth of the
   server's request-body counter (``modelvault_http_request_bytes`` in /metrics: every request,
   xorbs, shards, commit); bytes stored = growth of the blob store. Each over the changed bytes
   (<= 1.2 wanted).
d. server RSS growth (VmRSS sampled every 50 ms, against the idle freshly restarted server)
   during the Xet uploads and downloads (< 64 MiB wanted).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import (
    MiB,
    Nginx,
    RssSampler,
    VaultServer,
    cpu_seconds,
    curl,
    log,
    mbps,
    med,
    run_in_temp_dir,
    sha256_of,
)
from tests.compat.hub_client import run_client
from tests.xet.server_counters import blob_bytes, request_bytes

SIZE_ENV = "MV_BENCH_XET_MIB"
RSS_LIMIT = 64 * MiB
TENSOR_BYTES = 4 * MiB
CHANGED_FRACTION = 0.05
REPO = "bench/xet"
REPO_DEDUP = "bench/xet-dedup"

UPLOAD = """
import time
t0 = time.perf_counter()
api.upload_file(path_or_fileobj=os.environ["SRC"], path_in_repo=os.environ["DEST"],
                repo_id=os.environ["REPO_ID"], commit_message=os.environ["DEST"])
emit({"seconds": time.perf_counter() - t0})
"""

CREATE = """
for repo_id in os.environ["REPOS"].split():
    api.create_repo(repo_id)
emit(True)
"""

DOWNLOAD = """
import time
t0 = time.perf_counter()
path = hf_hub_download(os.environ["REPO_ID"], os.environ["DEST"], cache_dir=os.environ["CACHE"])
emit({"seconds": time.perf_counter() - t0, "path": path, "size": os.path.getsize(path)})
"""


# ----------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------
def write_random(path: Path, size: int) -> None:
    """``size`` fresh random bytes: no chunk repeats, so Xet cannot dedup inside the file."""
    with open(path, "wb") as f:
        left = size
        while left:
            take = min(16 * MiB, left)
            f.write(os.urandom(take))
            left -= take


def safetensors_layout(size: int) -> tuple[bytes, int]:
    """The header of a safetensors file of about ``size`` bytes made of F32 tensors of
    ``TENSOR_BYTES`` each, and the number of tensors."""
    n = max(20, size // TENSOR_BYTES)
    meta: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    per = TENSOR_BYTES // 4
    for i in range(n):
        start = i * TENSOR_BYTES
        meta[f"layer.{i:05d}.weight"] = {
            "dtype": "F32",
            "shape": [per],
            "data_offsets": [start, start + TENSOR_BYTES],
        }
    header = json.dumps(meta, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header, n


def write_safetensors(path: Path, size: int, base: Path | None, changed: set[int]) -> int:
    """A safetensors file: a copy of ``base`` with the tensors in ``changed`` rewritten with new
    random values (all random when ``base`` is None). Returns the number of bytes changed."""
    header, n = safetensors_layout(size)
    changed_bytes = 0
    with open(path, "wb") as out:
        out.write(header)
        src = open(base, "rb") if base else None  # noqa: SIM115 - closed below
        try:
            if src:
                src.seek(len(header))
            for i in range(n):
                old = src.read(TENSOR_BYTES) if src else b""
                if src is None or i in changed:
                    out.write(os.urandom(TENSOR_BYTES))
                    changed_bytes += TENSOR_BYTES
                else:
                    out.write(old)
        finally:
            if src:
                src.close()
    return changed_bytes


def pick_changed(n: int, seed: int) -> set[int]:
    """About ``CHANGED_FRACTION`` of ``n`` tensors, spread over the file (not one block)."""
    import random

    rng = random.Random(seed)
    return set(rng.sample(range(n), max(1, round(n * CHANGED_FRACTION))))


# ----------------------------------------------------------------------------------------------
# Clients
# ----------------------------------------------------------------------------------------------
class Clients:
    def __init__(self, server: VaultServer, token: str, tmp: Path) -> None:
        self.server = server
        self.token = token
        self.tmp = tmp
        self.n = 0

    def fresh_home(self) -> Path:
        self.n += 1
        return self.tmp / f"hf-home-{self.n}"

    def run(self, code: str, xet: bool, home: Path | None = None, **env: str) -> Any:
        extra = {"REPO_ID": REPO, **env}
        if not xet:
            extra["HF_HUB_DISABLE_XET"] = "1"
        return run_client(
            code,
            endpoint=self.server.endpoint,
            token=self.token,
            hf_home=home or self.fresh_home(),
            extra_env=extra,
            timeout=3600,
        )

    def measured(
        self, code: str, xet: bool, profile: Path | None = None, **env: str
    ) -> dict[str, Any]:
        """``code`` run while the server's RSS and CPU are sampled (server freshly restarted);
        ``profile``: also record the server with py-spy into that file (speedscope JSON)."""
        self.server.restart(self.token)
        base = self.server.settle_rss()
        cpu0 = cpu_seconds(self.server.pid)
        spy = None
        if profile is not None:
            spy = subprocess.Popen(
                [
                    "py-spy",
                    "record",
                    "--pid",
                    str(self.server.pid),
                    "--threads",
                    "--nonblocking",
                    "--format",
                    "raw",
                    "--rate",
                    "200",
                    "--output",
                    str(profile),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(1.0)
        with RssSampler(self.server.pid, 0.05) as sampler:
            out: dict[str, Any] = self.run(code, xet, **env)
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(60)
        out["server_cpu"] = cpu_seconds(self.server.pid) - cpu0
        out["growth"] = sampler.peak - base
        out["hwm_growth"] = self.server.hwm() - base
        return out


# ----------------------------------------------------------------------------------------------
# The benchmark
# ----------------------------------------------------------------------------------------------
def run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    size = args.size_mib * MiB
    src_dir, sink_dir, data_dir = tmp / "src", tmp / "sink", tmp / "data"
    for d in (src_dir, sink_dir):
        d.mkdir()
    result: dict[str, Any] = {
        "started": dt.datetime.now().isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "size_bytes": size,
        "reps": args.reps,
    }
    server = VaultServer(data_dir, tmp / "server.log")
    token = server.cli("token", "create", "--scope", "admin", "--user", "bench", "--name", "bench")
    nginx = Nginx(tmp / "nginx", src_dir)
    try:
        server.start(token)
        nginx.start()
        log(f"server pid {server.pid} at {server.endpoint}; nginx on port {nginx.port}")
        clients = Clients(server, token, tmp)
        clients.run(CREATE, True, REPOS=f"{REPO} {REPO_DEDUP}")

        # -- a. upload: Xet vs LFS, new random content each time, interleaved ----------------
        log("phase a: upload_file, Xet vs LFS (HF_HUB_DISABLE_XET=1)")
        ups: dict[str, list[dict[str, Any]]] = {"xet": [], "lfs": []}
        for rep in range(args.reps):
            for kind in ("xet", "lfs") if rep % 2 == 0 else ("lfs", "xet"):
                dest = f"{kind}-{rep}.bin"
                src = src_dir / dest
                write_random(src, size)
                profile = (
                    Path(args.profile_dir) / f"upload-{kind}-{rep}.txt"
                    if args.profile_dir
                    else None
                )
                got = clients.measured(UPLOAD, kind == "xet", profile, SRC=str(src), DEST=dest)
                got["MBps"] = mbps(size, got["seconds"])
                ups[kind].append(got)
                log(
                    f"  rep {rep} {kind}: {got['MBps']:.0f} MB/s, server RSS "
                    f"+{got['growth'] / MiB:.1f} MiB, CPU {got['server_cpu']:.1f} s"
                )
                if kind == "lfs" or rep < args.reps - 1:
                    src.unlink()
        # the downloads fetch the last Xet upload; nginx serves the same bytes
        xet_dest = f"xet-{args.reps - 1}.bin"
        want_sha = sha256_of(src_dir / xet_dest)
        result["upload"] = {
            "runs": ups,
            "xet_MBps": mbps(size, med([u["seconds"] for u in ups["xet"]])),
            "lfs_MBps": mbps(size, med([u["seconds"] for u in ups["lfs"]])),
        }
        result["upload"]["ratio_time_xet_lfs"] = med([u["seconds"] for u in ups["xet"]]) / med(
            [u["seconds"] for u in ups["lfs"]]
        )
        result["upload"]["ratio_cpu_xet_lfs"] = med([u["server_cpu"] for u in ups["xet"]]) / med(
            [u["server_cpu"] for u in ups["lfs"]]
        )
        result["load_average"] = os.getloadavg()
        if args.upload_only:
            return result

        # -- b. download: hf_xet vs curl from nginx ------------------------------------------
        log("phase b: hf_hub_download (Xet, fresh HF_HOME) vs curl from nginx")
        downs: dict[str, list[dict[str, Any]]] = {"xet": [], "nginx": [], "lfs": [], "bridge": []}
        sink = sink_dir / "dl.bin"
        resolve = f"{server.endpoint}/{REPO}/resolve/main/{xet_dest}"
        for rep in range(args.reps):
            order = ["xet", "nginx", "lfs", "bridge"]
            order = order[rep % 4 :] + order[: rep % 4]
            for kind in order:
                if kind == "nginx":
                    got = curl(nginx.url(xet_dest), None, str(sink))
                    assert got["bytes"] == size, got
                    downs[kind].append({"seconds": got["total"]})
                    sink.unlink()
                    continue
                if kind == "bridge":
                    got = curl(resolve, token, str(sink))
                    assert got["bytes"] == size, got
                    if rep == 0:
                        assert sha256_of(sink) == want_sha, "the bridge served other bytes"
                    downs[kind].append({"seconds": got["total"]})
                    sink.unlink()
                    continue
                cache = tmp / "dl-cache"
                out = clients.measured(DOWNLOAD, kind == "xet", DEST=xet_dest, CACHE=str(cache))
                assert out["size"] == size, out
                if rep == 0:
                    assert sha256_of(Path(out["path"])) == want_sha, f"{kind} got other bytes"
                shutil.rmtree(cache, ignore_errors=True)
                downs[kind].append(out)
            log(
                f"  rep {rep}: "
                + ", ".join(
                    f"{k} {mbps(size, v[-1]['seconds']):.0f} MB/s" for k, v in downs.items()
                )
            )
        dm = {k: mbps(size, med([x["seconds"] for x in v])) for k, v in downs.items()}
        result["download"] = {"runs": downs, "median_MBps": dm}
        result["download"]["ratio_xet_nginx"] = dm["xet"] / dm["nginx"]
        result["download"]["ratio_lfs_nginx"] = dm["lfs"] / dm["nginx"]
        result["download"]["ratio_bridge_nginx"] = dm["bridge"] / dm["nginx"]

        # -- c. dedup --------------------------------------------------------------------------
        log("phase c: dedup, safetensors v1, v2 (5 % of tensors changed, same client), v3 (fresh)")
        server.restart(token)
        v1, v2, v3 = (src_dir / f"v{i}.safetensors" for i in (1, 2, 3))
        _, n_tensors = safetensors_layout(size)
        write_safetensors(v1, size, None, set())
        home = clients.fresh_home()
        clients.run(UPLOAD, True, home, REPO_ID=REPO_DEDUP, SRC=str(v1), DEST="model.safetensors")
        dedup: dict[str, Any] = {"tensors": n_tensors, "tensor_bytes": TENSOR_BYTES}
        for name, path, base, seed, client_home in (
            ("same_client", v2, v1, 2, home),
            ("fresh_client", v3, v2, 3, clients.fresh_home()),
        ):
            changed = write_safetensors(path, size, base, pick_changed(n_tensors, seed))
            sent0, stored0 = (
                request_bytes(f"http://127.0.0.1:{server.port}/", token),
                blob_bytes(data_dir),
            )
            t0 = time.perf_counter()
            clients.run(
                UPLOAD,
                True,
                client_home,
                REPO_ID=REPO_DEDUP,
                SRC=str(path),
                DEST="model.safetensors",
            )
            seconds = time.perf_counter() - t0
            sent = request_bytes(f"http://127.0.0.1:{server.port}/", token) - sent0
            stored = blob_bytes(data_dir) - stored0
            served = curl(
                f"{server.endpoint}/{REPO_DEDUP}/resolve/main/model.safetensors", token, str(sink)
            )
            assert served["bytes"] == path.stat().st_size
            assert sha256_of(sink) == sha256_of(path), "the new version reads back wrong"
            sink.unlink()
            dedup[name] = {
                "changed_bytes": changed,
                "sent_bytes": sent,
                "stored_bytes": stored,
                "sent_ratio": sent / changed,
                "stored_ratio": stored / changed,
                "seconds": seconds,
            }
            log(
                f"  {name}: changed {changed / MiB:.1f} MiB, sent {sent / MiB:.2f} MiB "
                f"({sent / changed:.2f}x), stored {stored / MiB:.2f} MiB ({stored / changed:.2f}x)"
            )
        result["dedup"] = dedup
        result["server_log_tail"] = server.log_tail()
    finally:
        server.stop()
        nginx.stop()
    return result


# ----------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------
def report_upload(r: dict[str, Any]) -> str:
    u = r["upload"]
    up_growth = max(max(v["growth"], v["hwm_growth"]) for v in u["runs"]["xet"])
    cpu = {k: med([v["server_cpu"] for v in u["runs"][k]]) for k in ("xet", "lfs")}
    ok = lambda b: "MET" if b else "NOT MET"  # noqa: E731
    load = ", ".join(f"{x:.1f}" for x in r.get("load_average", ()))
    return "\n".join(
        [
            f"Xet upload benchmark — file {r['size_bytes'] / MiB:.0f} MiB, {r['reps']} reps "
            f"(medians), {r['cpus']} CPUs, {r['started']}, load average at the end {load}",
            "",
            "| figure | Xet | reference | ratio | target |",
            "| --- | --- | --- | --- | --- |",
            f"| a. upload_file, time | {u['xet_MBps']:.0f} MB/s | LFS {u['lfs_MBps']:.0f} MB/s | "
            f"{u['ratio_time_xet_lfs']:.2f} | <= 1.0: {ok(u['ratio_time_xet_lfs'] <= 1.0)} |",
            f"| a'. server CPU for the upload | {cpu['xet']:.2f} s | LFS {cpu['lfs']:.2f} s | "
            f"{u['ratio_cpu_xet_lfs']:.2f} | (info) |",
            f"| d. server RSS growth, Xet upload (max of reps) | {up_growth / MiB:.1f} MiB | | | "
            f"< 64 MiB: {ok(up_growth < RSS_LIMIT)} |",
        ]
    )


def report(r: dict[str, Any]) -> str:
    if "download" not in r:
        return report_upload(r)
    u, d, x = r["upload"], r["download"], r["dedup"]
    dm = d["median_MBps"]
    ok = lambda b: "MET" if b else "NOT MET"  # noqa: E731
    up_growth = max(max(v["growth"], v["hwm_growth"]) for v in u["runs"]["xet"])
    down_growth = max(max(v["growth"], v["hwm_growth"]) for v in d["runs"]["xet"])
    same, fresh = x["same_client"], x["fresh_client"]
    lines = [
        f"Xet benchmark — file {r['size_bytes'] / MiB:.0f} MiB, {r['reps']} reps (medians), "
        f"{r['cpus']} CPUs, {r['started']}",
        "",
        "| figure | Xet | reference | ratio | target |",
        "| --- | --- | --- | --- | --- |",
        f"| a. upload_file, time | {u['xet_MBps']:.0f} MB/s | LFS {u['lfs_MBps']:.0f} MB/s | "
        f"{u['ratio_time_xet_lfs']:.2f} | <= 1.0: {ok(u['ratio_time_xet_lfs'] <= 1.0)} |",
        f"| b. hf_hub_download (hf_xet) | {dm['xet']:.0f} MB/s | curl nginx {dm['nginx']:.0f} "
        f"MB/s | {d['ratio_xet_nginx']:.2f} | >= 0.8: {ok(d['ratio_xet_nginx'] >= 0.8)} |",
        f"| b'. hf_hub_download, HF_HUB_DISABLE_XET=1 | {dm['lfs']:.0f} MB/s | curl nginx | "
        f"{d['ratio_lfs_nginx']:.2f} | (info) |",
        f"| b''. curl of the resolve URL (bridge) | {dm['bridge']:.0f} MB/s | curl nginx | "
        f"{d['ratio_bridge_nginx']:.2f} | (info) |",
        f"| c. dedup, same client: bytes sent / changed | {same['sent_bytes'] / MiB:.2f} MiB | "
        f"{same['changed_bytes'] / MiB:.1f} MiB | {same['sent_ratio']:.2f} | <= 1.2: "
        f"{ok(same['sent_ratio'] <= 1.2)} |",
        f"| c. dedup, same client: bytes stored / changed | {same['stored_bytes'] / MiB:.2f} MiB "
        f"| {same['changed_bytes'] / MiB:.1f} MiB | {same['stored_ratio']:.2f} | <= 1.2: "
        f"{ok(same['stored_ratio'] <= 1.2)} |",
        f"| c'. dedup, fresh client: sent / changed | {fresh['sent_bytes'] / MiB:.2f} MiB | "
        f"{fresh['changed_bytes'] / MiB:.1f} MiB | {fresh['sent_ratio']:.2f} | (info) |",
        f"| c'. dedup, fresh client: stored / changed | {fresh['stored_bytes'] / MiB:.2f} MiB | "
        f"{fresh['changed_bytes'] / MiB:.1f} MiB | {fresh['stored_ratio']:.2f} | (info) |",
        f"| d. server RSS growth, Xet upload (max of reps) | {up_growth / MiB:.1f} MiB | | | "
        f"< 64 MiB: {ok(up_growth < RSS_LIMIT)} |",
        f"| d. server RSS growth, Xet download (max of reps) | {down_growth / MiB:.1f} MiB | | | "
        f"< 64 MiB: {ok(down_growth < RSS_LIMIT)} |",
    ]
    return "\n".join([*lines, *report_upload(r).splitlines()[5:6]])


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=int(os.environ.get(SIZE_ENV, "256")))
    parser.add_argument("--reps", type=int, default=2, help="repetitions per side")
    parser.add_argument("--tmp-parent", default="/var/tmp")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    parser.add_argument("--quick", action="store_true", help="64 MiB, 1 rep, upload phase only")
    parser.add_argument("--upload-only", action="store_true", help="phase a (and d) only")
    parser.add_argument("--profile-dir", help="record the server of each upload with py-spy")
    args = parser.parse_args()
    if args.quick:
        args.size_mib, args.reps, args.upload_only = 64, 1, True
    return run_in_temp_dir(
        "xet", args, run, report, tools=("curl", "nginx"), quick=args.size_mib < 2048
    )


if __name__ == "__main__":
    sys.exit(main())
