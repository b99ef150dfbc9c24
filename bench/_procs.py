"""Process helpers for the benchmarks: a ModelVault server, an nginx, RSS sampling.

Every process is started in its own session (process group) and stopped by its group id, so a
benchmark that fails half-way still leaves nothing behind (use the helpers as context managers or
in try/finally). Only loopback addresses are used.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"


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


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def stop_group(proc: subprocess.Popen[bytes] | None, timeout: float = 10.0) -> None:
    """SIGTERM the process group of ``proc`` (started with start_new_session), then SIGKILL."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


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


class LatencyProbe:
    """Times a cheap authenticated GET every ``interval`` s in a thread: is the server responsive
    while something heavy runs? (The server is one event loop: blocking work stalls everyone.)"""

    def __init__(self, url: str, token: str, interval: float = 0.1) -> None:
        self.url = url
        self.token = token
        self.interval = interval
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        while not self._stop.is_set():
            t0 = time.perf_counter()
            try:
                req = urllib.request.Request(self.url, headers=headers)
                with urllib.request.urlopen(req, timeout=600) as r:
                    r.read()
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            self.latencies.append(time.perf_counter() - t0)
            self._stop.wait(self.interval)

    def __enter__(self) -> LatencyProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def max(self) -> float:
        return max(self.latencies) if self.latencies else float("nan")


class VaultServer:
    """``python -m modelvault_jlab.cli serve`` on 127.0.0.1 with its own data dir."""

    def __init__(self, data_dir: Path, log_path: Path, python: str = sys.executable) -> None:
        self.data_dir = data_dir
        self.log_path = log_path
        self.python = python
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._log = None
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
        out = subprocess.run(
            [self.python, "-m", "modelvault_jlab.cli", *args, "--data-dir", str(self.data_dir)],
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip()

    def start(self, token: str, timeout: float = 60.0) -> None:
        # The port is kept across restarts so that HF_ENDPOINT stays valid.
        self.port = self.port or free_port()
        self._log = open(self.log_path, "ab")  # noqa: SIM115
        # exec: the pid we get is the server itself (its RSS is what we measure).
        self.proc = subprocess.Popen(
            [
                self.python,
                "-m",
                "modelvault_jlab.cli",
                "serve",
                "--data-dir",
                str(self.data_dir),
                "--port",
                str(self.port),
                "--host",
                HOST,
                *self.serve_args,
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        url = f"{self.endpoint}/api/whoami-v2"
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.proc.returncode}:\n{self.log_tail(1500)}"
                )
            try:
                req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
                with urllib.request.urlopen(req, timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not ready after {timeout}s; see {self.log_path}")
            time.sleep(0.1)

    def stop(self) -> None:
        stop_group(self.proc)
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

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


NGINX_PREAMBLE = """\
daemon off;
master_process on;
worker_processes 1;
user root;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
"""
"""What every bench nginx shares: one worker, in the foreground, everything under the prefix."""

NGINX_HTTP_PATHS = """\
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
"""

NGINX_CONF = """\
# Generated by bench/_procs.py: static files on loopback.
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


def start_nginx(
    prefix: Path, template: str, binary: str = "nginx", timeout: float = 20.0, **fields: object
) -> tuple[subprocess.Popen[bytes], int]:
    """Start nginx under ``prefix`` with ``template`` (which may use ``{preamble}``, ``{paths}``,
    ``{prefix}``, ``{host}``, ``{port}`` and ``fields``); returns it and its port once it listens."""
    prefix.mkdir(parents=True, exist_ok=True)
    for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / d).mkdir(exist_ok=True)
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(
        template.format(
            preamble=NGINX_PREAMBLE.format(prefix=prefix),
            paths=NGINX_HTTP_PATHS.format(prefix=prefix),
            prefix=prefix,
            host=HOST,
            port=port,
            **fields,
        )
    )
    proc = subprocess.Popen(
        # -e: the error log before the config is read (else /var/log/nginx/error.log).
        [binary, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=open(prefix / "stderr.log", "ab"),  # noqa: SIM115
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(
                f"nginx exited with {proc.returncode}: "
                + (prefix / "stderr.log").read_text()[-2000:]
            )
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), 0.5):
            return proc, port
        if time.monotonic() > deadline:
            stop_group(proc)
            raise RuntimeError("nginx did not start listening")
        time.sleep(0.05)


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
            self.prefix, NGINX_CONF, self.binary, timeout, root=self.root
        )

    def stop(self) -> None:
        # nginx's master handles SIGTERM (fast shutdown) and takes its worker with it;
        # the group kill is the safety net.
        stop_group(self.proc)
        self.proc = None
