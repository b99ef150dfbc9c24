"""Download a file from an upstream Xet server (huggingface.co or another ModelVault) through its
reconstruction, with parallel ranged xorb fetches, every chunk decompressed and hashed.

The upstream's resolve HEAD says the file is Xet-stored (``X-Xet-Hash``) and where to get a read
token (``Link: <…>; rel="xet-auth"``). The token route answers ``{accessToken, exp, casUrl}``;
``{casUrl}/v2/reconstructions/{file hash}`` lists the file's terms (chunk ranges of xorbs) and,
per xorb, fetch URLs with the serialized byte ranges that hold them. The ranges are fetched in
pieces of at most :data:`PIECE_BYTES`, :data:`PARALLEL` at a time (bounded memory whatever the
file size), the chunks are decoded in file order and their hashes collected: the file hash is the
merkle root over those (hash, size) pairs, so at the end one comparison with ``X-Xet-Hash``
proves every chunk; a mismatch fails the transfer like a wrong sha256 does (the caller discards
what it wrote). The caller still checks the sha256 of the stream against the upstream's oid.

Every number read from the upstream's JSON is checked before it drives a request or a loop:
ranges must be ordered, inside the file size and inside the xorb limits; the term count is
bounded by the file size.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import itertools
import json
import struct
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urljoin

import httpx

from ..core.xet.assemble import XetContentError
from ..core.xet.hashing import chunk_hash, file_hash, hash_to_string, string_to_hash
from ..core.xet.remote import RemoteXetCache
from ..core.xet.xorb import (
    CHUNK_HEADER_BYTES,
    MAX_COMPRESSED_CHUNK_BYTES,
    MAX_SERIALIZED_XORB_BYTES,
    XorbFormatError,
    decode_chunk,
)
from ..errors import BlobNotFoundError
from ..ids import Sha256

PIECE_BYTES = 8 * 1024 * 1024
PARALLEL = 4
MAX_PLAN_BYTES = 64 * 1024 * 1024
MAX_TOKEN_BYTES = 64 * 1024
_U24 = struct.Struct("<I")


class XetFetchError(Exception):
    """The upstream's Xet answers are unusable (malformed, refused, or the bytes do not verify)."""


class _RefusedError(XetFetchError):
    """HTTP 403: for a fetch URL, expired (re-query the reconstruction once)."""


@dataclass(frozen=True)
class XetPointer:
    """What the upstream's resolve HEAD says about a Xet-stored file."""

    file_hash: str
    size: int
    token_url: str

    @classmethod
    def from_head(cls, response: httpx.Response) -> XetPointer | None:
        """The pointer in a resolve HEAD answer; None when the file is not served by Xet."""
        raw_hash = response.headers.get("X-Xet-Hash", "")
        auth = response.links.get("xet-auth", {}).get("url") or response.headers.get(
            "X-Xet-Refresh-Route"
        )
        size = response.headers.get("X-Linked-Size") or response.headers.get("Content-Length")
        if not raw_hash or not auth or not size or not size.isdigit():
            return None
        try:
            string_to_hash(raw_hash)
        except ValueError:
            return None
        token_url = httpx.URL(urljoin(str(response.url), auth))
        if (token_url.scheme, token_url.host, token_url.port) != (
            response.url.scheme,
            response.url.host,
            response.url.port,
        ):
            return None  # the remote's Hub token goes to its own upstream only, never elsewhere
        return cls(raw_hash, int(size), str(token_url))


@dataclass(frozen=True)
class _Term:
    """Chunks ``[skip, skip + count)`` of the serialized bytes ``[start, end]`` at ``url``: chunks
    ``[first, first + count)`` of the upstream's xorb ``xorb``."""

    url: str
    start: int
    end: int
    skip: int
    count: int
    unpacked: int
    xorb: str = ""
    first: int = 0

    def same_chunks(self, other: _Term) -> bool:
        return (self.xorb, self.first, self.count, self.unpacked) == (
            other.xorb,
            other.first,
            other.count,
            other.unpacked,
        )


def _int(value: Any, what: str, low: int = 0, high: int = 1 << 62) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise XetFetchError(f"reconstruction: bad {what}: {value!r}")
    return value


def plan_terms(plan: Any, size: int) -> list[_Term]:
    """The terms of a v2 reconstruction of a whole file of ``size`` bytes, each with the fetch
    range that holds it. Anything out of shape or out of bounds raises XetFetchError."""
    if not isinstance(plan, dict) or not isinstance(plan.get("terms"), list):
        raise XetFetchError("reconstruction: no terms")
    if _int(plan.get("offset_into_first_range", 0), "offset") != 0:
        raise XetFetchError("reconstruction of a whole file starts inside a chunk")
    xorbs = plan.get("xorbs")
    if not isinstance(xorbs, dict):
        raise XetFetchError("reconstruction: no xorbs")
    # every term holds at least one byte: more terms than bytes is a lie
    if len(plan["terms"]) > max(size, 1):
        raise XetFetchError("reconstruction: more terms than bytes")
    out: list[_Term] = []
    total = 0
    for term in plan["terms"]:
        if not isinstance(term, dict) or not isinstance(term.get("range"), dict):
            raise XetFetchError("reconstruction: malformed term")
        xorb = term.get("hash")
        if not isinstance(xorb, str):
            raise XetFetchError("reconstruction: a term without a xorb hash")
        start = _int(term["range"].get("start"), "chunk start")
        end = _int(term["range"].get("end"), "chunk end", start + 1)
        unpacked = _int(term.get("unpacked_length"), "unpacked length", 1, size)
        try:
            string_to_hash(xorb)
        except ValueError:
            raise XetFetchError(f"reconstruction: bad xorb hash {xorb[:80]!r}") from None
        fetches = xorbs.get(xorb)
        if not isinstance(fetches, list):
            raise XetFetchError(f"reconstruction: no fetch info for xorb {xorb!r}")
        out.append(replace(_covering(fetches, start, end, unpacked), xorb=xorb, first=start))
        total += unpacked
    if total != size:
        raise XetFetchError(f"reconstruction: terms hold {total} bytes, the file has {size}")
    return out


def _covering(fetches: list[Any], start: int, end: int, unpacked: int) -> _Term:
    for fetch in fetches:
        if not isinstance(fetch, dict) or not isinstance(fetch.get("url"), str):
            continue
        for r in fetch.get("ranges") or ():
            if not isinstance(r, dict):
                continue
            chunks, span = r.get("chunks"), r.get("bytes")
            if not isinstance(chunks, dict) or not isinstance(span, dict):
                continue
            c0 = _int(chunks.get("start"), "fetch chunk start")
            c1 = _int(chunks.get("end"), "fetch chunk end", c0 + 1)
            if c0 <= start and end <= c1:
                b0 = _int(span.get("start"), "fetch byte start", 0, MAX_SERIALIZED_XORB_BYTES)
                b1 = _int(span.get("end"), "fetch byte end", b0, MAX_SERIALIZED_XORB_BYTES)
                return _Term(fetch["url"], b0, b1, start - c0, end - start, unpacked)
    raise XetFetchError(f"reconstruction: no fetch range covers chunks [{start}, {end})")


class XetDownloader:
    """Downloads Xet-stored files of one upstream; ``hub_headers`` carry its Hub token."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        hub_headers: Mapping[str, str],
        timeout: float,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        self._client = client
        self._hub_headers = dict(hub_headers)
        self._timeout = timeout
        self._extensions = extensions  # the remote's own proxy, as for its other requests

    async def _get(self, url: str, headers: Mapping[str, str], what: str, limit: int) -> bytes:
        """The body of a 200/206 answer, refused as soon as it passes ``limit`` bytes (an
        upstream's answer is never read whole before its size is known to be sane)."""
        try:
            async with self._client.stream(
                "GET",
                url,
                headers={**headers, "Accept-Encoding": "identity"},
                timeout=self._timeout,
                extensions=self._extensions,
            ) as response:
                if response.status_code == 403:
                    raise _RefusedError(f"{what}: HTTP 403")
                if response.status_code not in (200, 206):
                    raise XetFetchError(f"{what}: HTTP {response.status_code}")
                # pieces joined once at the end: a growing bytearray re-copies itself ~8 times
                pieces: list[bytes] = []
                received = 0
                async for piece in response.aiter_raw():
                    pieces.append(piece)
                    received += len(piece)
                    if received > limit:
                        raise XetFetchError(f"{what}: answer larger than {limit} bytes")
                return b"".join(pieces)
        except httpx.HTTPError as exc:
            raise XetFetchError(f"{what}: {type(exc).__name__}") from None

    def _get_json(self, body: bytes, what: str) -> Any:
        try:
            return json.loads(body)
        except ValueError:
            raise XetFetchError(f"{what}: not JSON") from None

    async def plan(self, pointer: XetPointer) -> list[_Term]:
        """The file's terms and where to fetch them (read token, then the v2 reconstruction)."""
        what = "Xet read token"
        token = self._get_json(
            await self._get(pointer.token_url, self._hub_headers, what, MAX_TOKEN_BYTES), what
        )
        if not isinstance(token, dict):
            raise XetFetchError("Xet read token: not a JSON object")
        access, cas = token.get("accessToken"), token.get("casUrl")
        if not isinstance(access, str) or not isinstance(cas, str):
            raise XetFetchError("Xet read token: no accessToken/casUrl")
        url = f"{cas.rstrip('/')}/v2/reconstructions/{pointer.file_hash}"
        what = "reconstruction"
        body = await self._get(url, {"Authorization": f"Bearer {access}"}, what, MAX_PLAN_BYTES)
        return plan_terms(self._get_json(body, what), pointer.size)

    async def _piece(self, url: str, start: int, end: int) -> bytes:
        size = end - start + 1
        body = await self._get(url, {"Range": f"bytes={start}-{end}"}, "xorb fetch", size)
        if len(body) != size:
            raise XetFetchError(f"xorb fetch: {len(body)} bytes for a {size}-byte range")
        return body

    async def stream(
        self, pointer: XetPointer, terms: list[_Term], cache: RemoteXetCache | None = None
    ) -> AsyncIterator[bytes]:
        """The file's bytes in order; raises XetFetchError if anything does not verify.

        With a ``cache``, terms whose chunks it holds are read locally, the others fetched and
        staged; the staged chunks are registered only once the whole file verified."""
        terms = list(terms)
        local = [
            None if cache is None else cache.cached(t.xorb, t.first, t.first + t.count, t.unpacked)
            for t in terms
        ]
        staging = cache.staging() if cache is not None else None
        fetch = _Fetches(self, terms, local, budget=FETCH_FACTOR * pointer.size + FETCH_SLACK)
        hashes: list[tuple[bytes, int]] = []
        sha256 = hashlib.sha256()
        committed = False
        try:
            i = done = 0  # term; chunks of it already produced (kept across a URL refresh)
            refreshed = False
            while i < len(terms):
                term, held = terms[i], local[i]
                if held is not None:  # served from the cache, every chunk hashed again
                    chunks = cache.read(held) if cache is not None else iter(())
                    while batch := await asyncio.to_thread(_take, chunks, _READ_BATCH):
                        for raw in batch:
                            hashes.append((chunk_hash(raw), len(raw)))
                            sha256.update(raw)
                            yield raw
                    if staging is not None:
                        staging.use(held)
                    i += 1
                    continue
                try:
                    async for n, data in fetch.term_chunks(i):
                        if n < done:
                            continue
                        raw = decode_chunk(data)
                        digest = chunk_hash(raw)
                        hashes.append((digest, len(raw)))
                        sha256.update(raw)
                        if staging is not None:
                            staging.add(term.xorb, term.first + n, data, digest, len(raw))
                        done += 1
                        yield raw
                except _RefusedError:
                    if refreshed:
                        raise XetFetchError(
                            "xorb fetch: HTTP 403 again after a fresh reconstruction"
                        ) from None
                    refreshed = True  # the URLs expired: ask once for new ones (below)
                else:
                    i, done = i + 1, 0
                    continue
                fresh = await self.plan(pointer)
                if len(fresh) != len(terms) or not all(
                    a.same_chunks(b) for a, b in zip(fresh, terms, strict=True)
                ):
                    raise XetFetchError("reconstruction changed while the file was fetched")
                terms[:] = fresh
                fetch.restart(i)
            if hash_to_string(file_hash(hashes)) != pointer.file_hash:
                raise XetFetchError("the chunks do not hash to the file's Xet hash")
            if staging is not None:
                await asyncio.to_thread(
                    staging.commit, pointer.file_hash, Sha256(sha256.hexdigest()), pointer.size
                )
                committed = True
        except XorbFormatError as exc:
            raise XetFetchError(f"xorb fetch: {exc}") from None
        except (XetContentError, BlobNotFoundError) as exc:  # a cached xorb lost or damaged
            raise XetFetchError(f"cached chunks: {exc}") from None
        finally:
            fetch.cancel()
            if staging is not None and not committed:
                staging.abort()


FETCH_FACTOR = 4
FETCH_SLACK = 256 * 1024 * 1024
"""Bytes one file may fetch: ``FETCH_FACTOR * size + FETCH_SLACK``. A term fetches the whole
range that covers it, so a plan whose terms all point into one big range could otherwise make a
small file fetch without end."""
_READ_BATCH = 64
"""Cached chunks read per worker-thread hop (about 4 MiB)."""


def _take(chunks: Iterator[bytes], n: int) -> list[bytes]:
    return list(itertools.islice(chunks, n))


class _Fetches:
    """The ranged fetches of the terms not held locally, in file order, :data:`PARALLEL` pieces
    in flight (bounded memory whatever the file size)."""

    def __init__(
        self, downloader: XetDownloader, terms: list[_Term], local: list[Any], budget: int
    ) -> None:
        self._downloader = downloader
        self._terms = terms
        self._local = local
        self._budget = budget
        self._window: collections.deque[tuple[int, int, int, asyncio.Task[bytes]]] = (
            collections.deque()
        )
        self._pieces: Iterator[tuple[int, int, int]] = iter(())
        self.restart(0)

    def restart(self, first: int) -> None:
        """Forget the pieces in flight and fetch again from term ``first`` (new URLs)."""
        self.cancel()
        self._pieces = (
            (i, start, min(start + PIECE_BYTES - 1, t.end))
            for i, t in enumerate(self._terms)
            if i >= first and self._local[i] is None
            for start in range(t.start, t.end + 1, PIECE_BYTES)
        )

    def _refill(self) -> None:
        while len(self._window) < PARALLEL and (piece := next(self._pieces, None)) is not None:
            i, start, end = piece
            self._budget -= end - start + 1
            if self._budget < 0:
                raise XetFetchError("reconstruction: its ranges add up to far more than the file")
            task = asyncio.ensure_future(self._downloader._piece(self._terms[i].url, start, end))
            self._window.append((i, start, end, task))

    async def term_chunks(self, i: int) -> AsyncIterator[tuple[int, bytes]]:
        """``(n, serialized chunk)`` for the term's chunks ``n = 0 … count-1``, in order."""
        term = self._terms[i]
        buffer = bytearray()
        index = produced = 0
        self._refill()
        while self._window and self._window[0][0] == i:
            _, _, end, task = self._window.popleft()
            self._refill()
            buffer += await task
            for data in _complete_chunks(buffer):
                if term.skip <= index < term.skip + term.count:
                    produced += 1
                    yield index - term.skip, data
                index += 1
            if end == term.end:
                if buffer or produced != term.count:
                    raise XetFetchError("xorb fetch: the range does not hold the term's chunks")
                return
        raise XetFetchError("xorb fetch: the range does not hold the term's chunks")

    def cancel(self) -> None:
        for *_, task in self._window:
            task.cancel()
        self._window.clear()


def _complete_chunks(buffer: bytearray) -> list[bytes]:
    """Remove the whole serialized chunks at the front of ``buffer`` and return them."""
    out: list[bytes] = []
    pos = 0
    while len(buffer) - pos >= CHUNK_HEADER_BYTES:
        comp_len = _U24.unpack(bytes(buffer[pos + 1 : pos + 4]) + b"\0")[0]
        if comp_len > MAX_COMPRESSED_CHUNK_BYTES:
            raise XetFetchError(f"xorb fetch: chunk of {comp_len} compressed bytes")
        end = pos + CHUNK_HEADER_BYTES + comp_len
        if end > len(buffer):
            break
        out.append(bytes(buffer[pos:end]))
        pos = end
    del buffer[:pos]
    return out
