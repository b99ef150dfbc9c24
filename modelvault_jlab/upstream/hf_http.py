"""Outbound HTTP to an upstream Hugging Face Hub (huggingface.co or another ModelVault).

Only this module talks to the upstream. It sends the repository's configured upstream token, never
anything from the client's request, and maps upstream answers onto the vault's error tree:
the Hub's ``X-Error-Code`` becomes RepoNotFound / RevisionNotFound / EntryNotFound, and network
failures, timeouts, 429 and 5xx become ``UpstreamUnavailableError`` naming the upstream (without
credentials).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from ..core.hub.ports import HubUpstream, UpstreamBody
from ..core.upstream_proxy import ProxyAddress
from ..core.xet.remote import RemoteXetCache
from ..errors import (
    EntryNotFoundError,
    PermissionDeniedError,
    RepoNotFoundError,
    RevisionNotFoundError,
    UpstreamError,
    UpstreamUnavailableError,
)
from ..storage.ingest import PieceSink
from .egress import EgressGuard, guarded_transport
from .http_stream import HttpStreamer, StreamError
from .log_filter import mask_client_logs
from .proxy import PROXY_EXTENSION, ProxyRoute
from .tls import SharedTrust
from .xet_http import XetDownloader, XetFetchError, XetPointer

_TYPE_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
MAX_TREE_PAGES = 10_000


def safe_origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: no credentials, no path, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}"


class HfUpstream(HubUpstream):
    """One upstream Hub endpoint (the part before ``/api``), with an optional token."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        streamer: HttpStreamer,
        endpoint: str,
        token: str | None,
        timeout: float,
        proxy: ProxyRoute | None = None,
        xet_cache: RemoteXetCache | None = None,
    ) -> None:
        self._client = client
        self._xet_cache = xet_cache
        self._proxy = proxy
        """The repository's own proxy: every request below goes through it."""
        self._streamer = streamer
        self.endpoint = endpoint.rstrip("/")
        self._token = token
        self._timeout = timeout
        self.name = safe_origin(endpoint)

    def _headers(self) -> dict[str, str]:
        headers = {"User-Agent": "modelvault", "X-HF-Download-Counter": "0"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    def _failure(self, exc: Exception, during: str) -> UpstreamUnavailableError:
        if isinstance(exc, httpx.TimeoutException) or (
            isinstance(exc, StreamError) and exc.timed_out
        ):
            reason = f"timed out after {self._timeout:g}s"
        elif isinstance(exc, StreamError):
            reason = exc.reason[:160]
        else:
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''}"
        return UpstreamUnavailableError(
            f"Upstream {self.name} unreachable while {during} ({reason.rstrip(': ')}).",
            upstream=self.name,
        )

    def _raise_for(
        self, status: int, headers: Mapping[str, str], during: str, commit: str | None = None
    ) -> None:
        if status < 400:
            return
        code = headers.get("X-Error-Code", "")
        message = headers.get("X-Error-Message") or f"HTTP {status}"
        text = f"Upstream {self.name}: {message}"
        if code == "EntryNotFound" or (status == 404 and code == "" and "resolve" in during):
            raise EntryNotFoundError(text, commit=commit or headers.get("X-Repo-Commit"))
        if code == "RevisionNotFound":
            raise RevisionNotFoundError(text)
        if code == "RepoNotFound" or status in (401, 404):
            raise RepoNotFoundError(text)
        if status == 403:  # gated or refused upstream: say so, with the upstream's reason
            raise PermissionDeniedError(text)
        raise UpstreamUnavailableError(
            f"Upstream {self.name} answered HTTP {status} while {during}.",
            upstream=self.name,
            status=status,
        )

    async def _get_json(
        self, url: str, during: str, params: dict[str, str] | None = None
    ) -> httpx.Response:
        try:
            response = await self._client.get(
                url,
                params=params,
                headers=self._headers(),
                timeout=self._timeout,
                extensions=self._proxy_extension(),
            )
        except httpx.HTTPError as exc:
            raise self._failure(exc, during) from None
        self._raise_for(response.status_code, response.headers, during)
        return response

    def _proxy_extension(self) -> dict[str, Any] | None:
        """The request extension that routes through this remote's own proxy, if it has one."""
        return {PROXY_EXTENSION: self._proxy} if self._proxy else None

    def _repo_api(self, repo_type: str, repo_id: str) -> str:
        return f"{self.endpoint}/api/{repo_type}s/{repo_id}"

    async def revision_info(self, repo_type: str, repo_id: str, revision: str) -> dict[str, Any]:
        url = f"{self._repo_api(repo_type, repo_id)}/revision/{quote(revision, safe='')}"
        response = await self._get_json(url, f"resolving {repo_id}@{revision}")
        data = _json(response, self.name)
        if not isinstance(data, dict) or not isinstance(data.get("sha"), str):
            raise UpstreamUnavailableError(f"Upstream {self.name} sent repo info without 'sha'.")
        return data

    async def tree(self, repo_type: str, repo_id: str, commit: str) -> list[dict[str, Any]]:
        """Every file of ``commit`` (recursive listing, following ``Link: rel=next``)."""
        url: str | None = f"{self._repo_api(repo_type, repo_id)}/tree/{commit}"
        params: dict[str, str] | None = {"recursive": "true", "expand": "false"}
        files: list[dict[str, Any]] = []
        for _ in range(MAX_TREE_PAGES):
            if url is None:
                return files
            response = await self._get_json(url, f"listing {repo_id}@{commit}", params)
            page = _json(response, self.name)
            if not isinstance(page, list):
                raise UpstreamUnavailableError(f"Upstream {self.name} sent a malformed tree page.")
            files += [e for e in page if isinstance(e, dict) and e.get("type") == "file"]
            url = response.links.get("next", {}).get("url")
            params = None
        raise UpstreamUnavailableError(f"Upstream {self.name} tree of {repo_id} never ends.")

    async def refs(self, repo_type: str, repo_id: str) -> dict[str, Any]:
        response = await self._get_json(
            f"{self._repo_api(repo_type, repo_id)}/refs",
            f"listing refs of {repo_id}",
            {"include_prs": "1"},
        )
        data = _json(response, self.name)
        if not isinstance(data, dict):
            raise UpstreamUnavailableError(f"Upstream {self.name} sent malformed refs.")
        return data

    @asynccontextmanager
    async def open_file(
        self, repo_type: str, repo_id: str, commit: str, path: str
    ) -> AsyncIterator[UpstreamBody]:
        url = f"{self.endpoint}/{_TYPE_PREFIX[repo_type]}{repo_id}/resolve/{commit}/{quote(path)}"
        during = f"downloading {repo_id}/{path}"
        xet = await self._xet_body(url, during)
        if xet is not None:
            yield xet
            return
        # identity: the bytes hashed must be the file, not a compressed transfer of it
        headers = {**self._headers(), "Accept-Encoding": "identity"}
        try:
            async with self._streamer.get(
                url, headers, timeout=self._timeout, proxy=self._proxy
            ) as response:
                self._raise_for(response.status, response.headers, during, commit)
                length = response.headers.get("Content-Length")

                async def chunks() -> AsyncIterator[bytes]:
                    try:
                        async for chunk in response.chunks:
                            yield chunk
                    except StreamError as exc:
                        raise self._failure(exc, during) from None

                async def into(sink: PieceSink) -> None:
                    try:
                        await response.into(sink)
                    except StreamError as exc:
                        raise self._failure(exc, during) from None

                yield UpstreamBody(
                    int(length) if length and length.isdigit() else None, chunks(), into
                )
        except StreamError as exc:
            raise self._failure(exc, during) from None

    async def _xet_body(self, url: str, during: str) -> UpstreamBody | None:
        """The file through the upstream's Xet reconstruction when its resolve HEAD offers it
        (parallel ranged fetches, every chunk hashed); None: stream it over plain HTTP."""
        try:
            head = await self._client.head(
                url,
                headers=self._headers(),
                timeout=self._timeout,
                follow_redirects=False,
                extensions=self._proxy_extension(),
            )
        except httpx.HTTPError as exc:
            raise self._failure(exc, during) from None
        if head.status_code not in (200, 301, 302, 303, 307, 308):
            return None  # an upstream without HEAD (405) or any refusal: the GET decides
        pointer = XetPointer.from_head(head)
        if pointer is None:
            return None
        downloader = XetDownloader(
            self._client, self._headers(), self._timeout, self._proxy_extension()
        )
        try:
            terms = await downloader.plan(pointer)
        except XetFetchError:
            return None  # the file still streams over plain HTTP
        name = self.name

        async def chunks() -> AsyncIterator[bytes]:
            try:
                async for chunk in downloader.stream(pointer, terms, self._xet_cache):
                    yield chunk
            except XetFetchError as exc:
                raise UpstreamUnavailableError(
                    f"Upstream {name}: Xet transfer failed while {during} ({exc}).", upstream=name
                ) from None

        return UpstreamBody(pointer.size, chunks())


def _json(response: httpx.Response, name: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise UpstreamUnavailableError(
            f"Upstream {name} sent a response that is not JSON."
        ) from None


class HfUpstreams:
    """Makes the :class:`HfUpstream` of each hf-remote repository; all share one httpx pool (JSON)
    and one streaming reader (file bodies), opened on first use and closed by :meth:`aclose`."""

    def __init__(self, guard: EgressGuard | None = None) -> None:
        self._client: httpx.AsyncClient | None = None
        self._trust = SharedTrust()
        mask_client_logs()
        self._guard = guard or EgressGuard()
        self._streamer = HttpStreamer(trust=self._trust, guard=self._guard)
        self.xet_caches: Callable[[str], RemoteXetCache] | None = None
        """Where an hf-remote keeps chunks from a Xet upstream (set by the composition root)."""

    def __call__(
        self,
        endpoint: str,
        token: str | None,
        timeout: float,
        proxy: ProxyAddress | None = None,
        repository: str | None = None,
    ) -> HfUpstream:
        if self._client is None:
            # trust_env=False: the server account's proxies and .netrc never reach an upstream.
            self._client = httpx.AsyncClient(
                follow_redirects=True,
                trust_env=False,
                transport=guarded_transport(
                    self._guard,
                    verify=self._trust(),
                    limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
                ),
            )
        route = ProxyRoute.of(proxy) if proxy is not None else None
        caches = self.xet_caches
        xet_cache = caches(repository) if caches is not None and repository is not None else None
        return HfUpstream(self._client, self._streamer, endpoint, token, timeout, route, xet_cache)

    async def aclose(self) -> None:
        self._streamer.close()
        if self._client is not None:
            await self._client.aclose()
            self._client = None


__all__ = ["HfUpstream", "HfUpstreams", "UpstreamBody", "UpstreamError", "safe_origin"]
