"""PyPI benchmark: warm-cache installs through ModelVault vs local files vs devpi-server.

Usage: python bench/bench_pypi.py [--runs 5] [--big-mb 50] [--out bench/out]

Same run, same synthetic wheels, same upstream (pypiserver --disable-fallback on 127.0.0.1):
  * find-links  : pip install --no-index --find-links <wheel dir>       (the floor)
  * modelvault  : pip install --index-url <pypi-remote repo>/simple/    (warm: files cached)
  * devpi       : pip install --index-url <devpi mirror index>/+simple/ (warm: files cached)
plus one cold round per proxy (fresh repository / mirror index, so every file comes from the
upstream during the timed run). Workloads: *small* = 10 pure-Python wheels (~150 KB each),
*big* = one ~50 MB wheel (--no-deps). Each figure is the median wall time of the whole pip
process over --runs runs after one warm-up (runs interleaved across sources), each into a fresh
--target dir; clients run with a
scrubbed environment (shared/pypi-protocol.md §10). Ratios are computed from this run only.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.servers import (
    HOST,
    free_port,
    spawn,
    start_pypiserver,
    start_standalone,
    stop_group,
    wait_http,
)

BIN = Path(sys.executable).parent
SMALL = [f"benchpkg{i}" for i in range(10)]
BIG = "bigpkg"


def make_wheel(folder: Path, name: str, version: str, payload: int, seed: int) -> None:
    info = f"{name}-{version}.dist-info"
    rnd = hashlib.sha256(str(seed).encode()).digest()
    blob = (rnd * (payload // len(rnd) + 1))[:payload]
    blob = bytes(b ^ (i * 7 & 0xFF) for i, b in enumerate(blob[:4096])) + os.urandom(
        max(payload - 4096, 0)
    )
    files = {
        f"{name}/__init__.py": b"",
        f"{name}/data.bin": blob,
        f"{info}/METADATA": (
            f"Metadata-Version: 2.4\nName: {name}\nVersion: {version}\nLicense-Expression: MIT\n"
            "Requires-Python: >=3.8\n\n"
        ).encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }
    rec = []
    for p, c in files.items():
        d = base64.urlsafe_b64encode(hashlib.sha256(c).digest()).rstrip(b"=").decode()
        rec.append(f"{p},sha256={d},{len(c)}")
    rec.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(rec) + "\n").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for p, c in files.items():
            z.writestr(zipfile.ZipInfo(p, (2020, 1, 1, 0, 0, 0)), c)
    (folder / f"{name}-{version}-py3-none-any.whl").write_bytes(out.getvalue())


def client_env(home: Path) -> dict[str, str]:
    return {
        "HOME": str(home),
        "PATH": f"{BIN}:/usr/bin:/bin",
        "PIP_CONFIG_FILE": "/dev/null",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_INPUT": "1",
    }


def pip_time(env: dict[str, str], source: list[str], reqs: list[str], work: Path) -> float:
    target = Path(tempfile.mkdtemp(dir=work))
    cmd = [str(BIN / "pip"), "install", "-q", "--no-cache-dir", "--target", str(target), *source]
    t0 = time.perf_counter()
    done = subprocess.run([*cmd, *reqs], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"pip failed ({done.returncode}): {done.stderr[-3000:]}")
    shutil.rmtree(target)
    return elapsed


def measure(
    env: dict[str, str], sources: dict[str, list[str]], work: Path, runs: int
) -> dict[str, dict[str, float]]:
    """Median per source and workload; runs are interleaved across sources (round-robin), so
    load from other processes on a shared machine spreads evenly instead of biasing one source."""
    workloads = {"small": SMALL, "big": ["--no-deps", BIG]}
    times: dict[str, dict[str, list[float]]] = {s: {w: [] for w in workloads} for s in sources}
    for args in sources.values():  # warm-up (fills a proxy's cache)
        for reqs in workloads.values():
            pip_time(env, args, reqs, work)
    for _ in range(runs):
        for source, args in sources.items():
            for label, reqs in workloads.items():
                times[source][label].append(pip_time(env, args, reqs, work))
    return {s: {w: statistics.median(v) for w, v in t.items()} for s, t in times.items()}


def cold(env: dict[str, str], sources: list[list[str]], work: Path) -> dict[str, float]:
    """One timed run per workload, each against a fresh (empty) repository/index."""
    small = pip_time(env, sources[0], SMALL, work)
    big = pip_time(env, sources[1], ["--no-deps", BIG], work)
    return {"small": small, "big": big}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--big-mb", type=int, default=50)
    parser.add_argument("--out", default=str(Path(__file__).parent / "out"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-pypi-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        wheels = work / "wheels"
        wheels.mkdir()
        for i, name in enumerate(SMALL):
            make_wheel(wheels, name, "1.0", 150_000, i)
        make_wheel(wheels, BIG, "1.0", args.big_mb * 1024 * 1024, 99)
        env = client_env(work / "home")
        (work / "home").mkdir()

        # upstream: pypiserver, the same for both proxies
        proc, upstream = start_pypiserver(wheels, work)
        procs.append(proc)

        # ModelVault
        mv = start_standalone(work / "vault")
        procs.append(mv.proc)
        token, mv_port = mv.admin_token, mv.port

        def mv_repo(key: str) -> list[str]:
            req = urllib.request.Request(
                f"http://{HOST}:{mv_port}/modelvault/api/repositories",
                data=json.dumps(
                    {"key": key, "kind": "pypi-remote", "config": {"upstream": upstream}}
                ).encode(),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            urllib.request.urlopen(req).close()
            return [
                "--index-url",
                f"http://__token__:{token}@{HOST}:{mv_port}/modelvault/pypi/{key}/simple/",
            ]

        # devpi-server mirror of the same upstream
        devpi_dir, devpi_port = work / "devpi", free_port()
        subprocess.run(
            [
                str(BIN / "devpi-init"),
                "--serverdir",
                str(devpi_dir),
                "--no-root-pypi",
                "--root-passwd",
                "pw",
            ],
            check=True,
            capture_output=True,
        )
        devpi_log = work / "devpi.log"
        devpi_argv = [str(BIN / "devpi-server"), "--serverdir", str(devpi_dir)]
        procs.append(spawn([*devpi_argv, "--host", HOST, "--port", str(devpi_port)], devpi_log))
        devpi_url = f"http://{HOST}:{devpi_port}"
        wait_http(f"{devpi_url}/+api", procs[-1], devpi_log, timeout=120)
        denv = {**env, "DEVPI_CLIENTDIR": str(work / "devpi-client")}
        devpi = str(BIN / "devpi")
        subprocess.run([devpi, "use", devpi_url], env=denv, check=True, capture_output=True)
        subprocess.run(
            [devpi, "login", "root", "--password", "pw"], env=denv, check=True, capture_output=True
        )

        def devpi_index(name: str) -> list[str]:
            subprocess.run(
                [devpi, "index", "-c", name, "type=mirror", f"mirror_url={upstream}"],
                env=denv,
                check=True,
                capture_output=True,
            )
            return ["--index-url", f"{devpi_url}/root/{name}/+simple/"]

        results: dict[str, dict[str, float]] = {}
        results["modelvault cold"] = cold(env, [mv_repo("cold-s"), mv_repo("cold-b")], work)
        results["devpi cold"] = cold(env, [devpi_index("cold-s"), devpi_index("cold-b")], work)
        results.update(
            measure(
                env,
                {
                    "find-links": ["--no-index", "--find-links", str(wheels)],
                    "modelvault warm": mv_repo("warm"),
                    "devpi warm": devpi_index("warm"),
                },
                work,
                args.runs,
            )
        )
    finally:
        for p in procs:
            stop_group(p)
        shutil.rmtree(work, ignore_errors=True)

    print(f"pip install --no-cache-dir, median of {args.runs} (s); cold = 1 run, fresh index")
    print(f"{'source':18} {'small (10 wheels)':>18} {'big (' + str(args.big_mb) + ' MB)':>12}")
    for source, r in results.items():
        print(f"{source:18} {r['small']:18.3f} {r['big']:12.3f}")
    ratios = {}
    for label in ("small", "big"):
        ratios[f"modelvault warm / find-links ({label})"] = (
            results["modelvault warm"][label] / results["find-links"][label]
        )
        ratios[f"modelvault warm / devpi warm ({label})"] = (
            results["modelvault warm"][label] / results["devpi warm"][label]
        )
        ratios[f"modelvault cold / devpi cold ({label})"] = (
            results["modelvault cold"][label] / results["devpi cold"][label]
        )
    for name, value in ratios.items():
        print(f"{name:45} {value:6.2f}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (out / f"pypi-{stamp}.json").write_text(
        json.dumps(
            {"runs": args.runs, "big_mb": args.big_mb, "results": results, "ratios": ratios},
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
