"""What every benchmark shares: logging and results, curl as the reference client, test files,
RSS/CPU sampling, a restartable ModelVault server and a static-file nginx.

Servers are started with tests/servers.py (the same code the tests use); this module only adds
what measuring needs (a fixed port across restarts, the server's own pid for RSS). Only loopback
addresses are used. Benchmarks put the repository root on ``sys.path`` and import
``bench._common`` and ``tests.servers``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tests.servers import (
    HOST,
    free_port,
    serve_argv,
    spawn,
    start_nginx,
    stop_group,
    wait_http,
)

MiB = 1024**2
GiB = 1024**3
BLOCK = 64 * MiB


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def save_result(name: str, result: dict[str, Any], table: str, quick: bool) -> Path:
    """Write ``result`` (with its printed ``table``) to bench/out/NAME-STAMP[-quick].json."""
    out = Path(__file__).resolve().parent / "out"
    out.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = out / f"{name}-{stamp}{'-quick' if quick else ''}.json"
    result["table"] = table
    path.write_text(json.dumps(result, indent=2, default=str))
    print(f"\nJSON: {path}")
    return path


def run_in_temp_dir(
    name: str,
    args: argparse.Namespace,
    run: Callable[[argparse.Namespace, Path], dict[str, Any]],
    report: Callable[[dict[str, Any]], str],
    *,
    tools: Sequence[str],
    quick: bool,
) -> int:
    """The frame of a bench's ``main``: check ``tools``, ``run`` in a fresh temp dir under
    ``args.tmp_parent`` (removed unless ``args.keep``), print ``report``'s table, save the JSON."""
    for tool in tools:
        if not shutil.which(tool):
            sys.exit(f"{tool} not found (nginx: apt-get install -y nginx)")
    tmp = Path(tempfile.mkdtemp(prefix=f"mv-bench-{name}-", dir=args.tmp_parent))
    try:
        result = run(args, tmp)
    finally:
        if not getattr(args, "keep", False):
            shutil.rmtree(tmp, ignore_errors=True)
    result["command"] = " ".join([os.path.basename(sys.executable), *sys.argv])
    table = report(result)
    print()
    print(table)
    save_result(name, result, table, quick)
    return 0


def med(values: list[float]) -> float:
    """Median, ignoring NaN (a measurement that did not happen); NaN when none is left."""
    values = [v for v in values if v == v]
    return statistics.median(values) if values else float("nan")


def mbps(nbytes: int, seconds: float, unit: int = 10**6) -> float:
    """Throughput in ``unit`` bytes per second (MB/s by default)."""
    return nbytes / unit / seconds if seconds > 0 else float("nan")


# ----------------------------------------------------------------------------------------------
# curl: the reference client
# ----------------------------------------------------------------------------------------------
_CURL_TIMES = "%{http_code} %{size_download} %{time_starttransfer} %{time_total}"


def _curl_argv(token: str | None, sink: str, extra: tuple[str, ...]) -> list[str]:
    cmd = ["curl", "-sS", "-o", sink, "-w", _CURL_TIMES, *extra]
    if token:
        cmd += ["-H", f"Authorization: Bearer {token}"]
    return cmd


def _curl_result(out: str) -> dict[str, float]:
    parts = out.split()
    return {
        "status": int(parts[0]) if parts else 0,
        "bytes": int(parts[1]) if len(parts) > 1 else 0,
        "ttfb": float(parts[2]) if len(parts) > 2 else float("nan"),
        "total": float(parts[3]) if len(parts) > 3 else float("nan"),
    }


def curl(
    url: str,
    token: str | None = None,
    sink: str = "/dev/null",
    *extra: str,
    head: bool = False,
) -> dict[str, float]:
    """One curl (``-f``: an HTTP error raises); status, bytes, time to first byte and total as
    curl measured them. ``extra`` are more curl options (``-L``, headers)."""
    argv = _curl_argv(token, sink, ("-f", *extra, *(["-I"] if head else [])))
    out = subprocess.run([*argv, url], capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(f"curl {url}: exit {out.returncode}: {out.stderr.strip()}")
    return _curl_result(out.stdout)


def curl_many(url: str, token: str | None, n: int) -> tuple[list[dict[str, Any]], float]:
    """``n`` curl processes at once (sink /dev/null); per-process results (with ``rc`` and
    ``stderr``, nothing raises) and the wall time."""
    argv = _curl_argv(token, "/dev/null", ())
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(
            [*argv, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True,
        )
        for _ in range(n)
    ]  # fmt: skip
    results: list[dict[str, Any]] = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=1800)
            results.append({"rc": p.returncode, **_curl_result(out), "stderr": err.strip()[:200]})
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return results, time.perf_counter() - t0


# ----------------------------------------------------------------------------------------------
# Test files
# ----------------------------------------------------------------------------------------------
def make_file(path: Path, size: int, label: str = "modelvault-bench block") -> None:
    """``size`` bytes: one random 64 MiB block repeated, each copy with a ``label`` and counter
    prefix. Not trivially compressible (and every 64 MiB block differs), quick to write."""
    block = os.urandom(BLOCK)
    written = 0
    n = 0
    with open(path, "wb") as f:
        while written < size:
            take = min(BLOCK, size - written)
            prefix = f"{label} {n:08d} ".encode()[:take]
            f.write(prefix)
            f.write(memoryview(block)[len(prefix) : take])
            written += take
            n += 1


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(8 * MiB):
            h.update(chunk)
    return h.hexdigest()


# ----------------------------------------------------------------------------------------------
# Process measurements
# ----------------------------------------------------------------------------------------------
def proc_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM of ``pid`` in bytes (empty when the process is gone)."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key, value = line.split(":", 1)
                    out[key] = int(value.split()[0]) * 1024
    except FileNotFoundError:
        pass
    return out


def cpu_seconds(pid: int) -> float:
    """user + system CPU time of ``pid`` so far (all its threads)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class RssSampler:
    """Samples VmRSS of one pid every ``interval`` seconds in a thread; ``peak`` is the maximum."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = proc_status(self.pid).get("VmRSS")
            if rss is not None:
                self.samples.append(rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        rss = proc_status(self.pid).get("VmRSS")
        if rss is not None:
            self.samples.append(rss)

    @property
    def peak(self) -> int:
        return max(self.samples) if self.samples else 0


# ----------------------------------------------------------------------------------------------
# Servers
# ----------------------------------------------------------------------------------------------
class VaultServer:
    """``modelvault serve`` on 127.0.0.1 with its own data dir, restartable on the same port (so
    HF_ENDPOINT stays valid); ``pid`` is the server itself, whose RSS the benchmarks measure."""

    def __init__(self, data_dir: Path, log_path: Path) -> None:
        self.data_dir = data_dir
        self.log_path = log_path
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.serve_args: list[str] = []
        """More ``modelvault serve`` options (e.g. the blob store)."""

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}/modelvault/hf/models"

    def cli(self, *args: str) -> str:
        from tests.servers import cli

        return cli(self.data_dir, *args)

    def start(self, token: str, timeout: float = 60.0) -> None:
        self.port = self.port or free_port()
        argv = serve_argv(self.data_dir, self.port, "--host", HOST, *self.serve_args)
        self.proc = spawn(argv, self.log_path)
        headers = {"Authorization": f"Bearer {token}"}
        wait_http(f"{self.endpoint}/api/whoami-v2", self.proc, self.log_path, timeout, headers)

    def stop(self) -> None:
        stop_group(self.proc)
        self.proc = None

    def log_tail(self, n: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except FileNotFoundError:
            return ""

    def restart(self, token: str, attempts: int = 3) -> None:
        """A fresh process (resets VmHWM); data dir is kept. Retried: a start can fail
        transiently (the port still held, or the package being edited while we run)."""
        self.stop()
        for attempt in range(attempts):
            try:
                self.start(token)
                return
            except RuntimeError:
                self.stop()
                if attempt == attempts - 1:
                    raise
                print(f"server start failed, retrying:\n{self.log_tail(1500)}", flush=True)
                time.sleep(2)

    def rss(self) -> int:
        return proc_status(self.pid).get("VmRSS", 0)

    def hwm(self) -> int:
        return proc_status(self.pid).get("VmHWM", 0)

    def settle_rss(self, seconds: float = 0.5) -> int:
        """RSS after a short idle pause (the figure growth is measured against)."""
        time.sleep(seconds)
        return self.rss()


NGINX_STATIC = """\
# Generated by bench/_common.py: static files on loopback.
{preamble}events {{ worker_connections 256; }}
http {{
{paths}    default_type application/octet-stream;
    keepalive_timeout 65;
    server {{
        listen {host}:{port};
        root {root};
        # nginx's core default is 'sendfile off'; Debian's packaged nginx.conf turns it on.
        # The main comparison uses sendfile on; /nosendfile/ is the same files with it off.
        sendfile on;
        tcp_nopush on;
        location /files/ {{ alias {root}/; }}
        location /nosendfile/ {{ alias {root}/; sendfile off; }}
    }}
}}
"""


class Nginx:
    """nginx serving ``root`` at ``/files/`` (sendfile on) and ``/nosendfile/`` (off)."""

    def __init__(self, prefix: Path, root: Path, binary: str = "nginx") -> None:
        self.prefix = prefix
        self.root = root
        self.binary = binary
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, name: str, sendfile: bool = True) -> str:
        return f"http://{HOST}:{self.port}/{'files' if sendfile else 'nosendfile'}/{name}"

    def start(self, timeout: float = 20.0) -> None:
        self.proc, self.port = start_nginx(
            self.prefix, NGINX_STATIC, self.binary, timeout, root=self.root
        )

    def stop(self) -> None:
        # nginx's master handles SIGTERM (fast shutdown) and takes its worker with it;
        # the group kill is the safety net.
        stop_group(self.proc)
        self.proc = None
