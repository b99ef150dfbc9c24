"""Real servers for tests and benchmarks: a standalone ``modelvault serve``, a Jupyter server with
the extension and nginx, each a subprocess on 127.0.0.1 so that blocking clients (huggingface_hub,
pip, transformers, curl) talk to them over real HTTP.

Every process runs in its own session (process group) and is stopped by its group id, so a test or
benchmark that fails half-way leaves nothing behind. bench/ imports this module too: one way to
start each server.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx

T = TypeVar("T")

NO_AUTH_THROTTLE = {"MODELVAULT_AUTH_FAILURE_BURST": "1000000"}
"""Test servers take every failed authentication from 127.0.0.1 (route sweeps send hundreds);
tests/web/test_hardening.py runs one with the default throttle."""


HOST = "127.0.0.1"


def free_port() -> int:
    """A port nothing listens on now. Another process (an xdist worker) may take it before our
    server binds it: the ``start_*`` functions retry on a fresh port when that happens."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def spawn(
    argv: list[str], log_path: Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """``argv`` in its own session, stdout and stderr appended to ``log_path``; ``env`` adds
    variables to this process's environment."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=cwd,
            env={**os.environ, **(env or {})},
        )


def stop_group(proc: subprocess.Popen[bytes] | None, timeout: float = 10.0) -> None:
    """SIGTERM the process group of ``proc`` (started by ``spawn``), then SIGKILL."""
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


def _log_tail(log_path: Path, n: int = 4000) -> str:
    try:
        return log_path.read_text(errors="replace")[-n:]
    except FileNotFoundError:
        return ""


class PortTakenError(RuntimeError):
    """The server could not bind its port (taken between ``free_port`` and the bind)."""


def _exited(what: str, proc: subprocess.Popen[bytes], log_path: Path) -> RuntimeError:
    tail = _log_tail(log_path)
    taken = ("address already in use", "is already in use", "no available port")
    kind = PortTakenError if any(m in tail.lower() for m in taken) else RuntimeError
    return kind(f"{what} exited with {proc.returncode}:\n{tail}")


def wait_http(
    url: str,
    proc: subprocess.Popen[bytes],
    log_path: Path,
    timeout: float = 60,
    headers: dict[str, str] | None = None,
) -> None:
    """Until ``url`` answers below 500; if ``proc`` exits or time runs out, stops it and raises
    (with the log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise _exited("server", proc, log_path)
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, headers=headers, timeout=2).status_code < 500:
                return
        time.sleep(0.1)
    stop_group(proc)
    raise RuntimeError(f"server not ready after {timeout}s:\n{_log_tail(log_path)}")


def wait_listening(
    proc: subprocess.Popen[bytes], port: int, log_path: Path, timeout: float = 60
) -> None:
    """Until something accepts TCP connections on ``port`` (servers that speak no HTTP yet)."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise _exited("process", proc, log_path)
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), 0.5):
            return
        if time.monotonic() > deadline:
            stop_group(proc)
            raise RuntimeError(f"nothing listening on {port} after {timeout}s; see {log_path}")
        time.sleep(0.05)


def on_free_port(start: Callable[[int], T], port: int | None = None, attempts: int = 5) -> T:
    """``start(port)``; with no fixed ``port``, retried on a new free port when the chosen one
    was taken meanwhile (parallel test workers pick ports at the same time)."""
    for attempt in range(attempts):
        try:
            return start(port or free_port())
        except PortTakenError:
            if port is not None or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def cli(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """``modelvault …`` on ``data_dir``; ``env`` adds variables (e.g. MODELVAULT_DATABASE_URL)."""
    out = subprocess.run(
        [sys.executable, "-m", "modelvault_jlab.cli", *args, "--data-dir", str(data_dir)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    return out.stdout.strip()


def mint_token(
    data_dir: Path,
    scope: str = "admin",
    user: str = "admin",
    *repos: str,
    env: dict[str, str] | None = None,
) -> str:
    args = ["token", "create", "--scope", scope, "--user", user, "--name", f"{user}-{scope}"]
    for r in repos:
        args += ["--repo", r]
    return cli(data_dir, *args, env=env)


def _option(args: tuple[str, ...], name: str) -> str | None:
    """The value of ``name value`` or ``name=value`` in a command line."""
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


@dataclass
class RunningServer:
    """A server process. ``url`` is the server root including base_url, ending with '/'."""

    kind: str
    url: str
    data_dir: Path
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path
    admin_token: str
    jupyter_token: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    def hf_endpoint(self, repository: str = "models") -> str:
        return f"{self.url}modelvault/hf/{repository}"

    def api(self, path: str) -> str:
        return f"{self.url}modelvault/api/{path}"

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.admin_token}"}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
        self.proc.wait(timeout=30)

    def alive(self) -> bool:
        return self.proc.poll() is None


def serve_argv(data_dir: Path, port: int, *extra_args: str) -> list[str]:
    """The command line of ``modelvault serve`` on ``data_dir`` and ``port``."""
    return [
        sys.executable,
        "-m",
        "modelvault_jlab.cli",
        "serve",
        "--data-dir",
        str(data_dir),
        "--port",
        str(port),
        *extra_args,
    ]


def start_standalone(
    data_dir: Path, *extra_args: str, port: int | None = None, env: dict[str, str] | None = None
) -> RunningServer:
    """``modelvault serve``; ``env`` adds variables (a shared database and bucket for replicas)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    # the admin token goes to the database the server will use
    database_url = _option(extra_args, "--database-url")
    token_env = {
        **(env or {}),
        **({"MODELVAULT_DATABASE_URL": database_url} if database_url else {}),
    }
    token = mint_token(data_dir, env=token_env)

    def start(port: int) -> RunningServer:
        log_path = data_dir.parent / f"{data_dir.name}-serve-{port}.log"
        proc = spawn(
            serve_argv(data_dir, port, *extra_args), log_path, {**NO_AUTH_THROTTLE, **(env or {})}
        )
        url = f"http://{HOST}:{port}/"
        wait_http(url + "modelvault/api/info", proc, log_path)
        return RunningServer(
            "standalone", url, data_dir, port, proc, log_path, token, extra_env=dict(env or {})
        )

    return on_free_port(start, port)


def start_jupyter(
    data_dir: Path,
    root_dir: Path,
    *extra_args: str,
    base_url: str = "/jp/",
    port: int | None = None,
    env: dict[str, str] | None = None,
) -> RunningServer:
    """``jupyter server`` with the extension enabled, a real Jupyter token and a non-root base_url;
    ``extra_args`` (e.g. ``--VaultSettings.remote_url=…``) and ``env`` are added."""
    data_dir.mkdir(parents=True, exist_ok=True)
    root_dir.mkdir(parents=True, exist_ok=True)
    token = mint_token(data_dir)
    jupyter_token = uuid.uuid4().hex

    def start(port: int) -> RunningServer:
        log_path = data_dir.parent / f"{data_dir.name}-jupyter-{port}.log"
        argv = [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            "--allow-root",
            f"--ServerApp.port={port}",
            f"--ServerApp.ip={HOST}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.base_url={base_url}",
            f"--ServerApp.root_dir={root_dir}",
            f"--IdentityProvider.token={jupyter_token}",
            "--ServerApp.allow_unauthenticated_access=False",
            "--ServerApp.jpserver_extensions={'modelvault_jlab': True}",
            f"--VaultSettings.data_dir={data_dir}",
            *extra_args,
        ]
        proc = spawn(
            argv, log_path, {"JUPYTER_PLATFORM_DIRS": "1", **NO_AUTH_THROTTLE, **(env or {})}
        )
        url = f"http://{HOST}:{port}{base_url}"
        wait_http(url + "modelvault/api/info", proc, log_path)
        return RunningServer(
            "jupyter", url, data_dir, port, proc, log_path, token, jupyter_token, dict(env or {})
        )

    return on_free_port(start, port)


@contextlib.contextmanager
def running(server: RunningServer) -> Iterator[RunningServer]:
    try:
        yield server
    finally:
        if server.alive():
            server.kill(signal.SIGTERM)


def start_pypiserver(folder: Path, log_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """pypiserver (a real third-party index: HTML only, no PEP 658) serving the dists in
    ``folder``, no authentication; returns it and its ``/simple/`` URL."""
    exe = Path(sys.executable).parent / "pypi-server"

    def start(port: int) -> tuple[subprocess.Popen[bytes], str]:
        argv = [str(exe), "run", "-i", HOST, "-p", str(port), "-a", ".", "-P", "."]
        argv += ["--disable-fallback", "--hash-algo", "sha256", str(folder)]
        log_path = log_dir / f"pypiserver-{port}.log"
        proc = spawn(argv, log_path)
        url = f"http://{HOST}:{port}/simple/"
        wait_http(url, proc, log_path, timeout=30)
        return proc, url

    return on_free_port(start)


NGINX_PREAMBLE = """\
daemon off;
master_process on;
worker_processes 1;
user root;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
"""
"""What every nginx here shares: one worker, in the foreground, everything under the prefix."""

NGINX_HTTP_PATHS = """\
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
"""


def start_nginx(
    prefix: Path, template: str, binary: str = "nginx", timeout: float = 20.0, **fields: object
) -> tuple[subprocess.Popen[bytes], int]:
    """nginx under ``prefix`` with the config ``template`` (which may use ``{preamble}``,
    ``{paths}``, ``{prefix}``, ``{host}``, ``{port}`` and ``fields``); returns it and its port
    once it listens."""
    prefix.mkdir(parents=True, exist_ok=True)
    for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / d).mkdir(exist_ok=True)

    def start(port: int) -> tuple[subprocess.Popen[bytes], int]:
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
        log_path = prefix / "stderr.log"
        # -e: the error log before the config is read (else /var/log/nginx/error.log).
        argv = [binary, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
        proc = spawn(argv, log_path)
        wait_listening(proc, port, log_path, timeout)
        return proc, port

    return on_free_port(start)
