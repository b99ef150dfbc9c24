"""The outbound port of the Hub side: how the domain talks to an upstream Hugging Face Hub.

``modelvault_jlab.upstream.hf_http`` implements it; the composition root (``bootstrap``) passes a
:class:`HubUpstreams` factory in, so the domain never builds or sees an HTTP client. As on the PyPI
side (:mod:`.pypi.ports`), implementations turn every transport failure into an
:class:`~modelvault_jlab.errors.UpstreamError` naming the upstream (without credentials), and the
Hub's error codes into RepoNotFound / RevisionNotFound / EntryNotFound.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from ...storage.ingest import ReadInto
from ..upstream_proxy import ProxyAddress


@dataclass(frozen=True)
class UpstreamBody:
    """An open upstream file: the announced size and the raw body."""

    size: int | None
    chunks: AsyncIterator[bytes]
    into: ReadInto | None = None
    """Read the body straight into a pipeline's buffers instead (see :meth:`.Flight.ingest`);
    raises like ``chunks``. Consume the body one way only."""


class HubUpstream(ABC):
    """One upstream Hub endpoint, with the token its repository is configured with."""

    name: str
    """The upstream's origin, for messages (never credentials)."""

    @abstractmethod
    async def revision_info(self, repo_type: str, repo_id: str, revision: str) -> dict[str, Any]:
        """The repo info at ``revision`` (with its commit ``sha``)."""

    @abstractmethod
    async def tree(self, repo_type: str, repo_id: str, commit: str) -> list[dict[str, Any]]:
        """Every file of ``commit``, recursively."""

    @abstractmethod
    async def refs(self, repo_type: str, repo_id: str) -> dict[str, Any]:
        """Branches, tags and pull-request refs."""

    @abstractmethod
    def open_file(
        self, repo_type: str, repo_id: str, commit: str, path: str
    ) -> AbstractAsyncContextManager[UpstreamBody]:
        """Open a file of ``commit``; iterating ``chunks`` raises UpstreamUnavailableError mid-way."""


class HubUpstreams(Protocol):
    """Makes the :class:`HubUpstream` of each hf-remote repository."""

    def __call__(
        self,
        endpoint: str,
        token: str | None,
        timeout: float,
        proxy: ProxyAddress | None = None,
        repository: str | None = None,
    ) -> HubUpstream:
        """``proxy``: the repository's own forward proxy (``core/upstream_proxy.py``);
        ``repository``: the hf-remote's key (chunks from a Xet upstream are cached for it)."""
        ...

    async def aclose(self) -> None: ...


__all__ = ["HubUpstream", "HubUpstreams", "UpstreamBody"]
