"""Line-rate byte paths (issue 17): cold stream-through and upload ingest vs the hashing floor.

Usage (repo root, project venv)::

    python bench/bench_line_rate.py                      # 512 MiB files (MV_LINE_RATE_MIB), ~3 min
    MV_LINE_RATE_MIB=2048 python bench/bench_line_rate.py
    python bench/bench_line_rate.py --profile bench/out/prof   # py-spy on the vault meanwhile
    python bench/bench_line_rate.py --quick                    # 64 MiB, 1 rep, one link: ~1 min

Every figure is a ratio of two numbers measured in this run, on this machine:

* cold ``curl`` of a file never seen by the vault, through an hf-remote whose upstream is a
  ModelVault on loopback (which serves by sendfile), vs min(direct ``curl`` of the same file from
  the upstream, single-core sha256 rate of ``hashlib`` on the same bytes);
* the same through a pypi-remote whose upstream is pypiserver, for one wheel of the same size;
* the same hf-remote behind an nginx ``limit_rate`` proxy at 200, 700 and 1200 MiB/s, vs a direct
  ``curl`` through that same link;
* ``curl -T`` of the file to the LFS upload URL: the vault's CPU seconds vs ``sha256sum``'s on the
  same file; ``HfApi.upload_file`` end to end vs (client ``sha256sum`` + ``cp``);
* a twine upload of a ``size`` wheel to a pypi-local repository: vault CPU vs ``sha256sum`` CPU,
  end to end vs (``sha256sum`` + ``cp``);
* RSS growth of the vault (peak VmRSS sampled every 50 ms minus the idle RSS before);
* cold TTFB of the ``size`` file vs that of a 1/16 as large one (size-independent: ~1).

Next to each cold figure: the rate of ``dd conv=fsync`` of the same bytes to the vault's disk,
measured in the same run (the cold path fsyncs before the last byte; the issue's floor leaves the
disk out). Every figure also reports the vault's CPU seconds; the run starts and ends with the
load average.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import MiB, RssSampler, VaultServer, cpu_seconds, curl, log, mbps
from bench._remote_procs import StripProxy, http_json, write_safetensors
from tests.latency_probe import latency_probe
from tests.servers import HOST, start_pypiserver, stop_group

RATES_MIB = (200, 700, 1200)


def hashlib_rate(path: Path) -> float:
    """Single-core sha256 rate (bytes/s) of ``hashlib`` over the file (page cache), 8 MiB reads;
    best of two passes (the machine is shared)."""
    buf = bytearray(8 * MiB)
    view = memoryview(buf)
    best = 0.0
    for _ in range(2):
        h = hashlib.sha256()
        t0 = time.perf_counter()
        with path.open("rb", buffering=0) as f:
            while n := f.readinto(buf):
                h.update(view[:n])
        best = max(best, path.stat().st_size / (time.perf_counter() - t0))
    return best


def disk_rate(src: Path, folder: Path) -> float:
    """Rate (bytes/s) of ``dd`` copying ``src`` to ``folder`` with an fsync at the end: the
    durable-write floor of a path that fsyncs before its last byte."""
    out = folder / "dd.tmp"
    t0 = time.perf_counter()
    subprocess.run(["dd", f"if={src}", f"of={out}", "bs=1M", "conv=fsync"], check=True,
                   capture_output=True)  # fmt: skip
    rate = src.stat().st_size / (time.perf_counter() - t0)
    out.unlink()
    return rate


def child_cpu(argv: list[str]) -> tuple[float, float]:
    """(wall, user+sys CPU) of a child process."""
    t0, c0 = time.perf_counter(), os.times()
    subprocess.run(argv, check=True, capture_output=True)
    c1 = os.times()
    cpu = (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)
    return time.perf_counter() - t0, cpu


class Profiler:
    """py-spy record on a pid around a block (collapsed stacks), summarised by self time."""

    def __init__(self, folder: Path | None, pid: int, name: str) -> None:
        self.folder, self.pid, self.name = folder, pid, name
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Profiler:
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            out = self.folder / f"{self.name}.txt"
            argv = ["py-spy", "record", "--pid", str(self.pid), "--threads", "--nonblocking"]
            argv += ["-r", "200", "-f", "raw", "-o", str(out)]
            self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(1.0)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is None or self.folder is None:
            return
        self.proc.send_signal(2)  # py-spy writes its output on SIGINT
        self.proc.wait(30)
        summarise(self.folder / f"{self.name}.txt", self.folder / f"{self.name}.top")


def summarise(raw: Path, out: Path, n: int = 15) -> None:
    """Top frames by self samples and by inclusive samples (idle waits left out)."""
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        leaf = frames[-1]
        if re.search(r"\b(wait|select|poll|epoll|_worker|acquire)\b", leaf) and "sha" not in leaf:
            continue  # idle: a thread waiting for work
        k = int(count)
        total += k
        own[leaf] += k
        for f in set(frames[1:]):
            incl[f] += k
    lines = [f"busy samples: {total}", "self:"]
    lines += [f"  {100 * v / total:5.1f}%  {f}" for f, v in own.most_common(n)]
    lines += ["inclusive:"]
    lines += [f"  {100 * v / total:5.1f}%  {f}" for f, v in incl.most_common(n)]
    out.write_text("\n".join(lines) + "\n")
    log(f"profile {out}:\n" + "\n".join(lines[: n + 2]))


def make_wheel(path: Path, size: int) -> None:
    """A valid wheel of about ``size`` bytes (one stored, incompressible data file)."""
    name = "bigwheel"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr(f"{name}/__init__.py", b"")
        with z.open(f"{name}/data.bin", "w", force_zip64=True) as f:
            left, block = size, os.urandom(16 * MiB)
            while left > 0:
                f.write(block[: min(left, len(block))])
                left -= len(block)
        info = f"{name}-1.0.dist-info"
        z.writestr(
            f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\nLicense: MIT\n"
        )
        z.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        z.writestr(f"{info}/RECORD", "")


class Bench:
    def __init__(
        self, tmp: Path, size: int, profile: Path | None, reps: int, rates: tuple[int, ...]
    ) -> None:
        self.tmp, self.size, self.profile, self.reps = tmp, size, profile, reps
        self.rates = rates
        self.src = tmp / "src"
        self.src.mkdir()
        (tmp / "up").mkdir()
        (tmp / "vault").mkdir()
        self.up = VaultServer(tmp / "up", tmp / "up.log")
        self.vault = VaultServer(tmp / "vault", tmp / "vault.log")
        self.links: dict[int, StripProxy] = {}
        self.pypi: subprocess.Popen[bytes] | None = None
        self.r: dict[str, Any] = {"size_bytes": size}
        self.n_files = 0

    def start(self) -> None:
        self.up_admin = self.up.cli("token", "create", "--scope", "admin", "--user", "bench")
        self.up_read = self.up.cli("token", "create", "--scope", "read", "--user", "mirror")
        self.token = self.vault.cli("token", "create", "--scope", "admin", "--user", "bench")
        self.up.start(self.up_admin)
        self.vault.start(self.token)
        self.add_remote("hub-remote", self.up.endpoint)
        for rate in self.rates:
            link = StripProxy(self.tmp / f"link{rate}", self.up.endpoint, "", rate=f"{rate}m")
            link.start()
            self.links[rate] = link
            self.add_remote(f"link-{rate}", f"http://{link.netloc}")

    def add_remote(self, key: str, upstream: str, kind: str = "hf-remote") -> None:
        config: dict[str, Any] = {"upstream": upstream}
        if kind == "hf-remote":
            config["upstream_token"] = self.up_read
        http_json(
            "POST",
            f"http://{HOST}:{self.vault.port}/modelvault/api/repositories",
            self.token,
            {"key": key, "kind": kind, "config": config},
        )

    def stop(self) -> None:
        stop_group(self.pypi)
        for link in self.links.values():
            link.stop()
        self.vault.stop()
        self.up.stop()

    def new_file(self, size: int | None = None) -> tuple[str, Path]:
        """A new repo on the upstream holding one new ``size``-byte safetensors file."""
        self.n_files += 1
        repo = f"bench/lr-{self.n_files}"
        path = self.src / f"lr-{self.n_files}.safetensors"
        write_safetensors(path, size or self.size, f"line-rate-{self.n_files}-{time.time()}")
        from huggingface_hub import HfApi

        api = HfApi(endpoint=self.up.endpoint, token=self.up_admin)
        api.create_repo(repo)
        api.upload_file(path_or_fileobj=b"---\nlicense: mit\n---\n", path_in_repo="README.md",
                        repo_id=repo)  # fmt: skip
        api.upload_file(path_or_fileobj=str(path), path_in_repo="m.safetensors", repo_id=repo)
        return repo, path

    def timed_curl(
        self, url: str, token: str, name: str, size: int | None = None
    ) -> dict[str, float]:
        base = self.vault.settle_rss(0.3)
        cpu0 = cpu_seconds(self.vault.pid)
        with Profiler(self.profile, self.vault.pid, name), RssSampler(self.vault.pid) as rss:
            res = curl(url, token)
        if res["bytes"] != (size or self.size) and not name.startswith("pypi"):
            raise RuntimeError(f"{name}: {res['bytes']} bytes")
        res["vault_cpu"] = cpu_seconds(self.vault.pid) - cpu0
        res["rss_growth_mib"] = (rss.peak - base) / MiB
        res["MBps"] = mbps(int(res["bytes"]), res["total"])
        return res

    def remote_url(self, key: str, repo: str) -> str:
        return (
            f"http://{HOST}:{self.vault.port}/modelvault/hf/{key}/{repo}/resolve/main/m.safetensors"
        )

    def cold_hf(self) -> None:
        out: list[dict[str, Any]] = []
        for rep in range(self.reps):
            repo, path = self.new_file()
            sha = hashlib_rate(path)
            direct = curl(f"{self.up.endpoint}/{repo}/resolve/main/m.safetensors", self.up_admin)
            curl(self.remote_url("hub-remote", repo), self.token, head=True)  # mirror metadata
            cold = self.timed_curl(
                self.remote_url("hub-remote", repo), self.token, f"cold-hf-{rep}"
            )
            disk = disk_rate(path, self.tmp / "vault") / 1e6
            floor = min(mbps(self.size, direct["total"]), sha / 1e6)
            row = {"sha256_MBps": sha / 1e6, "direct_MBps": mbps(self.size, direct["total"]),
                   "disk_MBps": disk, "cold": cold, "ratio": cold["MBps"] / floor,
                   "ratio_with_disk": cold["MBps"] / min(floor, disk)}  # fmt: skip
            log(f"cold hf rep {rep}: {json.dumps(row)}")
            out.append(row)
            path.unlink()
        self.r["cold_hf"] = out
        # TTFB of a file 1/16 as large, cold through the same remote, vs that of the big ones
        repo, path = self.new_file(self.size // 16)
        path.unlink()
        curl(self.remote_url("hub-remote", repo), self.token, head=True)
        small = self.timed_curl(self.remote_url("hub-remote", repo), self.token, "cold-hf-small",
                                size=self.size // 16)  # fmt: skip
        big = statistics.median([x["cold"]["ttfb"] for x in out])
        self.r["ttfb"] = {"small_s": small["ttfb"], "big_s": big, "ratio": big / small["ttfb"]}
        log(f"cold ttfb: {json.dumps(self.r['ttfb'])}")

    def cold_links(self) -> None:
        out: dict[int, Any] = {}
        for rate in self.rates:
            repo, path = self.new_file()
            path.unlink()
            link = self.links[rate]
            direct = curl(f"http://{link.netloc}/{repo}/resolve/main/m.safetensors", self.up_admin)
            curl(self.remote_url(f"link-{rate}", repo), self.token, head=True)
            cold = self.timed_curl(
                self.remote_url(f"link-{rate}", repo), self.token, f"link-{rate}"
            )
            link_rate = mbps(self.size, direct["total"])
            out[rate] = {"link_MBps": link_rate, "cold": cold, "ratio": cold["MBps"] / link_rate}
            log(f"cold behind {rate} MiB/s: {json.dumps(out[rate])}")
        self.r["cold_links"] = out

    def cold_pypi(self) -> None:
        dists = self.tmp / "dists"
        dists.mkdir()
        wheel = dists / "bigwheel-1.0-py3-none-any.whl"
        make_wheel(wheel, self.size)
        self.pypi, simple = start_pypiserver(dists, self.tmp)
        self.add_remote("pypi-remote", simple, kind="pypi-remote")
        base = f"http://{HOST}:{self.vault.port}/modelvault/pypi/pypi-remote"
        req = urllib.request.Request(f"{base}/simple/bigwheel/")
        req.add_header("Authorization", f"Bearer {self.token}")
        page = urllib.request.urlopen(req).read().decode()
        href = re.search(r'href="([^"#]+)', page)
        assert href is not None, page
        url = urllib.parse.urljoin(f"{base}/simple/bigwheel/", href.group(1))
        direct = curl(f"{simple.rsplit('/simple/', 1)[0]}/packages/{wheel.name}")
        sha = hashlib_rate(wheel)
        size = wheel.stat().st_size
        cold = self.timed_curl(url, self.token, "pypi")
        assert cold["bytes"] == size, cold
        floor = min(mbps(size, direct["total"]), sha / 1e6)
        disk = disk_rate(wheel, self.tmp / "vault") / 1e6
        self.r["cold_pypi"] = {"sha256_MBps": sha / 1e6, "direct_MBps": mbps(size, direct["total"]),
                               "disk_MBps": disk, "cold": cold, "ratio": cold["MBps"] / floor,
                               "ratio_with_disk": cold["MBps"] / min(floor, disk)}  # fmt: skip
        log(f"cold pypi: {json.dumps(self.r['cold_pypi'])}")

    def uploads(self) -> None:
        path = self.src / "upload.safetensors"
        out: dict[str, Any] = {}
        from huggingface_hub import HfApi

        api = HfApi(endpoint=self.vault.endpoint, token=self.token)
        for rep in range(self.reps):
            write_safetensors(path, self.size, f"upload-{rep}-{time.time()}")
            wall, sum_cpu = child_cpu(["sha256sum", str(path)])
            # coreutils' sha256sum does not use the CPU's SHA instructions here; OpenSSL does
            # (and so does hashlib): the stricter reference
            _, ossl_cpu = child_cpu(["openssl", "dgst", "-sha256", str(path)])
            oid = hashlib.sha256(path.read_bytes()).hexdigest()
            repo = f"bench/up-{rep}"
            api.create_repo(repo)
            r = http_json("POST", f"{self.vault.endpoint}/{repo}.git/info/lfs/objects/batch",
                          self.token, {"operation": "upload", "transfers": ["basic"],
                                       "objects": [{"oid": oid, "size": self.size}]})  # fmt: skip
            href = r["objects"][0]["actions"]["upload"]["href"]  # type: ignore[index]
            base = self.vault.settle_rss(0.3)
            cpu0 = cpu_seconds(self.vault.pid)
            argv = ["curl", "-sS", "-f", "-T", str(path), "-H", "Expect:", "-o", "/dev/null"]
            with (
                Profiler(self.profile, self.vault.pid, f"upload-{rep}"),
                RssSampler(self.vault.pid) as rss,
            ):
                t0 = time.perf_counter()
                subprocess.run([*argv, href], check=True)
                put_wall = time.perf_counter() - t0
            put_cpu = cpu_seconds(self.vault.pid) - cpu0
            put = {"wall": put_wall, "vault_cpu": put_cpu, "sha256sum_cpu": sum_cpu,
                   "sha256sum_wall": wall, "cpu_ratio": put_cpu / sum_cpu,
                   "openssl_cpu": ossl_cpu, "cpu_ratio_openssl": put_cpu / ossl_cpu,
                   "rss_growth_mib": (rss.peak - base) / MiB}  # fmt: skip
            # upload_file end to end vs client sha256 + cp, on new content
            write_safetensors(path, self.size, f"upload-file-{rep}-{time.time()}")
            wall_sum, _ = child_cpu(["sha256sum", str(path)])
            wall_cp, _ = child_cpu(["cp", str(path), str(self.src / "copy")])
            (self.src / "copy").unlink()
            base = self.vault.settle_rss(0.3)
            with RssSampler(self.vault.pid) as rss:
                t0 = time.perf_counter()
                api.upload_file(path_or_fileobj=str(path), path_in_repo="m.safetensors",
                                repo_id=repo)  # fmt: skip
                up_wall = time.perf_counter() - t0
            put["upload_file_wall"] = up_wall
            put["sha256sum_plus_cp_wall"] = wall_sum + wall_cp
            put["upload_file_ratio"] = (wall_sum + wall_cp) / up_wall
            put["upload_file_rss_growth_mib"] = (rss.peak - base) / MiB
            out[f"rep{rep}"] = put
            log(f"upload rep {rep}: {json.dumps(put)}")
        path.unlink()
        self.r["uploads"] = out

    def pypi_upload(self) -> None:
        """twine upload of a ``size`` wheel to a pypi-local repository."""
        folder = self.tmp / "upload-dists"
        folder.mkdir()
        wheel = folder / "bigwheel-1.0-py3-none-any.whl"  # make_wheel names it so
        make_wheel(wheel, self.size)
        _, sum_cpu = child_cpu(["sha256sum", str(wheel)])
        wall_sum, _ = child_cpu(["sha256sum", str(wheel)])
        wall_cp, _ = child_cpu(["cp", str(wheel), str(self.src / "copy")])
        (self.src / "copy").unlink()
        http_json("POST", f"http://{HOST}:{self.vault.port}/modelvault/api/repositories",
                  self.token, {"key": "pypi-local", "kind": "pypi-local", "config": {}})  # fmt: skip
        # the server's part alone: curl -F of the same form to a second repository
        http_json("POST", f"http://{HOST}:{self.vault.port}/modelvault/api/repositories",
                  self.token, {"key": "pypi-curl", "kind": "pypi-local", "config": {}})  # fmt: skip
        form = ["-F", ":action=file_upload", "-F", "protocol_version=1", "-F", "name=bigwheel",
                "-F", "version=1.0", "-F", "filetype=bdist_wheel", "-F", "pyversion=py3",
                "-F", f"content=@{wheel}", "-H", "Expect:", "-u", f"__token__:{self.token}"]  # fmt: skip
        cpu0 = cpu_seconds(self.vault.pid)
        # meanwhile, how long the event loop takes to answer a cheap request (it used to hash
        # and write every 64 KiB of an upload itself)
        probe_url = f"http://{HOST}:{self.vault.port}/modelvault/api/info"
        with latency_probe(probe_url, {"Authorization": f"Bearer {self.token}"}) as probe:
            t0 = time.perf_counter()
            subprocess.run(["curl", "-sS", "-f", "-o", "/dev/null", *form,
                            f"http://{HOST}:{self.vault.port}/modelvault/pypi/pypi-curl/"],
                           check=True)  # fmt: skip
            curl_wall, curl_cpu = time.perf_counter() - t0, cpu_seconds(self.vault.pid) - cpu0
        make_wheel(wheel, self.size)  # new bytes: the curl upload stored the first ones
        env = {**os.environ, "TWINE_USERNAME": "__token__", "TWINE_PASSWORD": self.token}
        twine = str(Path(sys.executable).parent / "twine")
        argv = [twine, "upload", "--non-interactive", "--disable-progress-bar", "--repository-url",
                f"http://{HOST}:{self.vault.port}/modelvault/pypi/pypi-local/", str(wheel)]  # fmt: skip
        base = self.vault.settle_rss(0.3)
        cpu0 = cpu_seconds(self.vault.pid)
        with (
            Profiler(self.profile, self.vault.pid, "pypi-upload"),
            RssSampler(self.vault.pid) as rss,
        ):
            t0 = time.perf_counter()
            subprocess.run(argv, check=True, capture_output=True, env=env)
            wall = time.perf_counter() - t0
        cpu = cpu_seconds(self.vault.pid) - cpu0
        self.r["pypi_upload"] = {"wall": wall, "vault_cpu": cpu, "sha256sum_cpu": sum_cpu,
                                 "cpu_ratio": cpu / sum_cpu, "sha256sum_plus_cp_wall": wall_sum + wall_cp,
                                 "ratio": (wall_sum + wall_cp) / wall, "curl_wall": curl_wall,
                                 "curl_vault_cpu": curl_cpu, "probe_max_s": probe.max,
                                 "probe_p99_s": probe.p99,
                                 "curl_ratio": (wall_sum + wall_cp) / curl_wall,
                                 "rss_growth_mib": (rss.peak - base) / MiB}  # fmt: skip
        log(f"pypi upload: {json.dumps(self.r['pypi_upload'])}")
        wheel.unlink()


def table(r: dict[str, Any]) -> str:
    med = statistics.median

    rows = ["| figure | ratio (median) | target |", "| --- | --- | --- |"]
    hf = r.get("cold_hf", [])
    if hf:
        rows.append(
            f"| cold curl via hf-remote / min(direct, sha256) "
            f"({med([x['cold']['MBps'] for x in hf]):.0f} vs direct "
            f"{med([x['direct_MBps'] for x in hf]):.0f}, sha256 "
            f"{med([x['sha256_MBps'] for x in hf]):.0f} MB/s) | "
            f"{med([x['ratio'] for x in hf]):.2f} | >= 0.8 |"
        )
        rows.append(
            f"| same / min(direct, sha256, `dd conv=fsync` {med([x['disk_MBps'] for x in hf]):.0f}"
            f" MB/s); vault CPU {med([x['cold']['vault_cpu'] for x in hf]):.2f} s | "
            f"{med([x['ratio_with_disk'] for x in hf]):.2f} | (disk floor) |"
        )
    if "cold_pypi" in r:
        p = r["cold_pypi"]
        rows.append(
            f"| cold curl via pypi-remote / min(direct, sha256) ({p['cold']['MBps']:.0f} vs "
            f"direct {p['direct_MBps']:.0f}, sha256 {p['sha256_MBps']:.0f} MB/s) | "
            f"{p['ratio']:.2f} | >= 0.8 |"
        )
        rows.append(
            f"| same / min(direct, sha256, `dd conv=fsync` {p['disk_MBps']:.0f} MB/s); vault CPU "
            f"{p['cold']['vault_cpu']:.2f} s | {p['ratio_with_disk']:.2f} | (disk floor) |"
        )
    for rate, x in r.get("cold_links", {}).items():
        rows.append(
            f"| cold via hf-remote behind {rate} MiB/s link ({x['cold']['MBps']:.0f} vs link "
            f"{x['link_MBps']:.0f} MB/s; vault CPU {x['cold']['vault_cpu']:.2f} s) | "
            f"{x['ratio']:.2f} | >= 0.9 |"
        )
    ups = list(r.get("uploads", {}).values())
    if ups:
        rows.append(
            f"| curl -T LFS upload: vault CPU / sha256sum CPU "
            f"({med([u['vault_cpu'] for u in ups]):.2f} / "
            f"{med([u['sha256sum_cpu'] for u in ups]):.2f} s) | "
            f"{med([u['cpu_ratio'] for u in ups]):.2f} | <= 1.3 |"
        )
        rows.append(
            f"| same, vs `openssl dgst -sha256` CPU ({med([u['openssl_cpu'] for u in ups]):.2f} s)"
            f" | {med([u['cpu_ratio_openssl'] for u in ups]):.2f} | (stricter reference) |"
        )
        rows.append(
            f"| upload_file: (sha256sum + cp) / end to end "
            f"({med([u['sha256sum_plus_cp_wall'] for u in ups]):.2f} / "
            f"{med([u['upload_file_wall'] for u in ups]):.2f} s) | "
            f"{med([u['upload_file_ratio'] for u in ups]):.2f} | >= 0.8 |"
        )
    if "pypi_upload" in r:
        u = r["pypi_upload"]
        rows.append(
            f"| twine upload of the wheel: vault CPU / sha256sum CPU ({u['vault_cpu']:.2f} / "
            f"{u['sha256sum_cpu']:.2f} s) | {u['cpu_ratio']:.2f} | <= 1.3 |"
        )
        rows.append(
            f"| twine upload: (sha256sum + cp) / end to end ({u['sha256sum_plus_cp_wall']:.2f} / "
            f"{u['wall']:.2f} s) | {u['ratio']:.2f} | >= 0.8 |"
        )
        rows.append(
            f"| same form by `curl -F` (the server's part; vault CPU {u['curl_vault_cpu']:.2f} s): "
            f"(sha256sum + cp) / end to end ({u['curl_wall']:.2f} s) | {u['curl_ratio']:.2f} | "
            ">= 0.8 |"
        )
        rows.append(
            f"| event loop during the `curl -F` upload: slowest / p99 answer to a cheap request "
            f"({u['probe_max_s'] * 1000:.0f} / {u['probe_p99_s'] * 1000:.0f} ms) | - | (lower is better) |"
        )
    if "ttfb" in r:
        t = r["ttfb"]
        rows.append(
            f"| cold TTFB, size / size÷16 ({t['big_s'] * 1000:.0f} / {t['small_s'] * 1000:.0f} ms)"
            f" | {t['ratio']:.2f} | ~1 (size-independent) |"
        )
    growth = [x["cold"]["rss_growth_mib"] for x in hf]
    growth += [x["cold"]["rss_growth_mib"] for x in r.get("cold_links", {}).values()]
    if "cold_pypi" in r:
        growth.append(r["cold_pypi"]["cold"]["rss_growth_mib"])
    growth += [u["rss_growth_mib"] for u in ups] + [u["upload_file_rss_growth_mib"] for u in ups]
    if "pypi_upload" in r:
        growth.append(r["pypi_upload"]["rss_growth_mib"])
    if growth:
        rows.append(f"| vault RSS growth, max over all of these (MiB) | {max(growth):.1f} | < 64 |")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", type=Path, help="py-spy each measured transfer into here")
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--only", default="hf,pypi,links,upload,pypi-upload")
    parser.add_argument("--quick", action="store_true", help="64 MiB, 1 rep, the 700 MiB/s link")
    args = parser.parse_args()
    if args.quick:
        os.environ.setdefault("MV_LINE_RATE_MIB", "64")
        args.reps = 1
    rates = (700,) if args.quick else RATES_MIB
    load0 = os.getloadavg()
    os.environ["HF_HUB_DISABLE_XET"] = "1"  # LFS basic transfer, which this measures
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    size = int(os.environ.get("MV_LINE_RATE_MIB", "512")) * MiB
    tmp = Path(tempfile.mkdtemp(prefix="mv-line-rate-", dir="/var/tmp"))
    bench = Bench(tmp, size, args.profile, args.reps, rates)
    try:
        bench.start()
        steps = {"hf": bench.cold_hf, "pypi": bench.cold_pypi, "links": bench.cold_links,
                 "upload": bench.uploads, "pypi-upload": bench.pypi_upload}  # fmt: skip
        for name in args.only.split(","):
            steps[name]()
    except BaseException:
        print(bench.vault.log_tail(4000), file=sys.stderr)
        raise
    finally:
        bench.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    out = Path("bench/out")
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    bench.r["loadavg"] = {"start": load0, "end": os.getloadavg()}
    (out / f"line-rate-{stamp}.json").write_text(json.dumps(bench.r, indent=1))
    print(f"size {size // MiB} MiB; load average at start {load0[0]:.1f}, at end "
          f"{os.getloadavg()[0]:.1f} (1 min)")  # fmt: skip
    print(table(bench.r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
