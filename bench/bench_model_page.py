"""Model page with 10,000 files: first paint after the data and scroll frame times (Galata).

Runs the benchmark test of ``ui-tests/tests/model-page.spec.ts`` (MV_UI_BENCH=1) against a
JupyterLab started here with this checkout's server extension and built labextension, and,
with ``--baseline-ref``, against the labextension built from another commit, interleaved in
the same run (one vault, seeded once), so the ratios compare like with like::

    jlpm build                                              # this checkout's frontend
    python bench/bench_model_page.py [--quick] [--baseline-ref 39093ad]

Frame times are rAF deltas while the grid is scrolled top to bottom and back in 40 steps a
pass; CPU is the browser's CPU seconds over the scroll (/proc: renderer, and all its processes),
with DevTools' main-thread task time (wall time inside tasks: grows with load) split into
script, layout and style. Headless Debian Chromium, software
rendering. The load average is printed next to every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._common import log, med, save_result  # noqa: E402
from tests.servers import HOST, free_port, spawn, stop_group, wait_http  # noqa: E402

UI_TESTS = ROOT / "ui-tests"
LABEXTENSION = "modelvault_jlab/labextension"
PERF_JSON = "[model-page perf json] "


def build_ref(ref: str, work: Path) -> Path:
    """Build the labextension of commit ``ref`` in ``work`` (git archive, no worktree)."""
    src = work / f"src-{ref}"
    src.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
    (src / "node_modules").symlink_to((ROOT / "node_modules").resolve())
    log(f"building the labextension of {ref} (jlpm build)")
    subprocess.run(["jlpm", "build"], cwd=src, check=True, capture_output=True)
    return src / LABEXTENSION


def extension_dir(built: Path, work: Path, name: str) -> Path:
    """A labextensions directory holding only ``built`` as modelvault-jlab."""
    parent = work / f"ext-{name}"
    parent.mkdir()
    (parent / "modelvault-jlab").symlink_to(built.resolve())
    return parent


def server_config(work: Path, ext_parent: Path, data_dir: Path, name: str) -> Path:
    """The UI tests' server config, with ``ext_parent`` first on the labextensions path and a
    vault directory shared by every server of the run (seeded once)."""
    config = work / f"config-{name}.py"
    config.write_text(
        "import jupyterlab.galata, os\n"
        f"path = {str(UI_TESTS / 'jupyter_server_test_config.py')!r}\n"
        "exec(compile(open(path).read(), path, 'exec'), {'c': c, '__file__': path})\n"
        "c.LabServerApp.extra_labextensions_path = [\n"
        f"    {str(ext_parent)!r}, os.path.dirname(jupyterlab.galata.__file__)]\n"
        f"c.VaultSettings.data_dir = {str(data_dir)!r}\n"
    )
    return config


def measure(config: Path, work: Path, name: str, passes: int) -> dict[str, Any]:
    """Start JupyterLab with ``config``, run the benchmark test once, stop it."""
    port = free_port()
    env = {"MV_UI_PORT": str(port), "PYTHONPATH": str(ROOT)}
    server_log = work / f"lab-{name}.log"
    proc = spawn(["jupyter", "lab", "--config", str(config)], server_log, env=env, cwd=UI_TESTS)
    try:
        wait_http(f"http://{HOST}:{port}/lab", proc, server_log, timeout=300)
        test_env = {k: v for k, v in os.environ.items() if k != "CI"}  # reuse our server
        test_env.update(env, MV_UI_BENCH="1", MV_UI_BENCH_PASSES=str(passes))
        load = os.getloadavg()[0]
        run = subprocess.run(
            # its own output directory: a UI test run alongside keeps its artifacts
            [
                "jlpm",
                "playwright",
                "test",
                "tests/model-page.spec.ts",
                "-g",
                "10000",
                "--output",
                str(work / f"results-{name}"),
            ],
            cwd=UI_TESTS,
            env=test_env,
            capture_output=True,
            text=True,
        )
        load = max(load, os.getloadavg()[0])
        lines = [ln for ln in run.stdout.splitlines() if PERF_JSON in ln]
        if run.returncode != 0 or not lines:
            raise RuntimeError(f"{name}: the benchmark test failed\n{run.stdout[-4000:]}")
        result: dict[str, Any] = json.loads(lines[-1].split(PERF_JSON, 1)[1])
        result["load1"] = load
        log(
            f"{name}: median frame {result['median']:.1f} ms, p95 {result['p95']:.1f} ms, "
            f"renderer CPU {result['rendererCpuS']:.2f} s, first paint "
            f"{result['firstPaintMs']:.1f} ms (load average {load:.2f})"
        )
        return result
    finally:
        stop_group(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one round, one scroll pass")
    parser.add_argument(
        "--baseline-ref", help="also measure the labextension of this commit (built here)"
    )
    parser.add_argument(
        "--baseline-dir", type=Path, help="or a labextension already built elsewhere"
    )
    args = parser.parse_args()
    current = ROOT / LABEXTENSION
    if not (current / "package.json").exists():
        sys.exit(f"{current} is missing: run `jlpm build` first")
    rounds, passes = (1, 1) if args.quick else (2, 3)
    work = Path(tempfile.mkdtemp(prefix="mv-bench-page-"))
    try:
        data_dir = work / "vault"
        data_dir.mkdir()
        builds = {"current": current}
        if args.baseline_ref or args.baseline_dir:
            baseline = args.baseline_dir or build_ref(args.baseline_ref, work)
            builds = {"baseline": baseline, **builds}
        configs = {
            name: server_config(work, extension_dir(built, work, name), data_dir, name)
            for name, built in builds.items()
        }
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in configs}
        for r in range(rounds):
            # Alternate the order so neither variant always runs first.
            order = list(configs) if r % 2 == 0 else list(reversed(configs))
            for name in order:
                results[name].append(measure(configs[name], work, f"{name}-{r}", passes))
        table = report(results)
        print(table)
        save_result(
            "model_page",
            {"results": results, "baseline_ref": args.baseline_ref, "passes": passes},
            table,
            args.quick,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(results: dict[str, list[dict[str, Any]]]) -> str:
    keys = [
        ("firstPaintMs", "first paint after data, ms"),
        ("median", "scroll: median frame, ms"),
        ("p95", "scroll: p95 frame, ms"),
        ("max", "scroll: max frame, ms"),
        ("rendererCpuS", "scroll: renderer CPU, s"),
        ("browserCpuS", "scroll: browser CPU (all processes), s"),
        ("taskS", "scroll: main-thread task time, s"),
        ("scriptS", "scroll: script, s"),
        ("layoutS", "scroll: layout, s"),
        ("styleS", "scroll: style, s"),
        ("domRows", "rows in the DOM"),
        ("load1", "load average (1 min)"),
    ]
    names = list(results)
    lines = [
        "| figure | " + " | ".join(names) + (" | current / baseline |" if len(names) > 1 else " |")
    ]
    lines.append("| --- " * (len(names) + 1 + (len(names) > 1)) + "|")
    for key, title in keys:
        values = [med([float(r[key]) for r in results[n]]) for n in names]
        row = f"| {title} | " + " | ".join(f"{v:.3g}" for v in values)
        if len(names) > 1:
            row += f" | {values[1] / values[0]:.2f}" if values[0] else " | -"
        lines.append(row + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
