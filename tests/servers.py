"""Real ModelVault servers for tests: a standalone ``modelvault serve`` and a Jupyter server with
the extension, each a subprocess on 127.0.0.1 so that blocking clients (huggingface_hub, pip,
transformers) talk to them over real HTTP."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

NO_AUTH_THROTTLE = {"MODELVAULT_AUTH_FAILURE_BURST": "1000000"}
"""Test servers take every failed authentication from 127.0.0.1 (route sweeps send hundreds);
tests/web/test_hardening.py runs one with the default throttle."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


def _wait_ready(
    url: str, proc: subprocess.Popen[bytes], log_path: Path, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log_path.read_text(errors='replace')}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code < 500:
                return
        time.sleep(0.2)
    raise RuntimeError(
        f"server not ready after {timeout}s:\n{log_path.read_text(errors='replace')}"
    )


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
    port = port or free_port()
    log_path = data_dir.parent / f"{data_dir.name}-serve-{port}.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "modelvault_jlab.cli",
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            *extra_args,
        ],
        stdout=log_path.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, **NO_AUTH_THROTTLE, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}/"
    _wait_ready(url + "modelvault/api/info", proc, log_path)
    return RunningServer(
        "standalone", url, data_dir, port, proc, log_path, token, extra_env=dict(env or {})
    )


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
    port = port or free_port()
    log_path = data_dir.parent / f"{data_dir.name}-jupyter-{port}.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            "--allow-root",
            f"--ServerApp.port={port}",
            "--ServerApp.ip=127.0.0.1",
            "--ServerApp.port_retries=0",
            f"--ServerApp.base_url={base_url}",
            f"--ServerApp.root_dir={root_dir}",
            f"--IdentityProvider.token={jupyter_token}",
            "--ServerApp.allow_unauthenticated_access=False",
            "--ServerApp.jpserver_extensions={'modelvault_jlab': True}",
            f"--VaultSettings.data_dir={data_dir}",
            *extra_args,
        ],
        stdout=log_path.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "JUPYTER_PLATFORM_DIRS": "1", **NO_AUTH_THROTTLE, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}{base_url}"
    _wait_ready(url + "modelvault/api/info", proc, log_path)
    return RunningServer(
        "jupyter", url, data_dir, port, proc, log_path, token, jupyter_token, dict(env or {})
    )


@contextlib.contextmanager
def running(server: RunningServer) -> Iterator[RunningServer]:
    try:
        yield server
    finally:
        if server.alive():
            server.kill(signal.SIGTERM)
