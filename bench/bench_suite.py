"""Where the test suite's time goes: runs the CI's pytest groups (the parallel group with
``-n 2 --dist loadfile -m "not serial"``, then ``-m serial``) with bench/suite_profile_plugin.py
and prints, per group, wall time and CPU-seconds (with the load average), the workers' balance
(when each finished: with loadfile, one long module at the end leaves a worker idle), the costliest
modules and fixtures. The CPU-seconds (``getrusage`` of the run and its children) are the figure to
compare on a loaded machine; the ratio CPU / (wall x workers) says how much of the workers' time
was computing, i.e. what other work (lint and types) could run beside them.

    python bench/bench_suite.py            # both groups, the whole suite (~14 min idle)
    python bench/bench_suite.py --quick    # three heavy modules only
    python bench/bench_suite.py --analyze DIR   # the table of an earlier run's JSON
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUICK = [
    "tests/xet/test_stock_clients.py",
    "tests/test_backup.py",
    "tests/replicas/test_follower.py",
]


def run_group(name: str, args: list[str], out: Path) -> dict[str, float]:
    env = {
        **os.environ,
        "SUITE_PROFILE_OUT": str(out / name),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "bench"), str(ROOT)]),
        "MODELVAULT_FAIL_ON_SKIP": "1",
    }
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load0 = os.getloadavg()[0]
    start = time.monotonic()
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    rc = subprocess.run([*argv, "-p", "suite_profile_plugin", *args], cwd=ROOT, env=env).returncode
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"rc": rc, "wall": wall, "cpu": cpu, "load_start": load0, "load_end": os.getloadavg()[0]}


def analyze(folder: Path, top: int = 30) -> None:
    modules: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    worker_of: dict[str, str] = {}
    spans: dict[str, tuple[float, float, float]] = {}
    fixtures: dict[tuple[str, str], list[float]] = collections.defaultdict(lambda: [0.0, 0.0, 0])
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text())
        worker = path.stem
        tests = data["tests"]
        if tests:
            cpu = sum(t[3] + t[4] for t in tests)
            spans[worker] = (min(t[1] for t in tests), max(t[2] for t in tests), cpu)
        for nodeid, t0, t1, cpu_self, cpu_children in tests:
            module = nodeid.split("::")[0]
            row = modules[module]
            row[0] += t1 - t0
            row[1] += cpu_self + cpu_children
            row[2] += 1
            worker_of[module] = worker
        for name, scope, _module, wall, cpu in data["fixtures"]:
            f = fixtures[(name, scope)]
            f[0] += wall
            f[1] += cpu
            f[2] += 1
    if not spans:
        print(f"{folder}: no data")
        return
    origin = min(s[0] for s in spans.values())
    print(f"\n## {folder.name}: workers (seconds from the first test)")
    for worker, (t0, t1, cpu) in sorted(spans.items()):
        print(f"  {worker}: {t0 - origin:6.0f} .. {t1 - origin:6.0f}  tests' CPU {cpu:7.1f} s")
    ends = [s[1] - origin for s in spans.values()]
    if len(ends) > 1:
        print(f"  idle tail of the first worker to finish: {max(ends) - min(ends):.0f} s")
    total_wall = sum(r[0] for r in modules.values())
    print("\n| # | module | tests | wall s | CPU s | share of wall | worker |")
    print("|---|---|---|---|---|---|---|")
    ranked = sorted(modules.items(), key=lambda kv: -kv[1][0])
    for i, (module, (wall, cpu, n, _)) in enumerate(ranked[:top], 1):
        share = wall / total_wall
        print(
            f"| {i} | {module} | {n:.0f} | {wall:.1f} | {cpu:.1f} | {share:.1%} | {worker_of[module]} |"
        )
    print("\nfixtures, setup only (name, scope, count, wall s, CPU s of the worker itself):")
    for (name, scope), (wall, cpu, n) in sorted(fixtures.items(), key=lambda kv: -kv[1][0])[:20]:
        print(f"  {name:32s} {scope:8s} {n:5.0f} {wall:8.1f} {cpu:7.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="three heavy modules only")
    parser.add_argument("--analyze", type=Path, help="only print the tables of an earlier run")
    parser.add_argument("--workers", default="2")
    opts = parser.parse_args()
    if opts.analyze:
        for group in sorted(p for p in opts.analyze.iterdir() if p.is_dir()):
            analyze(group)
        return 0
    out = Path(tempfile.mkdtemp(prefix="bench-suite-"))
    parallel = ["-n", opts.workers, "--dist", "loadfile", "-m", "not serial"]
    groups = {"parallel": [*parallel, *(QUICK if opts.quick else [])]}
    if not opts.quick:
        groups["serial"] = ["-m", "serial"]
    results = {name: run_group(name, args, out) for name, args in groups.items()}
    for name in results:
        analyze(out / name)
    print("\n## groups")
    for name, r in results.items():
        workers = int(opts.workers) if name == "parallel" else 1
        busy = r["cpu"] / (r["wall"] * workers)
        print(
            f"  {name}: rc {r['rc']:.0f}, wall {r['wall']:.0f} s, CPU {r['cpu']:.0f} s, "
            f"CPU/(wall x {workers} workers) {busy:.2f}, load average {r['load_start']:.1f} -> "
            f"{r['load_end']:.1f}"
        )
    (out / "groups.json").write_text(json.dumps(results, indent=1))
    print(f"JSON in {out}")
    return max(int(r["rc"]) for r in results.values())


if __name__ == "__main__":
    sys.exit(main())
