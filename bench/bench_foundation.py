#!/usr/bin/env python
"""Foundation benchmark: local Hub repositories (downloads, uploads, RSS, large trees).

    python bench/bench_foundation.py [--size-gib 2] [--quick] [--reps 3] [--files 10000]

Starts its own ModelVault server and nginx on 127.0.0.1 (temp dir under /var/tmp, same
filesystem as the server's data dir), prints a table with medians and same-run ratios, writes a
JSON result to bench/out/, and stops/cleans everything on exit. Nothing here asserts a timing:
the machine is shared and noisy, so compare the ratios, not absolute numbers.

Figures (see bench/README.md, section "Foundation (local Hub repositories)"):
1. single download: curl from ModelVault's resolve URL vs curl from nginx (same file, same sink:
   a file in the temp dir, deleted after each run); hf_hub_download (fresh cache) vs the same
   nginx figure.
2. upload of the same file with HfApi.upload_file (LFS, HF_HUB_DISABLE_XET=1): server RSS growth
   and throughput vs `cp` (and `cp` + fsync, as the server fsyncs its blobs).
3. 8 concurrent curl downloads (sink /dev/null): server RSS growth, aggregate throughput.
4. a repo with N small files made by one create_commit; list_repo_tree(recursive=True) time;
   page count and Link headers checked with httpx.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import (
    GiB,
    MiB,
    Nginx,
    RssSampler,
    VaultServer,
    cpu_seconds,
    curl,
    curl_many,
    log,
    make_file,
    mbps,
    med,
    run_in_temp_dir,
    sha256_of,
)
from tests.latency_probe import latency_probe
from tests.servers import HOST

RSS_LIMIT = 64 * MiB
REPO_BIG = "bench/big"
REPO_MANY = "bench/many"
FILE_NAME = "model.bin"


# ----------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------
def salt_file(path: Path, salt: int) -> None:
    """Change the first bytes so the content (and sha256) is new: the server must store it again."""
    with open(path, "r+b") as f:
        f.write(f"modelvault-bench salt  {salt:08d} ".encode())


# ----------------------------------------------------------------------------------------------
# Measurements
# ----------------------------------------------------------------------------------------------
def curl_parallel(url: str, n: int, token: str | None = None) -> tuple[int, float]:
    """``n`` curl processes at once, sink /dev/null; returns (total bytes, wall seconds)."""
    results, wall = curl_many(url, token, n)
    failed = [r for r in results if r["rc"] != 0 or r["status"] != 200]
    if failed:
        raise RuntimeError(f"curl failed: {failed[0]}")
    return sum(r["bytes"] for r in results), wall


def raw_lfs_put(
    server: VaultServer, repo_id: str, token: str, src: Path, oid: str, size: int
) -> dict:
    """LFS batch by hand, then ``curl -T`` of the object to the granted URL; server RSS sampled."""
    import httpx

    auth = {"Authorization": f"Bearer {token}"}
    r = httpx.post(
        f"{server.endpoint}/{repo_id}.git/info/lfs/objects/batch",
        json={
            "operation": "upload",
            "transfers": ["basic"],
            "objects": [{"oid": oid, "size": size}],
        },
        headers={**auth, "Accept": "application/vnd.git-lfs+json"},
        timeout=60,
    )
    r.raise_for_status()
    href = r.json()["objects"][0]["actions"]["upload"]["href"]
    cmd = ["curl", "-sS", "-f", "-T", str(src), "-H", "Expect:", "-o", "/dev/null"]
    cmd += ["-H", f"Authorization: Bearer {token}", "-w", "%{size_upload} %{time_total}", href]
    base = server.settle_rss()
    cpu0 = cpu_seconds(server.pid)
    with RssSampler(server.pid, 0.05) as sampler:
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.split()
    cpu = cpu_seconds(server.pid) - cpu0
    n, t = int(out[0]), float(out[1])
    assert n == size, (n, size)
    return {"seconds": t, "MBps": mbps(size, t), "growth": sampler.peak - base, "server_cpu": cpu}


# ----------------------------------------------------------------------------------------------
# The benchmark
# ----------------------------------------------------------------------------------------------
def run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    size = int(args.size_gib * GiB)
    data_dir = tmp / "data"
    src_dir = tmp / "src"
    sink_dir = tmp / "sink"
    for d in (data_dir, src_dir, sink_dir):
        d.mkdir()
    src = src_dir / FILE_NAME
    result: dict[str, Any] = {
        "started": dt.datetime.now().isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "size_bytes": size,
        "reps": args.reps,
        "files": args.files,
        "tmp_dir": str(tmp),
    }

    log(f"writing {size / MiB:.0f} MiB test file to {src}")
    t0 = time.perf_counter()
    make_file(src, size)
    log(f"  written in {time.perf_counter() - t0:.1f}s")

    server = VaultServer(data_dir, tmp / "server.log")
    token = server.cli("token", "create", "--scope", "admin", "--user", "bench", "--name", "bench")
    nginx = Nginx(tmp / "nginx", src_dir)
    try:
        server.start(token)
        nginx.start()
        log(f"server pid {server.pid} at {server.endpoint}; nginx on port {nginx.port}")
        os.environ.update(
            {
                "HF_ENDPOINT": server.endpoint,
                "HF_TOKEN": token,
                "HF_HUB_DISABLE_XET": "1",
                "HF_HUB_DISABLE_PROGRESS_BARS": "1",
                "HF_HUB_DISABLE_TELEMETRY": "1",
                "HF_HOME": str(tmp / "hf_home"),
            }
        )
        # Imported only now: huggingface_hub reads these variables at import time.
        import httpx
        from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download

        api = HfApi(endpoint=server.endpoint, token=token)
        api.create_repo(REPO_BIG, exist_ok=True)
        api.create_repo(REPO_MANY, exist_ok=True)

        # -- 2. upload vs cp (interleaved), each upload on a fresh server process ------------
        log("phase: upload (HfApi.upload_file, LFS) vs cp")
        uploads: list[dict[str, Any]] = []
        cps: list[float] = []
        cps_fsync: list[float] = []
        raw_puts: list[dict[str, Any]] = []
        hash_times: list[float] = []
        for rep in range(args.reps):
            dst = sink_dir / "cp.bin"
            t0 = time.perf_counter()
            subprocess.run(["cp", str(src), str(dst)], check=True)
            t_cp = time.perf_counter() - t0
            fd = os.open(dst, os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
            t_cp_sync = time.perf_counter() - t0
            dst.unlink()
            cps.append(t_cp)
            cps_fsync.append(t_cp_sync)

            server.restart(token)
            # Diagnostic: the same ingest with curl -T straight to the LFS upload URL (no
            # huggingface_hub in the way). New content each time (salt), so it is really stored.
            salt_file(src, 1000 + rep)
            t0 = time.perf_counter()
            oid = sha256_of(src)
            hash_times.append(time.perf_counter() - t0)
            raw = raw_lfs_put(server, REPO_BIG, token, src, oid, size)
            raw_puts.append(raw)

            salt_file(src, rep)  # new content again for upload_file
            server.restart(token)
            base = server.settle_rss()
            cpu0 = cpu_seconds(server.pid)
            whoami = f"{server.endpoint}/api/whoami-v2"
            with (
                RssSampler(server.pid, 0.05) as sampler,
                latency_probe(
                    whoami, {"Authorization": f"Bearer {token}"}, interval=0.1, timeout=600
                ) as probe,
            ):
                t0 = time.perf_counter()
                api.upload_file(
                    path_or_fileobj=str(src),
                    path_in_repo=FILE_NAME,
                    repo_id=REPO_BIG,
                    commit_message=f"bench upload {rep}",
                )
                t_up = time.perf_counter() - t0
            hwm = server.hwm()
            uploads.append(
                {
                    "server_cpu": cpu_seconds(server.pid) - cpu0,
                    "probe_max_latency": probe.max,
                    "seconds": t_up,
                    "MBps": mbps(size, t_up),
                    "rss_before": base,
                    "rss_peak_sampled": sampler.peak,
                    "vmhwm_after": hwm,
                    "growth": sampler.peak - base,
                    "hwm_growth": hwm - base,
                    "samples": len(sampler.samples),
                }
            )
            log(
                f"  rep {rep}: cp {mbps(size, t_cp):.0f} MB/s (cp+fsync "
                f"{mbps(size, t_cp_sync):.0f}), upload {mbps(size, t_up):.0f} MB/s, raw curl PUT "
                f"{raw['MBps']:.0f} MB/s (RSS +{raw['growth'] / MiB:.1f} MiB), "
                f"RSS growth {(sampler.peak - base) / MiB:.1f} MiB (HWM {(hwm - base) / MiB:.1f})"
            )
        src_sha = sha256_of(src)
        result["upload"] = {
            "runs": uploads,
            "cp_seconds": cps,
            "cp_fsync_seconds": cps_fsync,
            "median_MBps": med([u["MBps"] for u in uploads]),
            "cp_median_MBps": mbps(size, med(cps)),
            "cp_fsync_median_MBps": mbps(size, med(cps_fsync)),
            "max_rss_growth": max(u["growth"] for u in uploads),
            "max_hwm_growth": max(u["hwm_growth"] for u in uploads),
            "server_cpu_s_per_GiB": med([u["server_cpu"] for u in uploads]) / (size / GiB),
            "raw_server_cpu_s_per_GiB": med([r["server_cpu"] for r in raw_puts]) / (size / GiB),
            "probe_max_latency": max(u["probe_max_latency"] for u in uploads),
            "raw_curl_put": raw_puts,
            "raw_curl_put_median_MBps": med([r["MBps"] for r in raw_puts]),
            "sha256_seconds": hash_times,
            "sha256_median_MBps": mbps(size, med(hash_times)),
        }

        # -- 1. single downloads, interleaved and rotated ---------------------------------------
        log("phase: single downloads (sink: file in the temp dir, deleted after each run)")
        resolve = f"{server.endpoint}/{REPO_BIG}/resolve/main/{FILE_NAME}"
        sink = str(sink_dir / "dl.bin")
        times: dict[str, list[float]] = {
            "mv": [],
            "nginx": [],
            "nginx_nosendfile": [],
            "hf": [],
            "mv_null": [],
            "nginx_null": [],
        }
        cpu: dict[str, list[float]] = {"mv": [], "hf": []}

        def do_mv(verify: bool, to: str = sink) -> float:
            got = curl(resolve, token, to)
            n, t = got["bytes"], got["total"]
            assert n == size, (n, size)
            if verify:
                assert sha256_of(Path(sink)) == src_sha, "ModelVault served different bytes"
            return t

        def do_nginx(sendfile: bool, to: str = sink) -> float:
            got = curl(nginx.url(FILE_NAME, sendfile), None, to)
            n, t = got["bytes"], got["total"]
            assert n == size, (n, size)
            return t

        def do_hf(verify: bool) -> float:
            cache = tmp / "hf_cache"
            shutil.rmtree(cache, ignore_errors=True)
            t0 = time.perf_counter()
            path = hf_hub_download(
                REPO_BIG, FILE_NAME, cache_dir=cache, token=token, endpoint=server.endpoint
            )
            t = time.perf_counter() - t0
            assert os.path.getsize(path) == size
            if verify:
                assert sha256_of(Path(path)) == src_sha, "hf_hub_download got different bytes"
            shutil.rmtree(cache, ignore_errors=True)
            return t

        def run_one(kind: str, verify: bool) -> float:
            if kind == "mv":
                return do_mv(verify)
            if kind == "mv_null":
                return do_mv(False, "/dev/null")
            if kind == "hf":
                return do_hf(verify)
            if kind == "nginx_null":
                return do_nginx(True, "/dev/null")
            return do_nginx(kind == "nginx")

        server.restart(token)
        base = server.settle_rss()
        order = ["mv", "nginx", "hf", "mv_null", "nginx_nosendfile", "nginx_null"]
        with RssSampler(server.pid, 0.05) as sampler:
            for rep in range(args.reps):
                rot = order[rep % len(order) :] + order[: rep % len(order)]
                for kind in rot:
                    first = rep == 0
                    cpu0 = cpu_seconds(server.pid)
                    t = run_one(kind, first)
                    if os.path.exists(sink):
                        os.unlink(sink)
                    times[kind].append(t)
                    if kind in cpu:
                        cpu[kind].append(cpu_seconds(server.pid) - cpu0)
                log(
                    f"  rep {rep}: "
                    + ", ".join(f"{k} {mbps(size, v[-1]):.0f} MB/s" for k, v in times.items())
                )
        result["download"] = {
            "sink": "file in the temp dir (same filesystem), deleted after each run; "
            "*_null: /dev/null",
            "seconds": times,
            "median_MBps": {k: mbps(size, med(v)) for k, v in times.items()},
            "server_cpu_seconds": cpu,
            "server_cpu_s_per_GiB": {k: med(v) / (size / GiB) for k, v in cpu.items()},
            "rss_before": base,
            "rss_peak_sampled": sampler.peak,
            "growth": sampler.peak - base,
        }
        dm = result["download"]["median_MBps"]
        result["download"]["ratio_mv_nginx"] = dm["mv"] / dm["nginx"]
        result["download"]["ratio_mv_nginx_nosendfile"] = dm["mv"] / dm["nginx_nosendfile"]
        result["download"]["ratio_hf_nginx"] = dm["hf"] / dm["nginx"]
        result["download"]["ratio_mv_nginx_null"] = dm["mv_null"] / dm["nginx_null"]

        # -- 3. 8 concurrent downloads ------------------------------------------------------------
        log(f"phase: {args.concurrency} concurrent curl downloads (sink /dev/null)")
        conc: list[dict[str, Any]] = []
        conc_nginx: list[float] = []
        for rep in range(args.conc_reps):
            n, t = curl_parallel(nginx.url(FILE_NAME), args.concurrency)
            assert n == size * args.concurrency
            conc_nginx.append(mbps(n, t))
            server.restart(token)
            base = server.settle_rss()
            cpu0 = cpu_seconds(server.pid)
            whoami = f"{server.endpoint}/api/whoami-v2"
            with (
                RssSampler(server.pid, 0.05) as sampler,
                latency_probe(
                    whoami, {"Authorization": f"Bearer {token}"}, interval=0.1, timeout=600
                ) as probe,
            ):
                n, t = curl_parallel(resolve, args.concurrency, token)
            conc_cpu = cpu_seconds(server.pid) - cpu0
            assert n == size * args.concurrency, (n, size)
            hwm = server.hwm()
            conc.append(
                {
                    "seconds": t,
                    "aggregate_MBps": mbps(n, t),
                    "server_cpu_s_per_GiB": conc_cpu / (n / GiB),
                    "probe_max_latency": probe.max,
                    "rss_before": base,
                    "rss_peak_sampled": sampler.peak,
                    "vmhwm_after": hwm,
                    "growth": sampler.peak - base,
                    "hwm_growth": hwm - base,
                }
            )
            log(
                f"  rep {rep}: ModelVault {mbps(n, t):.0f} MB/s aggregate, nginx "
                f"{conc_nginx[-1]:.0f} MB/s; RSS growth {(sampler.peak - base) / MiB:.1f} MiB "
                f"(HWM {(hwm - base) / MiB:.1f})"
            )
        result["concurrent"] = {
            "n": args.concurrency,
            "sink": "/dev/null",
            "runs": conc,
            "nginx_aggregate_MBps": conc_nginx,
            "median_MBps": med([c["aggregate_MBps"] for c in conc]),
            "nginx_median_MBps": med(conc_nginx),
            "max_rss_growth": max(c["growth"] for c in conc),
            "max_hwm_growth": max(c["hwm_growth"] for c in conc),
            "probe_max_latency": max(c["probe_max_latency"] for c in conc),
        }

        # -- 4. a large tree ------------------------------------------------------------------------
        log(f"phase: create_commit with {args.files} small files, list_repo_tree(recursive=True)")
        ops = [
            CommitOperationAdd(
                path_in_repo=f"d{i // 100:03d}/f{i:05d}.txt",
                path_or_fileobj=f"file {i}\n".encode(),
            )
            for i in range(args.files)
        ]
        server.restart(token)
        base = server.settle_rss()
        whoami = f"{server.endpoint}/api/whoami-v2"
        with (
            RssSampler(server.pid, 0.05) as sampler,
            latency_probe(
                whoami, {"Authorization": f"Bearer {token}"}, interval=0.1, timeout=600
            ) as probe,
        ):
            t0 = time.perf_counter()
            api.create_commit(REPO_MANY, operations=ops, commit_message="many files")
            t_commit = time.perf_counter() - t0
        commit_growth = sampler.peak - base
        log(
            f"  create_commit: {t_commit:.2f}s, RSS growth {commit_growth / MiB:.1f} MiB, "
            f"whoami max latency meanwhile {probe.max:.2f}s"
        )
        tree_times = []
        n_entries = n_files = 0
        for _ in range(args.reps):
            t0 = time.perf_counter()
            entries = list(api.list_repo_tree(REPO_MANY, recursive=True))
            tree_times.append(time.perf_counter() - t0)
            n_entries = len(entries)
            n_files = sum(1 for e in entries if e.__class__.__name__ == "RepoFile")
        log(
            f"  list_repo_tree: median {med(tree_times):.2f}s, {n_entries} entries "
            f"({n_files} files)"
        )
        # Paging, checked by hand.
        pages: list[int] = []
        links: list[str] = []
        url: str | None = f"{server.endpoint}/api/models/{REPO_MANY}/tree/main?recursive=true"
        t0 = time.perf_counter()
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
            while url:
                r = client.get(url)
                r.raise_for_status()
                pages.append(len(r.json()))
                nxt = r.links.get("next", {}).get("url")
                if nxt:
                    links.append(r.headers["Link"])
                url = nxt
                if len(pages) > 10 * (args.files // 1000 + 2):
                    raise RuntimeError(f"paging does not end: {pages[:20]}...")
        t_pages = time.perf_counter() - t0
        absolute = all(link.startswith(f"<http://{HOST}:{server.port}/") for link in links)
        # Recorded, not asserted: the report says whether the page limit held.
        log(
            f"  httpx paging: {len(pages)} pages {pages}, {t_pages:.2f}s, "
            f"sum {sum(pages)} (client saw {n_entries}), absolute links: {absolute}"
        )
        result["tree"] = {
            "files": args.files,
            "create_commit_seconds": t_commit,
            "create_commit_rss_growth": commit_growth,
            "create_commit_probe_max_latency": probe.max,
            "list_repo_tree_seconds": tree_times,
            "list_repo_tree_median_seconds": med(tree_times),
            "entries": n_entries,
            "file_entries": n_files,
            "pages": len(pages),
            "page_sizes": pages,
            "first_link": links[0] if links else None,
            "httpx_paging_seconds": t_pages,
            "all_links_absolute": absolute,
            "httpx_entries": sum(pages),
            "empty_pages": sum(1 for p in pages if p == 0),
        }
        result["server_log_tail"] = (tmp / "server.log").read_text(errors="replace")[-3000:]
    finally:
        server.stop()
        nginx.stop()
    return result


# ----------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------
def report(r: dict[str, Any]) -> str:
    size_mib = r["size_bytes"] / MiB
    d, u, c, t = r["download"], r["upload"], r["concurrent"], r["tree"]
    dm = d["median_MBps"]
    ok = lambda b: "MET" if b else "NOT MET"  # noqa: E731
    lines = [
        f"Foundation benchmark — file {size_mib:.0f} MiB, {r['reps']} reps (medians), "
        f"{t['files']} files, {r['cpus']} CPUs, {r['started']}",
        "",
        "| figure | ModelVault | reference | ratio | target |",
        "| --- | --- | --- | --- | --- |",
        f"| 1. curl download (sink: file) | {dm['mv']:.0f} MB/s | nginx sendfile on "
        f"{dm['nginx']:.0f} MB/s | {d['ratio_mv_nginx']:.2f} | >= 0.8: "
        f"{ok(d['ratio_mv_nginx'] >= 0.8)} |",
        f"| 1a. curl download (sink: /dev/null) | {dm['mv_null']:.0f} MB/s | nginx sendfile on "
        f"{dm['nginx_null']:.0f} MB/s | {d['ratio_mv_nginx_null']:.2f} | (info) |",
        f"| 1b. curl (file sink), nginx sendfile off | {dm['mv']:.0f} MB/s | nginx sendfile off "
        f"{dm['nginx_nosendfile']:.0f} MB/s | {d['ratio_mv_nginx_nosendfile']:.2f} | (info) |",
        f"| 1c. hf_hub_download (fresh cache) | {dm['hf']:.0f} MB/s | nginx curl "
        f"{dm['nginx']:.0f} MB/s | {d['ratio_hf_nginx']:.2f} | (client ceiling) |",
        f"| 1d. server RSS growth over all single downloads | "
        f"{d['growth'] / MiB:.1f} MiB | | | (info) |",
        f"| 1e. server CPU per GiB served (curl / hf_hub_download) | "
        f"{d['server_cpu_s_per_GiB']['mv']:.2f} / {d['server_cpu_s_per_GiB']['hf']:.2f} s "
        f"| | | (info) |",
        f"| 2. upload_file (LFS) | {u['median_MBps']:.0f} MB/s | cp {u['cp_median_MBps']:.0f} "
        f"MB/s | {u['median_MBps'] / u['cp_median_MBps']:.2f} | (info) |",
        f"| 2b. same vs cp + fsync | {u['median_MBps']:.0f} MB/s | cp+fsync "
        f"{u['cp_fsync_median_MBps']:.0f} MB/s | "
        f"{u['median_MBps'] / u['cp_fsync_median_MBps']:.2f} | (info) |",
        f"| 2b'. raw curl -T to the LFS URL (diagnostic) | "
        f"{u['raw_curl_put_median_MBps']:.0f} MB/s | cp+fsync {u['cp_fsync_median_MBps']:.0f} "
        f"MB/s | {u['raw_curl_put_median_MBps'] / u['cp_fsync_median_MBps']:.2f} | (info) |",
        f"| 2b''. client-side sha256 of the file (in upload_file's time) | "
        f"{u['sha256_median_MBps']:.0f} MB/s | | | (info) |",
        f"| 2d. server CPU per GiB received (upload_file / raw curl PUT) | "
        f"{u['server_cpu_s_per_GiB']:.2f} / {u['raw_server_cpu_s_per_GiB']:.2f} s | | | (info) |",
        f"| 2c. server RSS growth during upload (max of reps) | "
        f"{u['max_rss_growth'] / MiB:.1f} MiB (VmHWM {u['max_hwm_growth'] / MiB:.1f}) | | | "
        f"< 64 MiB: {ok(max(u['max_rss_growth'], u['max_hwm_growth']) < RSS_LIMIT)} |",
        f"| 2e. max latency of a whoami GET during upload_file | "
        f"{u['probe_max_latency']:.2f} s | | | (info) |",
        f"| 3. {c['n']} concurrent curl (sink /dev/null), aggregate | {c['median_MBps']:.0f} "
        f"MB/s | nginx {c['nginx_median_MBps']:.0f} MB/s | "
        f"{c['median_MBps'] / c['nginx_median_MBps']:.2f} | (info) |",
        f"| 3b. server RSS growth, {c['n']} concurrent (max of reps) | "
        f"{c['max_rss_growth'] / MiB:.1f} MiB (VmHWM {c['max_hwm_growth'] / MiB:.1f}) | | | "
        f"< 64 MiB: {ok(max(c['max_rss_growth'], c['max_hwm_growth']) < RSS_LIMIT)} |",
        f"| 3c. server CPU per GiB served, {c['n']} concurrent | "
        f"{med([x['server_cpu_s_per_GiB'] for x in c['runs']]):.2f} s | | | (info) |",
        f"| 3d. max latency of a whoami GET during the {c['n']} downloads | "
        f"{c['probe_max_latency']:.2f} s | | | (info) |",
        f"| 4. create_commit, {t['files']} inline files | {t['create_commit_seconds']:.2f} s | "
        f"| | (info) |",
        f"| 4a. max latency of a whoami GET during that commit | "
        f"{t['create_commit_probe_max_latency']:.2f} s | | | (info) |",
        f"| 4b. list_repo_tree(recursive=True) | {t['list_repo_tree_median_seconds']:.2f} s "
        f"({t['entries']} entries, {t['file_entries']} files) | | | (info) |",
        f"| 4c. pages (httpx, following Link) | {t['pages']} pages, max "
        f"{max(t['page_sizes'])} entries, {t['empty_pages']} empty, absolute Link: "
        f"{t['all_links_absolute']} | | | <= 1000/page: {ok(max(t['page_sizes']) <= 1000)} |",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-gib", type=float, default=2.0)
    parser.add_argument("--quick", action="store_true", help="256 MiB file, 1000 files")
    parser.add_argument("--reps", type=int, default=3, help="repetitions per side (>= 3)")
    parser.add_argument("--conc-reps", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--tmp-parent", default="/var/tmp")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = parser.parse_args()
    if args.quick:
        args.size_gib = 0.25
        args.files = 1000
    return run_in_temp_dir(
        "foundation", args, run, report, tools=("curl", "nginx", "cp"), quick=args.quick
    )


if __name__ == "__main__":
    sys.exit(main())
