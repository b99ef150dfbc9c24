"""Scanner benchmark: speed and peak RSS on ~1 GiB files, detection on the bypass corpus.

Usage (from the repo root, inside the project virtualenv)::

    python bench/bench_scan.py            # full run: 1 GiB files + detection tables
    python bench/bench_scan.py --size-mib 128 --skip-detection   # quick smoke run

Each timed scan runs in a fresh subprocess (``--run-one TOOL PATH``) that reports wall time and
``ru_maxrss``; picklescan and modelscan (when installed) scan the same files in the same run.
Nothing is ever unpickled: the corpus is assembled from bytes (tests/scanning/corpus.py).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TOOLS = ("ours", "picklescan", "modelscan")


# -- one scan, in this process -----------------------------------------------------------------
def scan_with(tool: str, path: Path) -> str:
    """Return 'flagged', 'clean' or 'error' for one file."""
    if tool == "ours":
        from modelvault_jlab.core.scanning import ScanEngine, Verdict

        v = ScanEngine().scan_file(path).verdict
        return {Verdict.CLEAN: "clean", Verdict.ERROR: "error"}.get(v, "flagged")
    if tool == "picklescan":
        from picklescan.scanner import scan_file_path

        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            r = scan_file_path(str(path))
        if r.infected_files or r.issues_count:
            return "flagged"
        return "error" if r.scan_err else "clean"
    if tool == "modelscan":
        from modelscan.modelscan import ModelScan

        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            r: dict[str, Any] = ModelScan().scan(path)
        if r.get("issues"):
            return "flagged"
        summary = r.get("summary", {})
        if r.get("errors"):
            return "error"
        scanned = summary.get("scanned", {}).get("total_scanned", 0)
        return "clean" if scanned else "skipped"
    raise ValueError(tool)


def tool_available(tool: str) -> bool:
    mod = {"ours": "modelvault_jlab", "picklescan": "picklescan", "modelscan": "modelscan"}[tool]
    try:
        __import__(mod)
    except ImportError:
        return False
    return True


def _preimport(tool: str) -> None:
    mod = {"ours": "modelvault_jlab.core.scanning", "picklescan": "picklescan.scanner",
           "modelscan": "modelscan.modelscan"}[tool]
    __import__(mod)
    if tool == "ours":  # our lazily imported helpers, so that only scanning is timed
        import fickling.analysis  # noqa: F401


def run_one(tool: str, path: str) -> None:
    _preimport(tool)
    start = time.perf_counter()
    result = scan_with(tool, Path(path))
    elapsed = time.perf_counter() - start
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"tool": tool, "result": result, "seconds": elapsed, "maxrss_kib": rss_kib}))


TIME_BIN = Path("/usr/bin/time")


def timed(tool: str, path: Path, repeat: int = 5) -> dict[str, Any]:
    """Best of ``repeat`` runs, each in a fresh process.

    Peak RSS comes from /usr/bin/time (%M) when available: ru_maxrss of a child forked from this
    (large) process would include the parent's pages, since Linux keeps maxrss across exec.
    """
    best: dict[str, Any] | None = None
    for _ in range(repeat):
        cmd = [sys.executable, __file__, "--run-one", tool, str(path)]
        if TIME_BIN.exists():
            cmd = [str(TIME_BIN), "-f", "TIME %e %M", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
        lines = proc.stdout.strip().splitlines()
        if proc.returncode != 0 or not lines:
            return {"tool": tool, "result": "crash", "seconds": float("nan"),
                    "process_seconds": float("nan"), "maxrss_kib": 0}
        row = dict(json.loads(lines[-1]))
        row["process_seconds"] = float("nan")
        for line in proc.stderr.splitlines():
            if line.startswith("TIME "):
                _, wall, rss = line.split()
                row["process_seconds"], row["maxrss_kib"] = float(wall), int(rss)
        if best is None:
            best = row
        else:  # best of each metric independently (the machine may be busy)
            for key in ("seconds", "process_seconds", "maxrss_kib"):
                if row[key] < best[key]:
                    best[key] = row[key]
    assert best is not None
    return best


def baseline_rss(tool: str) -> int:
    mod = {"ours": "modelvault_jlab.core.scanning", "picklescan": "picklescan.scanner",
           "modelscan": "modelscan.modelscan"}[tool]
    cmd = [sys.executable, "-c", f"import {mod}"]
    if TIME_BIN.exists():
        proc = subprocess.run([str(TIME_BIN), "-f", "TIME %e %M", *cmd], capture_output=True,
                              text=True)
        for line in proc.stderr.splitlines():
            if line.startswith("TIME "):
                return int(line.split()[2])
    return 0


# -- big files ---------------------------------------------------------------------------------
def make_big_files(tmp: Path, size_mib: int) -> dict[str, Path]:
    """Build the big files in a child process so this process stays small."""
    subprocess.run([sys.executable, __file__, "--make-big", str(tmp), str(size_mib)], check=True)
    return {"torch.save checkpoint": tmp / "big_torch.pt",
            "raw pickle of numpy arrays": tmp / "big_numpy.pkl"}


def _make_big(tmp: Path, size_mib: int) -> None:
    import numpy as np
    import torch

    n = max(1, size_mib // 16)
    per = 16 << 20
    sd = {f"layer{i}.weight": torch.zeros(per // 4, dtype=torch.float32) for i in range(n)}
    torch.save(sd, tmp / "big_torch.pt")
    del sd
    with (tmp / "big_numpy.pkl").open("wb") as f:
        pickle.dump({f"a{i}": np.zeros(per // 8, dtype=np.float64) for i in range(n)}, f,
                    protocol=4)


# -- corpora -----------------------------------------------------------------------------------
def write_malicious(tmp: Path) -> list[tuple[str, Path]]:
    from tests.scanning.corpus import SAMPLES

    out = []
    for s in SAMPLES:
        try:
            data = s.build()
        except ImportError:
            continue
        d = tmp / "mal" / s.id
        d.mkdir(parents=True)
        (d / s.name).write_bytes(data)
        out.append((s.id, d / s.name))
    return out


def write_benign(tmp: Path) -> list[tuple[str, Path]]:
    import numpy as np
    import torch

    d = tmp / "benign"
    d.mkdir()
    sd = {"w": torch.randn(16, 16), "b": torch.zeros(16, dtype=torch.bfloat16)}
    files: dict[str, Any] = {}
    torch.save(sd, d / "pytorch_model.bin")
    torch.save(sd, d / "legacy.pth", _use_new_zipfile_serialization=False)
    m = torch.nn.Linear(4, 2)
    opt = torch.optim.Adam(m.parameters())
    torch.save({"model": m.state_dict(), "opt": opt.state_dict(), "epoch": 1}, d / "ckpt.pt")
    import random

    torch.save({"python": random.getstate(), "numpy": np.random.get_state(),
                "cpu": torch.random.get_rng_state()}, d / "rng_state.pth")
    try:
        import transformers

        args = transformers.TrainingArguments(output_dir=str(d / "out"), report_to=[])
        torch.save(args, d / "training_args.bin")
    except ImportError:
        pass
    from safetensors.torch import save_file

    save_file(sd, d / "model.safetensors")
    np.save(d / "arr.npy", np.arange(100))
    np.savez_compressed(d / "arrs.npz", a=np.zeros(10), b=np.ones(3))
    with (d / "arrays.pkl").open("wb") as f:
        pickle.dump({"x": np.arange(10.0), "y": [1, 2, 3]}, f)
    try:
        import joblib

        for c in (0, "zlib", "gzip", "bz2", "lzma", "xz"):
            joblib.dump({"a": np.arange(50.0)}, d / f"model_{c}.joblib",
                        compress=(c, 3) if c else 0)
    except ImportError:
        pass
    try:
        import transformers

        cfg = transformers.GPT2Config(n_layer=1, n_head=2, n_embd=8, vocab_size=32,
                                      n_positions=8)
        model = transformers.GPT2LMHeadModel(cfg)
        model.save_pretrained(d / "hf_bin", safe_serialization=False)
        model.save_pretrained(d / "hf_st")
    except ImportError:
        pass
    files["config.json"] = b'{"model_type": "gpt2"}'
    files["README.md"] = b"# model card\n"
    for name, data in files.items():
        (d / name).write_bytes(data)
    return [(str(f.relative_to(d)), f) for f in sorted(d.rglob("*")) if f.is_file()]


def detection_table(tools: list[str], rows: list[tuple[str, Path]]) -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {}
    for rid, path in rows:
        table[rid] = {}
        for tool in tools:
            try:
                table[rid][tool] = scan_with(tool, path)
            except Exception as exc:  # a competitor crashing is a data point
                table[rid][tool] = f"crash:{type(exc).__name__}"
    return table


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--run-one", nargs=2, metavar=("TOOL", "PATH"))
    ap.add_argument("--make-big", nargs=2, metavar=("DIR", "MIB"))
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--skip-big", action="store_true")
    ap.add_argument("--skip-detection", action="store_true")
    ap.add_argument("--json", type=Path, help="also write results here")
    args = ap.parse_args()
    if args.run_one:
        run_one(*args.run_one)
        return
    if args.make_big:
        _make_big(Path(args.make_big[0]), int(args.make_big[1]))
        return
    tools = [t for t in TOOLS if tool_available(t)]
    results: dict[str, Any] = {"tools": tools}
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        if not args.skip_big:
            print(f"## Speed and memory ({args.size_mib} MiB files; subprocess per scan)")
            print("baseline RSS after import (MiB): " + ", ".join(
                f"{t}={baseline_rss(t) / 1024:.0f}" for t in tools))
            big = make_big_files(tmp, args.size_mib)
            results["big"] = {}
            for label, path in big.items():
                size = path.stat().st_size
                rows = {t: timed(t, path) for t in tools}
                results["big"][label] = rows
                print(f"\n{label}: {size / 2**20:.0f} MiB")
                print("| tool | result | scan s | process s | peak RSS MiB | ours/tool scan "
                      "| ours/tool process |")
                print("|---|---|---|---|---|---|---|")
                for t, r in rows.items():
                    ratio = rows["ours"]["seconds"] / r["seconds"] if r["seconds"] else 0
                    pratio = (rows["ours"]["process_seconds"] / r["process_seconds"]
                              if r["process_seconds"] else 0)
                    print(f"| {t} | {r['result']} | {r['seconds']:.3f} | "
                          f"{r['process_seconds']:.2f} | {r['maxrss_kib'] / 1024:.0f} | "
                          f"{ratio:.3f} | {pratio:.3f} |")
        if not args.skip_detection:
            mal = detection_table(tools, write_malicious(tmp))
            ben = detection_table(tools, write_benign(tmp))
            results["malicious"], results["benign"] = mal, ben
            print("\n## Detection on the bypass corpus (flagged = detected)")
            print("| sample | " + " | ".join(tools) + " |")
            print("|---|" + "---|" * len(tools))
            for rid, row in mal.items():
                print(f"| {rid} | " + " | ".join(row[t] for t in tools) + " |")
            for t in tools:
                det = sum(1 for r in mal.values() if r[t] == "flagged")
                print(f"{t}: detected {det}/{len(mal)}, missed or not flagged {len(mal) - det}")
            print("\n## Benign corpus (anything but clean is a false positive)")
            print("| file | " + " | ".join(tools) + " |")
            print("|---|" + "---|" * len(tools))
            for rid, row in ben.items():
                print(f"| {rid} | " + " | ".join(row[t] for t in tools) + " |")
            for t in tools:
                fp = sum(1 for r in ben.values() if r[t] not in ("clean", "skipped"))
                print(f"{t}: false positives {fp}/{len(ben)}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
