"""The outbound port of the PyPI side: how the domain talks to an upstream index.

``modelvault_jlab.upstream.pypi_http`` implements it with httpx. The domain never sees HTTP
libraries; implementations turn every transport failure (connection refused or reset, timeout,
5xx, 429, a body shorter than announced, a malformed page) into an :class:`UpstreamError` whose
message names the upstream (without credentials) and the failure.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from ...storage.ingest import ReadInto
from ...storage.packages import RemoteLinkRecord
from ..upstream_proxy import ProxyAddress
from ..urls import origin_of


@dataclass(frozen=True)
class UpstreamCredentials:
    """HTTP Basic credentials for one upstream index, valid on its own origin only: files that
    live on another host (a CDN), and redirects there, get no credentials."""

    origin: tuple[str, str, int]
    username: str
    password: str

    @classmethod
    def for_index(cls, index_url: str, username: str, password: str) -> UpstreamCredentials:
        return cls(origin_of(index_url), username, password)

    def applies_to(self, url: str) -> bool:
        return origin_of(url) == self.origin

    def __repr__(self) -> str:  # never print the password
        return f"UpstreamCredentials(origin={self.origin!r}, username={self.username!r})"


@dataclass(frozen=True)
class UpstreamPage:
    """The outcome of a project page request."""

    status: int
    """200 (``links`` parsed), 304 (not modified) or 404 (no such project)."""
    etag: str | None = None
    links: tuple[RemoteLinkRecord, ...] = ()


@dataclass
class UpstreamFile:
    """An open upstream file response: announced size and the raw body."""

    size: int | None
    chunks: AsyncIterator[bytes]
    into: ReadInto | None = None
    """Read the body straight into a pipeline's buffers instead (see :meth:`.Flight.ingest`)."""


class PypiUpstream(ABC):
    """Reads PEP 503/691 indexes. ``timeout`` is in seconds, per network operation; ``auth`` is
    sent to URLs (and redirect targets) on its origin only; ``proxy`` (the repository's own
    proxy setting) carries every request of the call."""

    @abstractmethod
    async def fetch_page(
        self,
        url: str,
        *,
        etag: str | None,
        timeout: float,
        auth: UpstreamCredentials | None = None,
        proxy: ProxyAddress | None = None,
    ) -> UpstreamPage:
        """GET a project page (JSON preferred, HTML accepted), links resolved to absolute URLs.

        Raises:
            UpstreamUnavailableError: transport failure, timeout, 5xx/429, malformed page.
        """

    @abstractmethod
    def open_file(
        self,
        url: str,
        *,
        timeout: float,
        auth: UpstreamCredentials | None = None,
        proxy: ProxyAddress | None = None,
    ) -> AbstractAsyncContextManager[UpstreamFile]:
        """Open a file download; iterating ``chunks`` raises UpstreamUnavailableError mid-way.

        Raises:
            UpstreamUnavailableError: the request failed before the body.
            NotFoundError: the upstream answered 404.
        """

    @abstractmethod
    async def fetch_small(
        self,
        url: str,
        *,
        limit: int,
        timeout: float,
        auth: UpstreamCredentials | None = None,
        proxy: ProxyAddress | None = None,
    ) -> bytes:
        """GET a small document (``.metadata``), refusing more than ``limit`` bytes.

        Raises:
            UpstreamUnavailableError, NotFoundError.
        """

    @abstractmethod
    async def aclose(self) -> None:
        """Release connections."""
