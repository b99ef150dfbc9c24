"""HTTP implementation of :class:`~modelvault_jlab.core.pypi.ports.PypiUpstream`: project pages
through httpx, files through the streaming reader of :mod:`.http_stream` (large wheels).

Security: the client never forwards anything of the incoming request. ``trust_env=False`` keeps
the server account's ``~/.netrc`` and proxy variables out. A repository's upstream credentials go
in an ``Authorization`` header, never in a URL (httpx logs request URLs), and only to URLs on the
index's own origin: files on another host and redirects away from the origin get none. Error
messages name the upstream by :func:`safe_url` only.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from ..core.pypi.ports import PypiUpstream, UpstreamCredentials, UpstreamFile, UpstreamPage
from ..core.upstream_proxy import ProxyAddress
from ..core.urls import safe_url
from ..errors import UpstreamUnavailableError
from ..storage.ingest import PieceSink, ReadInto
from .egress import EgressGuard, guarded_transport
from .http_stream import HttpStreamer, StreamError
from .log_filter import mask_client_logs
from .proxy import PROXY_EXTENSION, ProxyRoute
from .pypi_parse import parse_page
from .tls import SharedTrust

# What pip/uv send: JSON first, HTML accepted (shared/pypi-protocol.md §2).
PAGE_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.01"
)
MAX_PAGE_BYTES = 64 * 1024 * 1024


def _failure(
    url: str, exc: httpx.HTTPError, timeout: float, during: str
) -> UpstreamUnavailableError:
    where = safe_url(url)
    if isinstance(exc, httpx.TimeoutException):
        return UpstreamUnavailableError(
            f"upstream {where} timed out after {timeout:g}s {during}", upstream=where
        )
    detail = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
    return UpstreamUnavailableError(
        f"upstream {where} failed {during}: {type(exc).__name__}: {detail}", upstream=where
    )


def _status_error(url: str, status: int, phrase: str) -> UpstreamUnavailableError:
    where = safe_url(url)
    return UpstreamUnavailableError(
        f"upstream {where} answered HTTP {status} {phrase}".rstrip(),
        upstream=where,
        status=status,
    )


def _stream_failure(url: str, exc: StreamError, timeout: float) -> UpstreamUnavailableError:
    where = safe_url(url)
    if exc.timed_out:
        return UpstreamUnavailableError(
            f"upstream {where} timed out after {timeout:g}s during the file transfer",
            upstream=where,
        )
    return UpstreamUnavailableError(
        f"upstream {where} failed during the file transfer: {exc.reason}", upstream=where
    )


def _authorization(url: str, auth: UpstreamCredentials | None) -> dict[str, str]:
    if auth is None or not auth.applies_to(url):
        return {}
    pair = f"{auth.username}:{auth.password}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}


class HttpxPypiUpstream(PypiUpstream):
    def __init__(
        self, *, user_agent: str, max_connections: int = 32, guard: EgressGuard | None = None
    ) -> None:
        self._user_agent = user_agent
        self._max_connections = max_connections
        self._client: httpx.AsyncClient | None = None
        self._trust = SharedTrust()
        mask_client_logs()
        self._guard = guard or EgressGuard()
        self._streamer = HttpStreamer(
            user_agent=user_agent, max_clients=max_connections, trust=self._trust, guard=self._guard
        )

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                follow_redirects=True,
                trust_env=False,
                headers={"User-Agent": self._user_agent},
                transport=guarded_transport(
                    self._guard,
                    verify=self._trust(),
                    limits=httpx.Limits(max_connections=self._max_connections),
                ),
            )
        return self._client

    async def fetch_page(
        self,
        url: str,
        *,
        etag: str | None,
        timeout: float,
        auth: UpstreamCredentials | None = None,
        proxy: ProxyAddress | None = None,
    ) -> UpstreamPage:
        # httpx drops Authorization on a redirect to another origin (not on http -> https).
        headers = {"Accept": PAGE_ACCEPT, **_authorization(url, auth)}
        if etag:
            headers["If-None-Match"] = etag
        client = self._http()
        try:
            async with client.stream(
                "GET",
                url,
                headers=headers,
                timeout=httpx.Timeout(timeout),
                extensions={PROXY_EXTENSION: ProxyRoute.of(proxy)} if proxy else None,
            ) as response:
                if response.status_code == 304:
                    return UpstreamPage(304, etag)
                if response.status_code in (404, 410):
                    return UpstreamPage(404)
                if response.status_code != 200:
                    raise _status_error(url, response.status_code, response.reason_phrase)
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_PAGE_BYTES:
                        raise UpstreamUnavailableError(
                            f"upstream {safe_url(url)} sent a page larger than "
                            f"{MAX_PAGE_BYTES} bytes"
                        )
                final_url = str(response.url)
                content_type = response.headers.get("Content-Type", "")
                new_etag = response.headers.get("ETag")
        except httpx.HTTPError as exc:
            raise _failure(url, exc, timeout, "while fetching the project page") from None
        try:
            links = parse_page(bytes(body), content_type, final_url)
        except UpstreamUnavailableError as exc:
            raise UpstreamUnavailableError(
                f"upstream {safe_url(url)} sent a malformed index page: {exc.message}"
            ) from None
        return UpstreamPage(200, new_etag, links)

    @asynccontextmanager
    async def open_file(
        self,
        url: str,
        *,
        timeout: float,
        auth: UpstreamCredentials | None = None,
        proxy: ProxyAddress | None = None,
    ) -> AsyncIterator[UpstreamFile]:
        # Files go through the streaming reader (large wheels); pages stay on httpx. The reader
        # drops Authorization on a redirect to another origin.
        headers = {"Accept-Encoding": "identity", **_authorization(url, auth)}
        try:
            route = ProxyRoute.of(proxy) if proxy is not None else None
            async with self._streamer.get(url, headers, timeout=timeout, proxy=route) as response:
                if response.status != 200:
                    raise _status_error(url, response.status, response.reason)
                length = response.headers.get("Content-Length")
                encoded = response.headers.get("Content-Encoding", "identity") != "identity"
                size = int(length) if length and length.isdigit() and not encoded else None
                yield UpstreamFile(
                    size,
                    self._chunks(response.chunks, url, timeout),
                    self._into(response.into, url, timeout),
                )
        except StreamError as exc:
            raise _stream_failure(url, exc, timeout) from None

    @staticmethod
    def _into(into: ReadInto, url: str, timeout: float) -> ReadInto:
        async def read(sink: PieceSink) -> None:
            try:
                await into(sink)
            except StreamError as exc:
                raise _stream_failure(url, exc, timeout) from None

        return read

    @staticmethod
    async def _chunks(
        chunks: AsyncIterator[bytes], url: str, timeout: float
    ) -> AsyncIterator[bytes]:
        try:
            async for chunk in chunks:
                yield chunk
        except StreamError as exc:
            raise _stream_failure(url, exc, timeout) from None

    async def fetch_small(
        self,
        url: str,
        *,
        limit: int,
        timeout: float,
        auth: UpstreamCredentials | None = None,
        proxy: ProxyAddress | None = None,
    ) -> bytes:
        async with self.open_file(url, timeout=timeout, auth=auth, proxy=proxy) as body:
            data = bytearray()
            async for chunk in body.chunks:
                data += chunk
                if len(data) > limit:
                    raise UpstreamUnavailableError(
                        f"upstream {safe_url(url)} sent more than {limit} bytes of metadata"
                    )
        if body.size is not None and len(data) != body.size:
            raise UpstreamUnavailableError(f"upstream {safe_url(url)} sent a truncated document")
        return bytes(data)

    async def aclose(self) -> None:
        self._streamer.close()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
