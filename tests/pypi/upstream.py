"""A fault-injecting PEP 503/691 upstream on 127.0.0.1 (a real HTTP server in a thread).

Each test registers a *scenario* (its own URL prefix, files and misbehaviour) and points a
pypi-remote repository at ``index.url(scenario)``. Every request is counted, so tests can assert
exactly how often ModelVault went upstream.

Page modes: ``json``, ``html``, ``500``, ``429``, ``malformed``, ``hang``, ``404``.
File modes: ``ok``, ``reset`` (RST after half the body), ``short`` (FIN after half the body, with
the full Content-Length announced), ``wrong`` (same length, different bytes), ``hang``, ``500``,
``gate`` (half the body, then wait for ``scenario.gate``).

``auth``: the ``Authorization`` a scenario requires on 127.0.0.1 (401 otherwise); ``localhost``
stands for another origin (a CDN) that requires nothing. ``files_base``: an absolute base for the
file URLs of pages; ``redirect_files``: a base that file requests are redirected to (302).
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import socket
import struct
import threading
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from urllib.parse import unquote, urlsplit


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _project_of(filename: str) -> str:
    return norm(filename.split("-")[0])


def _metadata(data: bytes) -> bytes | None:
    try:
        with zipfile.ZipFile(BytesIO(data)) as z:
            for n in z.namelist():
                if n.count("/") == 1 and n.endswith(".dist-info/METADATA"):
                    return z.read(n)
    except zipfile.BadZipFile:
        return None
    return None


@dataclass
class Scenario:
    files: dict[str, bytes]
    page: str = "json"
    file: str = "ok"
    metadata: bool = True
    yanked: dict[str, str] = field(default_factory=dict)
    etag: bool = True
    gate: threading.Event = field(default_factory=threading.Event)
    auth: str | None = None
    files_base: str | None = None
    redirect_files: str | None = None


class FaultyIndex:
    def __init__(self) -> None:
        self.scenarios: dict[str, Scenario] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[dict[str, str | None]] = []
        self.stop_event = threading.Event()
        self._lock = threading.Lock()
        index = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                index.handle(self)

            def do_HEAD(self) -> None:
                index.handle(self)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # broken connections are what this server is for

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stop_event.set()
        for s in self.scenarios.values():
            s.gate.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def add(self, name: str, files: dict[str, bytes], **options: object) -> Scenario:
        scenario = Scenario(files=files, **options)  # type: ignore[arg-type]
        self.scenarios[name] = scenario
        return scenario

    def url(self, scenario: str) -> str:
        return f"http://127.0.0.1:{self.port}/{scenario}/simple/"

    def count(self, scenario: str, kind: str, name: str = "") -> int:
        with self._lock:
            return sum(n for k, n in self.hits.items() if k.startswith(f"{scenario} {kind} {name}"))

    # -- serving --
    def handle(self, h: BaseHTTPRequestHandler) -> None:
        path = urlsplit(h.path).path
        parts = [unquote(p) for p in path.split("/")]
        with self._lock:
            self.requests.append(
                {
                    "path": h.path,
                    "host": h.headers.get("Host"),
                    "auth": h.headers.get("Authorization"),
                    "inm": h.headers.get("If-None-Match"),
                }
            )
        if len(parts) < 4 or parts[1] not in self.scenarios:
            return self._send(h, 404, b"no such scenario", "text/plain")
        s, kind = self.scenarios[parts[1]], parts[2]
        on_index = str(h.headers.get("Host", "")).startswith("127.0.0.1")
        if s.auth and on_index and h.headers.get("Authorization") != s.auth:
            return self._send(h, 401, b"credentials required", "text/plain")
        if kind == "files" and s.redirect_files and on_index:
            location = s.redirect_files + "/".join(parts[3:])
            return self._send(h, 302, b"", "text/plain", {"Location": location})
        if kind == "simple" and len(parts) >= 4 and parts[3]:
            with self._lock:
                self.hits[f"{parts[1]} page {parts[3]}"] += 1
            return self._page(h, s, parts[3])
        if kind == "files":
            name = parts[3]
            is_meta = name.endswith(".metadata")
            with self._lock:
                self.hits[f"{parts[1]} {'meta' if is_meta else 'file'} {name}"] += 1
            return self._file(h, s, name)
        return self._send(h, 404, b"not found", "text/plain")

    def _send(
        self,
        h: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        ctype: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(body)

    def _hang(self) -> None:
        self.stop_event.wait(30)

    def _page(self, h: BaseHTTPRequestHandler, s: Scenario, project: str) -> None:
        mode = s.page
        if mode == "hang":
            return self._hang()
        if mode in ("500", "429"):
            return self._send(
                h,
                int(mode),
                b"upstream trouble",
                "text/plain",
                {"Retry-After": "1"} if mode == "429" else None,
            )
        if mode == "malformed":
            return self._send(
                h, 200, b'{"files": [ {"filename": ', "application/vnd.pypi.simple.v1+json"
            )
        files = {fn: d for fn, d in s.files.items() if _project_of(fn) == project}
        if not files or mode == "404":
            return self._send(h, 404, b"no such project", "text/plain")
        entries = []
        for fn, data in sorted(files.items()):
            meta = _metadata(data) if s.metadata else None
            m = re.search(rb"^Requires-Python: *(.+?)\s*$", meta or _metadata(data) or b"", re.M)
            entries.append(
                {
                    "filename": fn,
                    "url": f"{s.files_base}{fn}" if s.files_base else f"../../files/{fn}",
                    "hashes": {"sha256": hashlib.sha256(data).hexdigest()},
                    "size": len(data),
                    "upload-time": "2025-01-02T03:04:05.000000Z",
                    "requires-python": m.group(1).decode() if m else None,
                    "core-metadata": {"sha256": hashlib.sha256(meta).hexdigest()}
                    if meta
                    else False,
                    "yanked": s.yanked.get(fn, False),
                }
            )
        if mode == "html":
            rows = []
            for e in entries:
                attrs = ""
                if e["requires-python"]:
                    attrs += f' data-requires-python="{html.escape(str(e["requires-python"]))}"'
                if e["core-metadata"]:
                    attrs += f' data-core-metadata="sha256={e["core-metadata"]["sha256"]}"'
                if e["yanked"]:
                    attrs += f' data-yanked="{html.escape(str(e["yanked"]))}"'
                rows.append(
                    f'<a href="{e["url"]}#sha256={e["hashes"]["sha256"]}"{attrs}>'
                    f"{e['filename']}</a><br/>"
                )
            body = ("<!DOCTYPE html><html><body>" + "\n".join(rows) + "</body></html>").encode()
            ctype = "text/html; charset=utf-8"
        else:
            body = json.dumps(
                {"meta": {"api-version": "1.1"}, "name": project, "versions": [], "files": entries}
            ).encode()
            ctype = "application/vnd.pypi.simple.v1+json"
        headers = {}
        if s.etag:
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            headers["ETag"] = etag
            if h.headers.get("If-None-Match") == etag:
                h.send_response(304)
                h.send_header("ETag", etag)
                h.send_header("Content-Length", "0")
                h.end_headers()
                return None
        return self._send(h, 200, body, ctype, headers)

    def _file(self, h: BaseHTTPRequestHandler, s: Scenario, name: str) -> None:
        if name.endswith(".metadata"):
            data = s.files.get(name[: -len(".metadata")])
            meta = _metadata(data) if data is not None and s.metadata else None
            if meta is None:
                return self._send(h, 404, b"no metadata", "text/plain")
            return self._send(h, 200, meta, "application/octet-stream")
        data = s.files.get(name)
        if data is None:
            return self._send(h, 404, b"no such file", "text/plain")
        mode = s.file
        if mode == "hang":
            return self._hang()
        if mode == "500":
            return self._send(h, 500, b"boom", "text/plain")
        if mode == "wrong":
            return self._send(h, 200, bytes(b ^ 0xFF for b in data), "application/octet-stream")
        if mode == "ok":
            return self._send(h, 200, data, "application/octet-stream")
        # partial transfers: announce everything, send half
        h.send_response(200)
        h.send_header("Content-Type", "application/octet-stream")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        half = len(data) // 2
        h.wfile.write(data[:half])
        h.wfile.flush()
        if mode == "gate":
            s.gate.wait(60)
            time.sleep(0.05)
            h.wfile.write(data[half:])
            h.wfile.flush()
            return None
        if mode == "reset":  # RST instead of FIN
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        h.close_connection = True
        h.connection.close()
        return None
