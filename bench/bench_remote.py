#!/usr/bin/env python
"""Remote Hub repositories (hf-remote) and the gate, vs a local repo, the upstream and olah.

    python bench/bench_remote.py [--size-mib 1024] [--quick] [--no-olah]

Starts everything itself on 127.0.0.1 (temp dir under /var/tmp): an *upstream* ModelVault, a
*vault* ModelVault with an hf-remote repository `hub-remote` pointing at the upstream, nginx
serving the source files (static reference), an nginx reverse proxy that strips the upstream's
path prefix (olah only takes scheme + netloc) and olah 0.5.4 behind it. Prints a table of
medians and same-run ratios, writes JSON to bench/out/, stops every process group on exit.
Nothing is asserted about timings: the machine is shared and noisy.

Figures (see bench/README.md, "Remote Hub repositories and the gate"):
1. warm snapshot_download (20 files, one big) through hub-remote vs the same files in an hf-local
   repo of the same vault (and vs the upstream directly, and olah); fresh client cache each rep.
2. cold: TTFB (curl time_starttransfer and httpx first chunk) of a 10 MiB and a big file through
   hub-remote, new content each time; total cold time vs a direct download from the upstream;
   cold snapshot_download vs direct (and olah).
3. 16 concurrent cold requests for one file: upstream downloads counted in the upstream's audit
   log (hub.file.download events of the vault's upstream token); same for olah.
4. gate: a scanned clean safetensors file in an hf-local repo: forced re-scan time (the one-time
   work), first download after upload, repeated downloads, HEAD latency (all per-request work
   before the body), nginx serving the same bytes.
5. olah: warm/cold snapshot vs direct, curl of a cached file vs ModelVault and nginx, RSS while
   serving 16 concurrent downloads of the big file (VmRSS sampled from /proc).
"""

from __future__ import annotations

import os

# Before huggingface_hub is imported: plain HTTP LFS uploads, quiet output.
os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ.pop("HF_ENDPOINT", None)
os.environ.pop("HF_TOKEN", None)

import argparse
import datetime as dt
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
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
    curl_many,
    log,
    med,
    proc_status,
    save_result,
)
from bench._remote_procs import (
    Olah,
    StripProxy,
    http_json,
    write_model,
    write_safetensors,
)
from tests.latency_probe import latency_probe
from tests.servers import HOST

SMALL = 10 * MiB
CONCURRENCY = 16


def rotate(names: list[str], r: int) -> list[str]:
    k = r % len(names)
    return names[k:] + names[:k]


# ----------------------------------------------------------------------------------------------
# Clients
# ----------------------------------------------------------------------------------------------
def httpx_stream(url: str, token: str) -> dict[str, float]:
    """GET with httpx streaming on a new connection: time to the first body chunk, total."""
    import httpx

    n = 0
    ttfb = float("nan")
    with httpx.Client(timeout=600, headers={"Authorization": f"Bearer {token}"}) as client:
        t0 = time.perf_counter()
        with client.stream("GET", url) as r:
            r.raise_for_status()
            for chunk in r.iter_raw(1 << 20):
                if n == 0 and chunk:
                    ttfb = time.perf_counter() - t0
                n += len(chunk)
        total = time.perf_counter() - t0
    return {"bytes": n, "ttfb": ttfb, "total": total}


def snapshot(endpoint: str, repo_id: str, token: str, cache_root: Path, big_size: int) -> float:
    """snapshot_download into a fresh cache dir (deleted afterwards); seconds."""
    from huggingface_hub import snapshot_download

    cache = Path(tempfile.mkdtemp(prefix="hfcache-", dir=cache_root))
    try:
        t0 = time.perf_counter()
        path = snapshot_download(repo_id, endpoint=endpoint, token=token, cache_dir=cache)
        seconds = time.perf_counter() - t0
        got = os.path.getsize(Path(path) / "model.safetensors")
        if got != big_size:
            raise RuntimeError(f"{endpoint} {repo_id}: model.safetensors is {got} bytes")
        return seconds
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def upload(endpoint: str, token: str, repo_id: str, folder: Path) -> float:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=endpoint, token=token)
    api.create_repo(repo_id, exist_ok=True)
    t0 = time.perf_counter()
    api.upload_folder(repo_id=repo_id, folder_path=folder)
    return time.perf_counter() - t0


def upstream_downloads(up: VaultServer, token: str, actor: str, repo_id: str, path: str) -> int:
    """hub.file.download events on the upstream by ``actor`` for ``repo_id``/``path``."""
    url = f"http://{HOST}:{up.port}/modelvault/api/audit?action=hub.file.download&limit=1000"
    events = http_json("GET", url, token)["events"]  # type: ignore[index]
    return sum(
        1
        for e in events
        if e["actor"] == actor
        and f"/{repo_id}@" in e["subject"]
        and e["subject"].endswith(f"/{path}")
    )


# ----------------------------------------------------------------------------------------------
# The benchmark
# ----------------------------------------------------------------------------------------------
class Bench:
    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args = args
        self.tmp = tmp
        self.size = args.size_mib * MiB
        self.src = tmp / "src"
        self.caches = tmp / "clients"
        for d in (self.src, self.caches, tmp / "up", tmp / "vault"):
            d.mkdir()
        self.up = VaultServer(tmp / "up", tmp / "up.log")
        self.vault = VaultServer(tmp / "vault", tmp / "vault.log")
        self.nginx = Nginx(tmp / "nginx", self.src)
        self.proxy: StripProxy | None = None
        self.link: StripProxy | None = None
        self.olah: Olah | None = None
        self.r: dict[str, Any] = {
            "started": dt.datetime.now().isoformat(timespec="seconds"),
            "host": platform.node(),
            "cpus": os.cpu_count(),
            "size_bytes": self.size,
            "reps": {"warm": args.reps, "cold": args.cold_reps},
            "upstream_mib_per_s": args.upstream_mib_per_s,
            "tmp_dir": str(tmp),
        }

    # -- setup --
    def start(self) -> None:
        up, vault = self.up, self.vault
        self.up_admin = up.cli("token", "create", "--scope", "admin", "--user", "bench")
        self.up_read_vault = up.cli("token", "create", "--scope", "read", "--user", "vault-mirror")
        self.up_read_olah = up.cli("token", "create", "--scope", "read", "--user", "olah-mirror")
        self.token = vault.cli("token", "create", "--scope", "admin", "--user", "bench")
        up.start(self.up_admin)
        vault.start(self.token)
        self.nginx.start()
        if self.args.upstream_mib_per_s:
            # A bandwidth-limited link in front of the upstream, for direct and remote alike.
            self.link = StripProxy(
                self.tmp / "link", up.endpoint, "", rate=f"{self.args.upstream_mib_per_s}m"
            )
            self.link.start()
            upstream = f"http://{self.link.netloc}"
            log(f"upstream behind a {self.args.upstream_mib_per_s} MiB/s link: {upstream}")
        else:
            upstream = up.endpoint
        http_json(
            "POST",
            f"http://{HOST}:{vault.port}/modelvault/api/repositories",
            self.token,
            {
                "key": "hub-remote",
                "kind": "hf-remote",
                "config": {
                    "upstream": upstream,
                    "upstream_token": self.up_read_vault,
                    "revision_ttl_seconds": 60,
                },
            },
        )
        self.remote = f"http://{HOST}:{vault.port}/modelvault/hf/hub-remote"
        self.local = vault.endpoint
        self.direct = upstream
        log(f"upstream pid {up.pid} {up.endpoint}; vault pid {vault.pid} {self.remote}")
        if not self.args.no_olah:
            self.proxy = StripProxy(self.tmp / "proxy", up.endpoint, self.up_read_olah)
            self.proxy.start()
            self.olah = Olah(self.tmp / "olah", self.proxy.netloc)
            self.olah.start()
            log(f"olah pid {self.olah.pid} {self.olah.endpoint} -> proxy {self.proxy.netloc}")

    def stop(self) -> None:
        for p in (self.olah, self.proxy, self.link, self.nginx, self.vault, self.up):
            if p is not None:
                try:
                    p.stop()
                except Exception as exc:  # keep stopping the others
                    log(f"stop failed: {exc!r}")

    def resolve_url(self, endpoint: str, repo_id: str, path: str, rev: str = "main") -> str:
        return f"{endpoint}/{repo_id}/resolve/{rev}/{path}"

    # -- figure 1 (+ olah warm, curl of a cached file, RSS) --
    def warm(self) -> None:
        args, size = self.args, self.size
        repo = "bench/warm"
        folder = self.src / "warm"
        write_model(folder, size, "warm")
        t_up = upload(self.up.endpoint, self.up_admin, repo, folder)
        t_loc = upload(self.local, self.token, repo, folder)
        log(f"warm model uploaded: upstream {t_up:.1f}s, vault hf-local {t_loc:.1f}s")
        snap = lambda ep, tok: snapshot(ep, repo, tok, self.caches, size)  # noqa: E731
        first = {"remote_cold": snap(self.remote, self.token)}
        if self.olah:
            first["olah_cold"] = snap(self.olah.endpoint, self.up_read_olah)
        log(f"  warming: {first}")
        sides: dict[str, Callable[[], float]] = {
            "remote": lambda: snap(self.remote, self.token),
            "local": lambda: snap(self.local, self.token),
            "direct": lambda: snap(self.direct, self.up_admin),
        }
        if self.olah:
            olah_ep = self.olah.endpoint
            sides["olah"] = lambda: snap(olah_ep, self.up_read_olah)
        times: dict[str, list[float]] = {k: [] for k in sides}
        for rep in range(args.reps):
            for name in rotate(list(sides), rep):
                times[name].append(sides[name]())
            log(
                f"  snapshot rep {rep}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items())
            )
        m = {k: med(v) for k, v in times.items()}
        self.r["warm_snapshot"] = {"first": first, "seconds": times, "median": m}

        # curl of the cached big file (sink /dev/null), interleaved
        path = "model.safetensors"
        urls: dict[str, tuple[str, str | None]] = {
            "remote": (self.resolve_url(self.remote, repo, path), self.token),
            "local": (self.resolve_url(self.local, repo, path), self.token),
            "direct": (self.resolve_url(self.direct, repo, path), self.up_admin),
            "nginx": (self.nginx.url(f"warm/{path}"), None),
        }
        if self.olah:
            urls["olah"] = (self.resolve_url(self.olah.endpoint, repo, path), self.up_read_olah)
        ct: dict[str, list[float]] = {k: [] for k in urls}
        cttfb: dict[str, list[float]] = {k: [] for k in urls}
        for rep in range(args.reps):
            for name in rotate(list(urls), rep):
                res = curl(*urls[name])
                if res["bytes"] != size:
                    raise RuntimeError(f"{name}: {res['bytes']} bytes")
                ct[name].append(res["total"])
                cttfb[name].append(res["ttfb"])
            log(f"  curl rep {rep}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in ct.items()))
        self.r["warm_curl"] = {
            "seconds": ct,
            "median": {k: med(v) for k, v in ct.items()},
            "ttfb_median": {k: med(v) for k, v in cttfb.items()},
        }
        # per-request cost on a small cached file: HEAD and GET of config.json, interleaved
        small = {
            k: (self.resolve_url(ep, repo, "config.json"), tok)
            for k, (ep, tok) in {
                "remote": (self.remote, self.token),
                "local": (self.local, self.token),
                "direct": (self.direct, self.up_admin),
            }.items()
        }
        lat: dict[str, list[float]] = {f"{k}_{m}": [] for k in small for m in ("head", "get")}
        for i in range(30):
            for k in rotate(list(small), i):
                lat[f"{k}_head"].append(curl(*small[k], head=True)["total"])
                lat[f"{k}_get"].append(curl(*small[k])["total"])
        self.r["small_file_latency"] = {k: med(v) for k, v in lat.items()}
        log(
            "  small-file latency (ms): "
            + ", ".join(f"{k} {med(v) * 1e3:.1f}" for k, v in lat.items())
        )

        # RSS serving 16 concurrent downloads of the cached big file
        rss: dict[str, Any] = {}
        servers = [("vault (hub-remote)", "remote", self.vault.pid)]
        if self.olah:
            servers.append(("olah", "olah", self.olah.pid))
        for label, key, pid in servers:
            url, tok = urls[key]
            time.sleep(0.5)
            base = proc_status(pid).get("VmRSS", 0)
            with RssSampler(pid, 0.05) as sampler:
                res, wall = curl_many(url, tok, CONCURRENCY)
            ok = sum(1 for x in res if x["rc"] == 0 and x["bytes"] == size)
            rss[label] = {
                "baseline": base,
                "peak": sampler.peak,
                "wall": wall,
                "ok": ok,
                "aggregate_MBps": sum(x["bytes"] for x in res) / wall / 1e6,
            }
            log(
                f"  {CONCURRENCY} concurrent via {label}: {ok}/{CONCURRENCY} ok, {wall:.1f}s, "
                f"RSS {base / MiB:.0f} -> peak {sampler.peak / MiB:.0f} MiB"
            )
        res, wall = curl_many(urls["nginx"][0], None, CONCURRENCY)
        rss["nginx"] = {"wall": wall, "aggregate_MBps": sum(x["bytes"] for x in res) / wall / 1e6}
        self.r["concurrent_warm"] = rss

    # -- figure 2 (+ olah cold) --
    def cold(self) -> None:
        args, size = self.args, self.size
        snaps: dict[str, list[float]] = {"direct": [], "remote": []}
        if self.olah:
            snaps["olah"] = []
        files: dict[str, list[dict[str, float]]] = {}

        def add(key: str, res: dict[str, float], expect: int) -> None:
            if res["bytes"] != expect:
                raise RuntimeError(f"{key}: got {res['bytes']} of {expect} bytes")
            files.setdefault(key, []).append(res)

        for rep in range(args.cold_reps):
            snap_repo, file_repo = f"bench/cold-snap-{rep}", f"bench/cold-file-{rep}"
            f_snap, f_file = self.src / f"cold-snap-{rep}", self.src / f"cold-file-{rep}"
            write_model(f_snap, size, f"cold-snap-{rep}")
            f_file.mkdir()
            (f_file / "README.md").write_text(f"---\nlicense: apache-2.0\n---\ncold {rep}\n")
            names = {
                "curl_big": size, "httpx_big": size, "curl_small": SMALL, "httpx_small": SMALL,
            }  # fmt: skip
            for name, n in names.items():
                write_safetensors(f_file / f"{name}.safetensors", n, f"cold-{rep}-{name}")
            t1 = upload(self.up.endpoint, self.up_admin, snap_repo, f_snap)
            t2 = upload(self.up.endpoint, self.up_admin, file_repo, f_file)
            shutil.rmtree(f_snap)
            shutil.rmtree(f_file)
            log(f"cold rep {rep}: uploaded in {t1:.1f}s + {t2:.1f}s")

            # cold snapshot_download: every side sees this repo for the first time
            eps = {"direct": (self.direct, self.up_admin), "remote": (self.remote, self.token)}
            if self.olah:
                eps["olah"] = (self.olah.endpoint, self.up_read_olah)
            for name in rotate(list(eps), rep):
                ep, tok = eps[name]
                snaps[name].append(snapshot(ep, snap_repo, tok, self.caches, size))
            log("  cold snapshot: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in snaps.items()))

            # first touch of the repo (revision + tree + card), so TTFB below is about the file
            def u(ep: str, p: str, repo: str = file_repo) -> str:
                return self.resolve_url(ep, repo, f"{p}.safetensors")

            files.setdefault("remote_first_head", []).append(
                curl(u(self.remote, "curl_small"), self.token, head=True)
            )
            for p in names:
                curl(u(self.remote, p), self.token, head=True)
            order = ["small", "big"] if rep % 2 == 0 else ["big", "small"]
            for s in order:
                expect = size if s == "big" else SMALL
                # direct first on even reps, last on odd ones (same upstream blob)
                direct_url = u(self.direct, f"curl_{s}")
                if rep % 2 == 0:
                    add(f"direct_curl_{s}", self.with_cpu(curl, direct_url, self.up_admin), expect)
                add(
                    f"remote_curl_{s}",
                    self.with_cpu(curl, u(self.remote, f"curl_{s}"), self.token),
                    expect,
                )
                add(
                    f"remote_httpx_{s}",
                    httpx_stream(u(self.remote, f"httpx_{s}"), self.token),
                    expect,
                )
                if rep % 2 == 1:
                    add(f"direct_curl_{s}", self.with_cpu(curl, direct_url, self.up_admin), expect)
                add(
                    f"direct_httpx_{s}",
                    httpx_stream(u(self.direct, f"httpx_{s}"), self.up_admin),
                    expect,
                )
                if self.olah:
                    add(
                        f"olah_curl_{s}",
                        curl(u(self.olah.endpoint, f"curl_{s}"), self.up_read_olah),
                        expect,
                    )
            log(
                "  cold files (ttfb/total s): "
                + ", ".join(
                    f"{k} {v[-1]['ttfb']:.3f}/{v[-1]['total']:.2f}"
                    for k, v in files.items()
                    if "first_head" not in k
                )
            )
        fm = {
            k: {m: med([x[m] for x in v]) for m in v[0] if m != "bytes"} for k, v in files.items()
        }
        self.r["cold_snapshot"] = {
            "seconds": snaps,
            "median": {k: med(v) for k, v in snaps.items()},
        }
        self.r["cold_files"] = {"runs": files, "median": fm}

    def with_cpu(
        self, fetch: Callable[[str, str], dict[str, float]], url: str, token: str
    ) -> dict[str, float]:
        """``fetch(url, token)`` plus the CPU seconds the vault, the upstream and the client
        (a child process of this one) spent meanwhile: on two cores, their sum bounds the wall
        time from below."""

        def now() -> tuple[float, float, float]:
            t = os.times()
            return (
                cpu_seconds(self.vault.pid),
                cpu_seconds(self.up.pid),
                t.children_user + t.children_system,
            )

        before = now()
        result = fetch(url, token)
        after = now()
        for name, b, a in zip(
            ("cpu_vault", "cpu_upstream", "cpu_client"), before, after, strict=True
        ):
            result[name] = a - b
        return result

    # -- figure 3 --
    def concurrent_cold(self) -> None:
        size = self.size
        repo, path = "bench/conc", "model.safetensors"
        folder = self.src / "conc"
        folder.mkdir()
        (folder / "README.md").write_text("---\nlicense: apache-2.0\n---\nconc\n")
        write_safetensors(folder / path, size, "conc")
        upload(self.up.endpoint, self.up_admin, repo, folder)
        shutil.rmtree(folder)
        out: dict[str, Any] = {}
        sides = [("vault", self.remote, self.token, self.vault.pid, "vault-mirror")]
        if self.olah:
            sides.append(
                ("olah", self.olah.endpoint, self.up_read_olah, self.olah.pid, "olah-mirror")
            )
        for label, ep, tok, pid, actor in sides:
            before = upstream_downloads(self.up, self.up_admin, actor, repo, path)
            olah_gets_before = self._olah_upstream_gets(repo, path)
            time.sleep(0.5)
            base = proc_status(pid).get("VmRSS", 0)
            # is the vault responsive meanwhile? (one event loop: blocking work stalls everyone)
            whoami = f"{self.vault.endpoint}/api/whoami-v2"
            auth = {"Authorization": f"Bearer {self.token}"}
            with (
                latency_probe(whoami, auth, interval=0.05, timeout=600) as probe,
                RssSampler(pid, 0.05) as sampler,
            ):
                res, wall = curl_many(self.resolve_url(ep, repo, path), tok, CONCURRENCY)
            time.sleep(1.0)  # let the audit write land
            n_up = upstream_downloads(self.up, self.up_admin, actor, repo, path) - before
            after = self._olah_upstream_gets(repo, path)
            olah_gets = {k: n - olah_gets_before.get(k, 0) for k, n in after.items()}
            ok = sum(1 for x in res if x["rc"] == 0 and x["status"] == 200 and x["bytes"] == size)
            out[label] = {
                "upstream_downloads": n_up,
                "ok": ok,
                "wall": wall,
                "ttfb_median": med([x["ttfb"] for x in res]),
                "ttfb_max": max(x["ttfb"] for x in res),
                "rss_baseline": base,
                "rss_peak": sampler.peak,
                "olah_logged_upstream_gets": olah_gets if label == "olah" else None,
                "vault_probe_max_latency": probe.max,
                "vault_probe_median_latency": med(probe.latencies),
                "failures": [x for x in res if not (x["rc"] == 0 and x["bytes"] == size)][:4],
            }
            log(
                f"{CONCURRENCY} concurrent cold via {label}: {ok}/{CONCURRENCY} complete, "
                f"{n_up} upstream download(s), {wall:.1f}s, RSS {base / MiB:.0f} -> "
                f"{sampler.peak / MiB:.0f} MiB"
            )
        self.r["concurrent_cold"] = out

    def _olah_upstream_gets(self, repo: str, path: str) -> dict[str, int]:
        """olah's own log of its upstream GETs of ``repo``/``path``, by status (200 / 206)."""
        if self.olah is None:
            return {}
        counts: dict[str, int] = {}
        text = (self.olah.root / "olah.out").read_text(errors="replace")
        for line in text.splitlines():
            if "HTTP Request: GET" in line and f"/{repo}/resolve/" in line and path in line:
                status = line.rsplit('"', 2)[-2].split()[1] if line.count('"') >= 2 else "?"
                counts[status] = counts.get(status, 0) + 1
        return counts

    # -- figure 4 --
    def gate(self) -> None:
        args, size = self.args, self.size
        repo, path = "bench/gate", "model.safetensors"
        folder = self.src / "gate"
        folder.mkdir()
        (folder / "README.md").write_text("---\nlicense: apache-2.0\n---\ngate\n")
        write_safetensors(folder / path, size, "gate")
        t_upload = upload(self.local, self.token, repo, folder)
        url = self.resolve_url(self.local, repo, path)
        first = curl(url, self.token)
        # the blob's sha256 is the X-Linked-Etag of an LFS file
        head = subprocess.run(
            ["curl", "-sS", "-I", "-H", f"Authorization: Bearer {self.token}", url],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        etag = next(
            (ln.split(":", 1)[1].strip().strip('"') for ln in head.splitlines()
             if ln.lower().startswith("x-linked-etag:")), "",
        )  # fmt: skip
        scans: list[float] = []
        if len(etag) == 64:
            for _ in range(3):
                t0 = time.perf_counter()
                rec = http_json(
                    "POST",
                    f"http://{HOST}:{self.vault.port}/modelvault/api/scans/{etag}",
                    self.token,
                )
                scans.append(time.perf_counter() - t0)
            verdict = rec["verdict"]  # type: ignore[index]
        else:
            verdict = "?"
        sides: dict[str, Callable[[], dict[str, float]]] = {
            "vault": lambda: curl(url, self.token),
            "nginx": lambda: curl(self.nginx.url(f"gate/{path}"), None),
        }
        t: dict[str, list[float]] = {k: [] for k in sides}
        for rep in range(args.reps + 2):
            for name in rotate(list(sides), rep):
                res = sides[name]()
                assert res["bytes"] == size, res
                t[name].append(res["total"])
        heads = [curl(url, self.token, head=True)["total"] for _ in range(20)]
        shutil.rmtree(folder)
        self.r["gate"] = {
            "upload_seconds": t_upload,
            "verdict": verdict,
            "rescan_seconds": scans,
            "first_download": first["total"],
            "repeat_seconds": t,
            "median": {k: med(v) for k, v in t.items()},
            "head_seconds": heads,
            "head_median": med(heads),
        }
        log(
            f"gate: verdict {verdict}, rescan {med(scans):.3f}s, first {first['total']:.2f}s, "
            f"repeat {med(t['vault']):.2f}s, nginx {med(t['nginx']):.2f}s, HEAD {med(heads) * 1e3:.1f} ms"
        )

    def run(self) -> dict[str, Any]:
        try:
            self.start()
            self.warm()
            self.gate()
            self.cold()
            self.concurrent_cold()
            for name in ("up", "vault"):
                text = (self.tmp / f"{name}.log").read_text(errors="replace")
                self.r[f"{name}_log_warnings"] = [
                    ln
                    for ln in text.splitlines()
                    if any(w in ln for w in ("WARNING", "ERROR", "Traceback"))
                ][-30:]
        finally:
            self.stop()
        return self.r


# ----------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------
def report(r: dict[str, Any]) -> str:
    big = f"{r['size_bytes'] / MiB:.0f} MiB"
    ok = lambda b: "MET" if b else "NOT MET"  # noqa: E731
    ws = r["warm_snapshot"]["median"]
    wc = r["warm_curl"]["median"]
    cs = r["cold_snapshot"]["median"]
    cf = r["cold_files"]["median"]
    g = r["gate"]
    cc = r["concurrent_cold"]
    cw = r["concurrent_warm"]
    has_olah = "olah" in ws
    lines = [
        f"Remote benchmark — big file {big} + 19 small files, reps warm {r['reps']['warm']} / "
        f"cold {r['reps']['cold']} (medians), {r['cpus']} CPUs, {r['started']}"
        + (
            f", upstream behind a {r['upstream_mib_per_s']} MiB/s link"
            if r.get("upstream_mib_per_s")
            else ""
        ),
        "",
        "| figure | measured | reference | ratio | target |",
        "| --- | --- | --- | --- | --- |",
    ]
    rw = ws["remote"] / ws["local"]
    lines += [
        f"| 1. warm snapshot_download, hub-remote vs hf-local (same vault) | {ws['remote']:.2f} s "
        f"| {ws['local']:.2f} s | {rw:.2f} | <= 1.1: {ok(rw <= 1.1)} |",
        f"| 1a. warm snapshot, hub-remote vs upstream direct | {ws['remote']:.2f} s | "
        f"{ws['direct']:.2f} s | {ws['remote'] / ws['direct']:.2f} | (info) |",
    ]
    sl = r["small_file_latency"]
    lines.append(
        f"| 1b. per-request latency, small cached file, HEAD / GET: hub-remote vs hf-local | "
        f"{sl['remote_head'] * 1e3:.1f} / {sl['remote_get'] * 1e3:.1f} ms | {sl['local_head'] * 1e3:.1f}"
        f" / {sl['local_get'] * 1e3:.1f} ms | {sl['remote_get'] / sl['local_get']:.2f} | (info; "
        f"upstream direct {sl['direct_head'] * 1e3:.1f} / {sl['direct_get'] * 1e3:.1f} ms) |"
    )
    for s, label in (("small", "10 MiB"), ("big", big)):
        lines.append(
            f"| 2. cold TTFB {label}, hub-remote (curl / httpx) | {cf[f'remote_curl_{s}']['ttfb'] * 1e3:.0f}"
            f" / {cf[f'remote_httpx_{s}']['ttfb'] * 1e3:.0f} ms | direct {cf[f'direct_curl_{s}']['ttfb'] * 1e3:.0f}"
            f" / {cf[f'direct_httpx_{s}']['ttfb'] * 1e3:.0f} ms | | (info) |"
        )
    tb = cf["remote_curl_big"]["ttfb"] / cf["remote_curl_small"]["ttfb"]
    tbh = cf["remote_httpx_big"]["ttfb"] / cf["remote_httpx_small"]["ttfb"]
    lines.append(
        f"| 2a. cold TTFB {big} / TTFB 10 MiB (curl / httpx) | | | {tb:.2f} / {tbh:.2f} | "
        f"size-independent (~1): {ok(max(tb, tbh) < 1.5)} |"
    )
    rc = cf["remote_curl_big"]["total"] / cf["direct_curl_big"]["total"]
    rch = cf["remote_httpx_big"]["total"] / cf["direct_httpx_big"]["total"]
    rb, db = cf["remote_curl_big"], cf["direct_curl_big"]
    cpu_remote = rb["cpu_vault"] + rb["cpu_upstream"] + rb["cpu_client"]
    cpu_direct = db["cpu_upstream"] + db["cpu_client"]
    cores = r["cpus"] or 1
    lines += [
        f"| 2b'. CPU seconds during those cold curls, vault + upstream + curl | "
        f"{rb['cpu_vault']:.2f} + {rb['cpu_upstream']:.2f} + {rb['cpu_client']:.2f} = "
        f"{cpu_remote:.2f} | direct: upstream + curl = {db['cpu_upstream']:.2f} + "
        f"{db['cpu_client']:.2f} = {cpu_direct:.2f} | floor on {cores} cores: "
        f"{max(cpu_remote / cores, 1e-9) / db['total']:.2f} | (info: the ratio 2b cannot go below "
        f"this on this machine) |",
    ]
    lines += [
        f"| 2b. cold total {big}, hub-remote vs upstream direct (curl) | "
        f"{cf['remote_curl_big']['total']:.2f} s | {cf['direct_curl_big']['total']:.2f} s | {rc:.2f} | "
        f"<= 1.2: {ok(rc <= 1.2)} |",
        f"| 2c. same with httpx | {cf['remote_httpx_big']['total']:.2f} s | "
        f"{cf['direct_httpx_big']['total']:.2f} s | {rch:.2f} | <= 1.2: {ok(rch <= 1.2)} |",
        f"| 2d. cold snapshot_download, hub-remote vs upstream direct | {cs['remote']:.2f} s | "
        f"{cs['direct']:.2f} s | {cs['remote'] / cs['direct']:.2f} | <= 1.2: "
        f"{ok(cs['remote'] / cs['direct'] <= 1.2)} |",
        f"| 2e. first HEAD on a new remote repo (revision+tree+card) | "
        f"{cf['remote_first_head']['total'] * 1e3:.0f} ms | | | (info) |",
    ]
    v = cc["vault"]
    lines += [
        f"| 3. {CONCURRENCY} concurrent cold GETs of one {big} file via hub-remote: upstream "
        f"downloads | {v['upstream_downloads']} ({v['ok']}/{CONCURRENCY} complete, {v['wall']:.1f} s, "
        f"TTFB median {v['ttfb_median'] * 1e3:.0f} ms max {v['ttfb_max'] * 1e3:.0f} ms) | | | "
        f"exactly 1: {ok(v['upstream_downloads'] == 1 and v['ok'] == CONCURRENCY)} |",
        f"| 3a. vault RSS during those {CONCURRENCY} cold GETs | {v['rss_baseline'] / MiB:.0f} -> "
        f"{v['rss_peak'] / MiB:.0f} MiB | | | (info) |",
        f"| 3b. whoami latency on the vault during those {CONCURRENCY} cold GETs, median / max | "
        f"{v['vault_probe_median_latency'] * 1e3:.0f} / {v['vault_probe_max_latency'] * 1e3:.0f} ms"
        f" | idle {r['small_file_latency']['local_head'] * 1e3:.1f} ms (HEAD) | | (info) |",
    ]
    gm = g["median"]
    lines += [
        f"| 4. gate: warm download of a scanned clean file ({g['verdict']}), repeat vs nginx | "
        f"{gm['vault']:.2f} s | nginx {gm['nginx']:.2f} s | {gm['vault'] / gm['nginx']:.2f} | (info) |",
        f"| 4a. first download after upload vs repeat | {g['first_download']:.2f} s | "
        f"{gm['vault']:.2f} s | {g['first_download'] / gm['vault']:.2f} | (info) |",
        f"| 4b. one-time scan (forced re-scan via API, median) | "
        f"{med(g['rescan_seconds']) * 1e3:.0f} ms | | | (info) |",
        f"| 4c. all per-request work before the body (HEAD latency) vs warm GET | "
        f"{g['head_median'] * 1e3:.1f} ms | {gm['vault']:.2f} s | bound "
        f"{gm['vault'] / max(gm['vault'] - g['head_median'], 1e-9):.3f} | <= 1.05: "
        f"{ok(gm['vault'] / max(gm['vault'] - g['head_median'], 1e-9) <= 1.05)} (upper bound) |",
    ]
    lines.append(
        f"| 5. curl of the cached {big} file (sink /dev/null): hub-remote vs nginx | "
        f"{wc['remote']:.2f} s | {wc['nginx']:.2f} s | {wc['remote'] / wc['nginx']:.2f} | (info) |"
    )
    lines.append(
        f"| 5a. same, hf-local / upstream direct vs nginx | {wc['local']:.2f} / {wc['direct']:.2f} s"
        f" | {wc['nginx']:.2f} s | {wc['local'] / wc['nginx']:.2f} / {wc['direct'] / wc['nginx']:.2f}"
        f" | (info) |"
    )
    vr = cw["vault (hub-remote)"]
    lines.append(
        f"| 5b. RSS, {CONCURRENCY} concurrent warm {big} downloads, vault | "
        f"{vr['baseline'] / MiB:.0f} -> {vr['peak'] / MiB:.0f} MiB ({vr['aggregate_MBps']:.0f} MB/s) | "
        f"nginx {cw['nginx']['aggregate_MBps']:.0f} MB/s | | (info) |"
    )
    if has_olah:
        ol = cw["olah"]
        lines += [
            f"| 5c. olah warm snapshot vs upstream direct | {ws['olah']:.2f} s | {ws['direct']:.2f} s "
            f"| {ws['olah'] / ws['direct']:.2f} | (ref 1.46; hub-remote {ws['remote'] / ws['direct']:.2f}) |",
            f"| 5d. olah cold snapshot vs upstream direct | {cs['olah']:.2f} s | {cs['direct']:.2f} s "
            f"| {cs['olah'] / cs['direct']:.2f} | (ref 2.76; hub-remote {cs['remote'] / cs['direct']:.2f}) |",
            f"| 5e. olah cold curl {big} vs direct (TTFB {cf['olah_curl_big']['ttfb'] * 1e3:.0f} ms) | "
            f"{cf['olah_curl_big']['total']:.2f} s | {cf['direct_curl_big']['total']:.2f} s | "
            f"{cf['olah_curl_big']['total'] / cf['direct_curl_big']['total']:.2f} | (hub-remote {rc:.2f}) |",
            f"| 5f. curl of the cached file: olah vs nginx | {wc['olah']:.2f} s | {wc['nginx']:.2f} s "
            f"| {wc['olah'] / wc['nginx']:.2f} | (ref 2.05; hub-remote {wc['remote'] / wc['nginx']:.2f}) |",
            f"| 5g. curl of the cached file: olah vs hub-remote | {wc['olah']:.2f} s | "
            f"{wc['remote']:.2f} s | {wc['olah'] / wc['remote']:.2f} | (info) |",
            f"| 5h. RSS, {CONCURRENCY} concurrent warm {big} downloads, olah | "
            f"{ol['baseline'] / MiB:.0f} -> {ol['peak'] / MiB:.0f} MiB ({ol['aggregate_MBps']:.0f} MB/s) "
            f"| vault peak {vr['peak'] / MiB:.0f} MiB | {ol['peak'] / max(vr['peak'], 1):.1f} | "
            f"(ref 3.4 GB) |",
            f"| 5i. olah, {CONCURRENCY} concurrent cold GETs: upstream GETs | "
            f"{cc['olah']['upstream_downloads']} ({cc['olah']['ok']}/{CONCURRENCY} complete, "
            f"{cc['olah']['wall']:.1f} s; olah's log, by status: "
            f"{cc['olah'].get('olah_logged_upstream_gets')}) | hub-remote "
            f"{v['upstream_downloads']} ({v['wall']:.1f} s) | | (info) |",
            f"| 5j. RSS, {CONCURRENCY} concurrent cold {big} downloads, olah vs vault | "
            f"{cc['olah']['rss_baseline'] / MiB:.0f} -> {cc['olah']['rss_peak'] / MiB:.0f} MiB | "
            f"vault {v['rss_baseline'] / MiB:.0f} -> {v['rss_peak'] / MiB:.0f} MiB | "
            f"{cc['olah']['rss_peak'] / max(v['rss_peak'], 1):.1f} | (ref 3.4 GB) |",
        ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--quick", action="store_true", help="64 MiB, 2 repetitions")
    parser.add_argument("--reps", type=int, default=5, help="warm repetitions per side")
    parser.add_argument("--cold-reps", type=int, default=3)
    parser.add_argument("--no-olah", action="store_true")
    parser.add_argument(
        "--upstream-mib-per-s",
        type=int,
        default=0,
        help="put a bandwidth-limited nginx link (MiB/s per download) in front of the upstream",
    )
    parser.add_argument("--tmp-parent", default="/var/tmp")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = parser.parse_args()
    if args.quick:
        args.size_mib, args.reps, args.cold_reps = 64, 2, 2
    for tool in ("curl", "nginx"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found")
    if not args.no_olah:
        try:
            import olah  # noqa: F401
        except ImportError:
            sys.exit("olah not installed (pip install olah==0.5.4) — or pass --no-olah")
    tmp = Path(tempfile.mkdtemp(prefix="mv-bench-remote-", dir=args.tmp_parent))
    try:
        result = Bench(args, tmp).run()
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    result["command"] = " ".join(["python", *sys.argv])
    table = report(result)
    print()
    print(table)
    save_result("remote", result, table, args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
