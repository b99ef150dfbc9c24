"""A real HTTP proxy on 127.0.0.1 in front of an upstream, that misbehaves on request.

It forwards everything to the upstream unchanged, counts file downloads, and for ``/resolve/``
GETs can: reset the connection mid-file, send fewer bytes than announced, flip a byte, stall
(hang) after the first bytes, or answer 500/429. Tests use it to prove that ModelVault never
serves or caches a partial or unverified file.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import httpx

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-encoding", "content-length"}


class FaultyProxy:
    def __init__(self, upstream_root: str) -> None:
        self.upstream_root = upstream_root.rstrip("/")
        self.mode = "ok"
        self.stall_seconds = 0.0
        self.resolve_gets: Counter[str] = Counter()
        self.requests = 0
        self.release = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_HEAD(self) -> None:
                self._forward(body=False)

            def do_GET(self) -> None:
                self._forward(body=True)

            def do_POST(self) -> None:
                self._forward(body=True)

            def _forward(self, body: bool) -> None:
                proxy.requests += 1
                is_file = "/resolve/" in self.path and self.command == "GET"
                if proxy.mode == "down":
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if is_file:
                    proxy.resolve_gets[urlsplit(self.path).path] += 1
                    if proxy.mode in ("500", "429"):
                        self.send_response(int(proxy.mode))
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length) if length else None
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("host", "content-length")
                }
                with httpx.Client(timeout=60) as client:
                    r = client.request(
                        self.command, proxy.upstream_root + self.path, headers=headers, content=data
                    )
                content = r.content
                self.send_response(r.status_code)
                for k, v in r.headers.items():
                    if k.lower() not in HOP_BY_HOP:
                        self.send_header(k, v)
                announced = r.headers.get("Content-Length", "0") if not body else str(len(content))
                self.send_header("Content-Length", announced)
                self.end_headers()
                if not body:
                    return
                if is_file and proxy.mode != "ok":
                    self._misbehave(content)
                else:
                    self.wfile.write(content)

            def _misbehave(self, content: bytes) -> None:
                half = len(content) // 2
                if proxy.mode == "reset":
                    self.wfile.write(content[:half])
                    self.wfile.flush()
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
                    self.connection.close()
                elif proxy.mode == "short":
                    self.wfile.write(content[:-100])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                elif proxy.mode == "wrong":
                    corrupted = bytearray(content)
                    corrupted[half] ^= 0xFF
                    self.wfile.write(bytes(corrupted))
                elif proxy.mode == "stall":
                    self.wfile.write(content[:half])
                    self.wfile.flush()
                    proxy.release.wait(proxy.stall_seconds or 60)
                    self.wfile.write(content[half:])
                elif proxy.mode == "hang":
                    self.wfile.write(content[: min(half, 1024)])
                    self.wfile.flush()
                    time.sleep(proxy.stall_seconds or 30)
                    self.connection.shutdown(socket.SHUT_RDWR)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
