"""Upstreams reached only through a company's forward proxy (``HTTPS_PROXY``/``NO_PROXY``).

A real proxy from PyPI (``proxy.py``, with Basic authentication) sits between the vault and an
HTTPS upstream (a second ModelVault behind a TLS-terminating gate). The gate checks the peer of
every connection: only sockets owned by the proxy's processes are let through, so a vault that
bypassed the proxy would be refused. The Hub API calls (httpx) and the file bodies (the
``http.client`` reader) both go through the proxy's CONNECT tunnel.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from huggingface_hub import HfApi

from tests.compat.test_upstream_tls import _certificates
from tests.servers import RunningServer, free_port, mint_token, running, start_standalone

PROXY_USER, PROXY_PASSWORD = "egress", "pw-" + uuid.uuid4().hex[:12]


class PeerGate:
    """TLS in front of ``target_port``, for connections from ``allowed_pid``'s processes only."""

    def __init__(self, target_port: int, cert: Path, key: Path, allowed_pid: int) -> None:
        self._target = target_port
        self._allowed = allowed_pid
        self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._tls.load_cert_chain(cert, key)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.accepted = 0
        self.refused = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _from_proxy(self, peer: tuple[str, int]) -> bool:
        root = psutil.Process(self._allowed)
        for proc in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                for conn in proc.net_connections(kind="tcp"):
                    if conn.laddr and (conn.laddr.ip, conn.laddr.port) == peer:
                        return True
        return False

    def _serve(self) -> None:
        while True:
            try:
                conn, peer = self._listener.accept()
            except OSError:
                return
            if not self._from_proxy(peer):
                self.refused += 1
                conn.close()
                continue
            self.accepted += 1
            threading.Thread(target=self._relay, args=(conn,), daemon=True).start()

    def _relay(self, conn: socket.socket) -> None:
        try:
            client = self._tls.wrap_socket(conn, server_side=True)
            upstream = socket.create_connection(("127.0.0.1", self._target))
        except OSError:
            conn.close()
            return

        def pump(src: socket.socket, dst: socket.socket) -> None:
            with contextlib.suppress(OSError):
                while data := src.recv(1 << 16):
                    dst.sendall(data)
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

        threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
        pump(client, upstream)

    def close(self) -> None:
        self._listener.close()


@pytest.fixture(scope="module")
def proxy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    """``proxy.py`` with Basic auth on 127.0.0.1: (port, pid)."""
    port = free_port()
    log = tmp_path_factory.mktemp("proxy") / "proxy.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "proxy",
            "--hostname",
            "127.0.0.1",
            "--port",
            str(port),
            "--num-workers",
            "1",
            "--num-acceptors",
            "1",
            "--basic-auth",
            f"{PROXY_USER}:{PROXY_PASSWORD}",
        ],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            break
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    yield port, proc.pid
    os.killpg(proc.pid, 15)
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def behind_proxy(
    tmp_path_factory: pytest.TempPathFactory,
    upstream: RunningServer,
    proxy_server: tuple[int, int],
) -> Iterator[tuple[RunningServer, PeerGate]]:
    base = tmp_path_factory.mktemp("egress")
    ca, cert, key = _certificates(base)
    gate = PeerGate(upstream.port, cert, key, proxy_server[1])
    proxy_url = f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{proxy_server[0]}"
    env = {
        "HTTPS_PROXY": proxy_url,
        "HTTP_PROXY": proxy_url,
        "NO_PROXY": "localhost",  # not 127.0.0.1: the upstream is there
        "SSL_CERT_FILE": str(ca),
    }
    with running(start_standalone(base / "vault", env=env)) as vault:
        yield vault, gate
    gate.close()


def test_hub_pages_and_files_go_through_the_proxy(
    behind_proxy: tuple[RunningServer, PeerGate], upstream: RunningServer
) -> None:
    vault, gate = behind_proxy
    # the gate refuses whoever is not the proxy: this test process, for one
    with (
        socket.create_connection(("127.0.0.1", gate.port), 2) as s,
        contextlib.suppress(ConnectionResetError),
    ):
        assert s.recv(1) == b""  # closed without a byte
    assert gate.refused >= 1
    refused_before = gate.refused

    api = HfApi(endpoint=upstream.hf_endpoint(), token=upstream.admin_token)
    repo_id = f"up/p-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo_id)
    api.upload_file(
        path_or_fileobj=b"---\nlicense: mit\n---\n", path_in_repo="README.md", repo_id=repo_id
    )
    body = os.urandom(3 * 1024 * 1024)
    api.upload_file(path_or_fileobj=body, path_in_repo="weights.bin", repo_id=repo_id)

    key = f"hub-{uuid.uuid4().hex[:6]}"
    r = httpx.post(
        vault.api("repositories"),
        json={
            "key": key,
            "kind": "hf-remote",
            "config": {
                "upstream": f"https://127.0.0.1:{gate.port}/modelvault/hf/models",
                "upstream_token": mint_token(upstream.data_dir, "read", "mirror"),
                "timeout_seconds": 10,
            },
        },
        headers=vault.headers(),
    )
    assert r.status_code == 201, r.text
    got = httpx.get(
        f"{vault.hf_endpoint(key)}/{repo_id}/resolve/main/weights.bin",
        headers=vault.headers(),
        timeout=60,
    )
    assert got.status_code == 200, got.text
    assert got.content == body
    files = HfApi(endpoint=vault.hf_endpoint(key), token=vault.admin_token).list_repo_files(repo_id)
    assert sorted(files) == ["README.md", "weights.bin"]
    assert gate.accepted >= 2 and gate.refused == refused_before  # all through the proxy
    assert PROXY_PASSWORD not in vault.log()  # the proxy's credentials are never logged


def test_a_proxy_refusing_credentials_is_an_upstream_error(
    tmp_path: Path, upstream: RunningServer, proxy_server: tuple[int, int]
) -> None:
    wrong = f"http://{PROXY_USER}:wrong-secret@127.0.0.1:{proxy_server[0]}"
    env = {"HTTPS_PROXY": wrong, "HTTP_PROXY": wrong, "NO_PROXY": "localhost"}
    with running(start_standalone(tmp_path / "vault", env=env)) as vault:
        key = f"hub-{uuid.uuid4().hex[:6]}"
        r = httpx.post(
            vault.api("repositories"),
            json={"key": key, "kind": "hf-remote", "config": {"upstream": upstream.hf_endpoint()}},
            headers=vault.headers(),
        )
        assert r.status_code == 201, r.text
        failed = httpx.get(
            f"{vault.hf_endpoint(key)}/org/x/resolve/main/f.bin", headers=vault.headers()
        )
        assert failed.status_code in (502, 503, 504), failed.text
        assert "wrong-secret" not in failed.text and "wrong-secret" not in vault.log()
        # NO_PROXY: the same upstream by the name "localhost" is reached directly
        direct = f"http://localhost:{upstream.port}/modelvault/hf/models"
        key2 = f"hub-{uuid.uuid4().hex[:6]}"
        r = httpx.post(
            vault.api("repositories"),
            json={"key": key2, "kind": "hf-remote", "config": {"upstream": direct}},
            headers=vault.headers(),
        )
        assert r.status_code == 201, r.text
        missing = httpx.get(
            f"{vault.hf_endpoint(key2)}/org/none-{uuid.uuid4().hex[:6]}/resolve/main/f.bin",
            headers=vault.headers(),
        )
        assert missing.status_code in (401, 404), missing.text  # the upstream answered
