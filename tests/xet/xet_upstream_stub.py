"""A small Xet upstream over real HTTP (a thread in the test process) that can be told to lie:
resolve HEAD/GET, the read-token route, v2 reconstructions and ranged fetch URLs, for files made
of fixed-size chunks in xorbs built with ``core/xet/xorb.build_xorb``. Faults are set per test
on :attr:`XetUpstreamStub.fault`."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from modelvault_jlab.core.xet.hashing import chunk_hash, file_hash, hash_to_string
from modelvault_jlab.core.xet.xorb import CHUNK_HEADER_BYTES, build_xorb


@dataclass
class StubXorb:
    serialized: bytes
    offsets: list[int]
    """Serialized start of each chunk, plus the end."""
    raws: list[bytes]


@dataclass
class StubFile:
    data: bytes
    file_hash: str
    terms: list[tuple[str, int, int, int]]
    """(xorb hash, chunk start, chunk end, unpacked)."""


@dataclass
class XetUpstreamStub:
    xorbs: dict[str, StubXorb] = field(default_factory=dict)
    files: dict[str, StubFile] = field(default_factory=dict)
    fault: str = ""
    """"" | "bad-chunk" | "403-once" | "403" | "stop" | "lie-sizes" | "absurd-range" |
    "range-not-holding" | "absurd-chunks"."""
    plans: int = 0
    fetched: int = 0
    url: str = ""

    def add_xorb(self, chunks: Sequence[bytes]) -> str:
        serialized, digest = build_xorb(list(chunks))
        offsets = [0]
        for c in chunks:
            offsets.append(offsets[-1] + CHUNK_HEADER_BYTES + len(c))  # scheme 0: stored as is
        name = hash_to_string(digest)
        self.xorbs[name] = StubXorb(serialized, offsets, list(chunks))
        return name

    def add_file(self, path: str, terms: list[tuple[str, int, int]]) -> StubFile:
        raws = [c for x, a, b in terms for c in self.xorbs[x].raws[a:b]]
        data = b"".join(raws)
        digest = hash_to_string(file_hash([(chunk_hash(c), len(c)) for c in raws]))
        full = [(x, a, b, sum(map(len, self.xorbs[x].raws[a:b]))) for x, a, b in terms]
        record = StubFile(data, digest, full)
        self.files[path] = record
        return record

    def plan(self, f: StubFile) -> dict[str, Any]:
        self.plans += 1
        terms: list[dict[str, Any]] = []
        xorbs: dict[str, list[dict[str, Any]]] = {}
        for x, a, b, n in f.terms:
            offs = self.xorbs[x].offsets
            span = {"start": offs[a], "end": offs[b] - 1}
            if self.fault == "absurd-chunks":  # a chunk count no xorb has, the bytes unchanged
                b = 1 << 61
            terms.append({"hash": x, "unpacked_length": n, "range": {"start": a, "end": b}})
            if self.fault == "absurd-range":
                span = {"start": 0, "end": 1 << 40}
            if self.fault == "range-not-holding":
                span = {"start": offs[a], "end": offs[b] - 2}
            xorbs.setdefault(x, []).append(
                {
                    "url": f"{self.url}/cas/fetch/{x}",
                    "ranges": [{"chunks": {"start": a, "end": b}, "bytes": span}],
                }
            )
        if self.fault == "lie-sizes":
            terms[-1]["unpacked_length"] += 1
        return {"offset_into_first_range": 0, "terms": terms, "xorbs": xorbs}


class _Handler(BaseHTTPRequestHandler):
    stub: XetUpstreamStub

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        stub = self.stub
        path = self.path.split("?")[0]
        if "/resolve/" in path:
            f = stub.files.get(path.rsplit("/", 1)[-1])
            if f is None:
                return self._send(404, headers={"X-Error-Code": "EntryNotFound"})
            repo = path.split("/resolve/")[0]
            return self._send(
                200,
                f.data,
                {
                    "X-Xet-Hash": f.file_hash,
                    "X-Linked-Size": str(len(f.data)),
                    "Link": f'<{stub.url}/api/models{repo}/xet-read-token/c0>; rel="xet-auth"',
                },
            )
        if "/xet-read-token/" in path:
            token = {"accessToken": "t", "exp": 2**31, "casUrl": f"{stub.url}/cas"}
            return self._send(200, json.dumps(token).encode())
        if path.startswith("/cas/v2/reconstructions/"):
            wanted = path.rsplit("/", 1)[-1]
            for f in stub.files.values():
                if f.file_hash == wanted:
                    return self._send(200, json.dumps(stub.plan(f)).encode())
            return self._send(404)
        if path.startswith("/cas/fetch/"):
            return self._fetch(path.rsplit("/", 1)[-1])
        return self._send(404)

    def _fetch(self, xorb: str) -> None:
        stub = self.stub
        if stub.fault == "403" or (stub.fault == "403-once" and stub.plans < 2):
            return self._send(403)
        spec = self.headers.get("Range", "")[len("bytes=") :]
        a, b = (int(v) for v in spec.split("-"))
        body = stub.xorbs[xorb].serialized[a : b + 1]
        if len(body) != b - a + 1:
            return self._send(416)
        stub.fetched += len(body)
        if stub.fault == "bad-chunk":  # one payload byte flipped: every header still parses
            i = CHUNK_HEADER_BYTES + 3
            body = body[:i] + bytes([body[i] ^ 1]) + body[i + 1 :]
        if stub.fault == "stop":  # the upstream dies half way through the body
            self.send_response(206)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return None
        return self._send(206, body)


@contextmanager
def serving(stub: XetUpstreamStub) -> Iterator[XetUpstreamStub]:
    handler = type("Handler", (_Handler,), {"stub": stub})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
