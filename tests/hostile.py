"""Hostile HTTP clients for tests and bench/bench_hostile.py (issue 14): large bodies sent without
credentials, LFS batches announcing absurd sizes and counts, deeply nested JSON. Loopback only.

Run as a separate process (``python -m tests.hostile URL TOKEN REPO``) so that a latency probe in
the caller's process measures the server, not its own threads' contention for the GIL.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import sys
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

MiB = 1024 * 1024


def request_head(host: str, method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_answer(sock: socket.socket) -> bytes:
    """The answer's head (and whatever came with it); empty if the connection was reset."""
    data = b""
    with contextlib.suppress(OSError):
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return data


def status_of(answer: bytes) -> int | None:
    return int(answer.split()[1]) if answer.startswith(b"HTTP/1.1 ") else None


def send_body(
    url: str, headers: dict[str, str], total: int, method: str = "POST", timeout: float = 60
) -> bytes:
    """``method url`` with up to ``total`` bytes of body (chunked unless ``headers`` has a
    Content-Length), stopping when the server closes the connection; returns what answer could be
    read. With ``total`` 0 only the head is sent: the server must answer from it alone."""
    parts = urlsplit(url)
    chunked = "Content-Length" not in headers and method != "GET"
    if chunked:
        headers = {**headers, "Transfer-Encoding": "chunked"}
    block = b"\0" * MiB
    frame = f"{len(block):x}\r\n".encode() + block + b"\r\n" if chunked else block
    address = (parts.hostname or "127.0.0.1", parts.port or 80)
    with socket.create_connection(address, timeout=timeout) as sock:
        sock.sendall(request_head(parts.netloc, method, parts.path or "/", headers))
        sent = 0
        with contextlib.suppress(OSError):
            while sent < total:
                sock.sendall(frame)
                sent += len(block)
        return read_answer(sock)


def lfs_batch_body(count: int, size: object) -> bytes:
    objects = [{"oid": f"{n:064x}", "size": size} for n in range(count)]
    return json.dumps({"operation": "upload", "transfer": ["basic"], "objects": objects}).encode()


def post(url: str, body: bytes, headers: dict[str, str]) -> bytes:
    """A complete request with a body, on a raw socket (no client library in the way)."""
    parts = urlsplit(url)
    head = request_head(
        parts.netloc, "POST", parts.path, {**headers, "Content-Length": str(len(body))}
    )
    with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=120) as sock:
        with contextlib.suppress(OSError):
            sock.sendall(head + body)
        return read_answer(sock)


def attacks(
    base: str, token: str, repo: str, body_bytes: int, file: str = "ten.txt"
) -> dict[str, Callable[[], bytes]]:
    """The hostile requests of issue 14, by name (``base`` ends with '/'; ``repo`` holds
    ``file``)."""
    admin = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    batch = f"{base}modelvault/hf/models/{repo}.git/info/lfs/objects/batch"
    tokens = f"{base}modelvault/api/tokens"
    return {
        "unauthenticated-body": lambda: send_body(
            tokens, {"Content-Length": str(body_bytes)}, body_bytes
        ),
        "unauthenticated-chunked": lambda: send_body(tokens, {}, body_bytes),
        "oversized-buffered-body": lambda: send_body(tokens, admin, 64 * MiB),
        "lfs-size-1e30": lambda: post(batch, lfs_batch_body(1, 10**30), admin),
        "lfs-size-1e14": lambda: post(batch, lfs_batch_body(1, 10**14), admin),
        "lfs-200k-objects": lambda: post(batch, lfs_batch_body(200_000, 1), admin),
        "lfs-1000-largest-objects": lambda: post(batch, lfs_batch_body(1000, 50 * 10**9), admin),
        "nested-json": lambda: post(tokens, b"[" * (4 * MiB - 16), admin),
        "range-digits": lambda: send_body(
            f"{base}modelvault/hf/models/{repo}/resolve/main/{file}",
            {"Authorization": f"Bearer {token}", "Range": "bytes=" + "9" * 8000 + "-"},
            0,
            method="GET",
        ),
    }


def run(base: str, token: str, repo: str, body_bytes: int, copies: int) -> dict[str, object]:
    """Every attack ``copies`` times at once; returns the statuses seen per attack."""
    seen: dict[str, list[int | None]] = {}
    lock = threading.Lock()

    def one(name: str, attack: Callable[[], bytes]) -> None:
        status = status_of(attack())
        with lock:
            seen.setdefault(name, []).append(status)

    started = time.monotonic()
    threads = [
        threading.Thread(target=one, args=item)
        for item in attacks(base, token, repo, body_bytes).items()
        for _ in range(copies)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"seconds": round(time.monotonic() - started, 2), "statuses": seen}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("base_url", help="server root, ending with '/'")
    parser.add_argument("token", help="an admin token (for the authenticated attacks)")
    parser.add_argument("repo", help="an existing Hub repository id in the 'models' repository")
    parser.add_argument("--body-bytes", type=int, default=200 * MiB)
    parser.add_argument("--copies", type=int, default=2)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.base_url, args.token, args.repo, args.body_bytes, args.copies)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
