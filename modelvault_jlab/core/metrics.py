"""What a vault counts for Prometheus: one :class:`VaultMetrics` per vault, with its own registry.

Each vault owns a ``CollectorRegistry`` (never prometheus_client's global one): two vaults in one
process (tests, an embedded vault next to a remote one) never mix their counts, and nothing a
library registers globally leaks into a vault's ``/metrics``.

Label values are bounded by design: HTTP requests are labelled by route family (a fixed list in
the web layer), never by path; cache counters by remote repository key (repositories are created
by admins); upstream calls by upstream kind and operation (never by URL: a hostile index may list
files on any host); lease waits by the lease's kind (the part before ``:``, from a fixed set);
blocked downloads by policy name (from the policy catalogue).

Core services hold an :class:`.observer.Observer` (a no-op by default); the vault hands them its
:class:`VaultMetrics`, so the domain reports one call per event and knows nothing of Prometheus.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from ..errors import NotFoundError, UpstreamUnavailableError
from .hub.ports import HubUpstream, UpstreamBody
from .observer import Observer
from .pypi.ports import PypiUpstream, UpstreamCredentials, UpstreamFile, UpstreamPage
from .upstream_proxy import ProxyAddress

T = TypeVar("T")

LEASE_KINDS = frozenset({"fetch", "page", "scan", "job"})
"""Lease name prefixes (``core/leases.py`` users); any other is counted as ``other``."""
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_SCAN_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 120)


class VaultMetrics(Observer):
    """The vault's counters and their registry (exposed by ``web/metrics.py``)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._scrape_token_digest: bytes | None = None
        self._request_children: dict[tuple[str, int], tuple[Any, Any, Any, Any]] = {}
        self.requests = Counter(
            "modelvault_http_requests",
            "HTTP requests answered, by route family and status.",
            ["family", "status"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "modelvault_http_request_duration_seconds",
            "Time to answer an HTTP request (whole body sent), by route family.",
            ["family"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.bytes_in = Counter(
            "modelvault_http_request_bytes",
            "Request body bytes (declared Content-Length), by route family and status.",
            ["family", "status"],
            registry=r,
        )
        self.bytes_out = Counter(
            "modelvault_http_response_bytes",
            "Response body bytes (Content-Length of the answer), by route family and status.",
            ["family", "status"],
            registry=r,
        )
        self.cache = Counter(
            "modelvault_cache_lookups",
            "Files of remote repositories served from the cache (hit) or fetched upstream (miss).",
            ["repository", "result"],
            registry=r,
        )
        self.upstream_calls = Counter(
            "modelvault_upstream_requests",
            "Calls to upstreams, by upstream kind, operation and outcome (ok, not_found, error).",
            ["upstream", "operation", "outcome"],
            registry=r,
        )
        self.upstream_seconds = Histogram(
            "modelvault_upstream_latency_seconds",
            "Time until an upstream answered (a page whole, a file's headers).",
            ["upstream", "operation"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.scans = Counter("modelvault_scans", "Scans run, by verdict.", ["verdict"], registry=r)
        self.scan_seconds = Histogram(
            "modelvault_scan_duration_seconds",
            "Duration of a scan, by verdict.",
            ["verdict"],
            buckets=_SCAN_BUCKETS,
            registry=r,
        )
        self.blocked_downloads = Counter(
            "modelvault_blocked_downloads",
            "Downloads refused by a policy, by policy.",
            ["policy"],
            registry=r,
        )
        self.lease_waits = Counter(
            "modelvault_lease_waits",
            "Waits for another replica's lease, by lease kind and outcome.",
            ["lease", "outcome"],
            registry=r,
        )
        self.lease_wait_seconds = Histogram(
            "modelvault_lease_wait_seconds",
            "Time spent waiting for another replica's lease, by lease kind.",
            ["lease"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.transfers = Counter(
            "modelvault_transfers",
            "Upstream transfers (stream-through) finished, by outcome (ok, failed).",
            ["outcome"],
            registry=r,
        )
        self.active_transfers = Gauge(
            "modelvault_active_transfers",
            "Upstream transfers in progress in this process.",
            registry=r,
        )

    # -- scraping --
    def exposition(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)

    def allow_scrape_token(self, token: str) -> None:
        """Accept ``token`` (besides admin tokens) for reading the metrics; empty: none."""
        self._scrape_token_digest = hashlib.sha256(token.encode()).digest() if token else None

    def is_scrape_token(self, presented: str) -> bool:
        expected = self._scrape_token_digest
        if expected is None:
            return False
        return hmac.compare_digest(hashlib.sha256(presented.encode()).digest(), expected)

    # -- what adapters report --
    def request_answered(
        self, family: str, status: int, seconds: float, bytes_in: int, bytes_out: int
    ) -> None:
        children = self._request_children.get((family, status))
        if children is None:  # labels() takes a lock and builds a key: once per pair
            code = str(status)
            children = self._request_children[(family, status)] = (
                self.requests.labels(family, code),
                self.request_seconds.labels(family),
                self.bytes_in.labels(family, code),
                self.bytes_out.labels(family, code),
            )
        requests, duration, received, sent = children
        requests.inc()
        duration.observe(seconds)
        if bytes_in:
            received.inc(bytes_in)
        if bytes_out:
            sent.inc(bytes_out)

    def count_active_transfers(self, active: Callable[[], int]) -> None:
        self.active_transfers.set_function(lambda: float(active()))

    def transfer_finished(self, failed: bool) -> None:
        self.transfers.labels("failed" if failed else "ok").inc()

    # -- Observer --
    def cache_lookup(self, repository: str, hit: bool) -> None:
        self.cache.labels(repository, "hit" if hit else "miss").inc()

    def scanned(self, verdict: str, seconds: float) -> None:
        self.scans.labels(verdict).inc()
        self.scan_seconds.labels(verdict).observe(seconds)

    def blocked(self, policy: str) -> None:
        self.blocked_downloads.labels(policy).inc()

    def lease_waited(self, name: str, seconds: float, outcome: str) -> None:
        kind = name.partition(":")[0]
        kind = kind if kind in LEASE_KINDS else "other"
        self.lease_waits.labels(kind, outcome).inc()
        self.lease_wait_seconds.labels(kind).observe(seconds)

    # -- upstream calls --
    async def timed(self, upstream: str, operation: str, call: Awaitable[T]) -> T:
        """Await an upstream call, counting its outcome and latency."""
        start = time.perf_counter()
        outcome = "error"
        try:
            result = await call
            outcome = "ok"
            return result
        except NotFoundError:
            outcome = "not_found"  # an answer, not a failure of the upstream
            raise
        finally:
            self.upstream_calls.labels(upstream, operation, outcome).inc()
            if outcome != "error":
                self.upstream_seconds.labels(upstream, operation).observe(
                    time.perf_counter() - start
                )

    def timed_open(
        self, upstream: str, operation: str, opening: AbstractAsyncContextManager[T]
    ) -> AbstractAsyncContextManager[T]:
        """An upstream file opening, timed to its headers; a failure of its body counts too."""

        @asynccontextmanager
        async def opened() -> AsyncIterator[T]:
            async def enter() -> T:
                return await opening.__aenter__()

            body = await self.timed(upstream, operation, enter())
            try:
                yield body
            except BaseException as exc:
                if isinstance(exc, UpstreamUnavailableError):  # the body broke off
                    self.upstream_calls.labels(upstream, f"{operation}_body", "error").inc()
                if not await opening.__aexit__(type(exc), exc, exc.__traceback__):
                    raise
            else:
                await opening.__aexit__(None, None, None)

        return opened()

    def hub_upstream(self, upstream: HubUpstream) -> HubUpstream:
        return _TimedHubUpstream(upstream, self)

    def pypi_upstream(self, upstream: PypiUpstream) -> PypiUpstream:
        return _TimedPypiUpstream(upstream, self)


class _TimedHubUpstream(HubUpstream):
    """A Hub upstream whose calls are counted and timed."""

    def __init__(self, inner: HubUpstream, metrics: VaultMetrics) -> None:
        self._inner = inner
        self._m = metrics
        self.name = inner.name

    async def revision_info(self, repo_type: str, repo_id: str, revision: str) -> dict[str, Any]:
        return await self._m.timed(
            "hf", "revision_info", self._inner.revision_info(repo_type, repo_id, revision)
        )

    async def tree(self, repo_type: str, repo_id: str, commit: str) -> list[dict[str, Any]]:
        return await self._m.timed("hf", "tree", self._inner.tree(repo_type, repo_id, commit))

    async def refs(self, repo_type: str, repo_id: str) -> dict[str, Any]:
        return await self._m.timed("hf", "refs", self._inner.refs(repo_type, repo_id))

    def open_file(
        self, repo_type: str, repo_id: str, commit: str, path: str
    ) -> AbstractAsyncContextManager[UpstreamBody]:
        return self._m.timed_open(
            "hf", "file", self._inner.open_file(repo_type, repo_id, commit, path)
        )


class _TimedPypiUpstream(PypiUpstream):
    """A PyPI upstream whose calls are counted and timed."""

    def __init__(self, inner: PypiUpstream, metrics: VaultMetrics) -> None:
        self._inner = inner
        self._m = metrics

    async def fetch_page(
        self,
        url: str,
        *,
        etag: str | None,
        timeout: float,
        auth: UpstreamCredentials | None = None,
        proxy: ProxyAddress | None = None,
    ) -> UpstreamPage:
        return await self._m.timed(
            "pypi",
            "page",
            self._inner.fetch_page(url, etag=etag, timeout=timeout, auth=auth, proxy=proxy),
        )

    def open_file(
        self,
        url: str,
        *,
        timeout: float,
        auth: UpstreamCredentials | None = None,
        proxy: ProxyAddress | None = None,
    ) -> AbstractAsyncContextManager[UpstreamFile]:
        return self._m.timed_open(
            "pypi", "file", self._inner.open_file(url, timeout=timeout, auth=auth, proxy=proxy)
        )

    async def fetch_small(
        self,
        url: str,
        *,
        limit: int,
        timeout: float,
        auth: UpstreamCredentials | None = None,
        proxy: ProxyAddress | None = None,
    ) -> bytes:
        return await self._m.timed(
            "pypi",
            "metadata",
            self._inner.fetch_small(url, limit=limit, timeout=timeout, auth=auth, proxy=proxy),
        )

    async def aclose(self) -> None:
        await self._inner.aclose()
