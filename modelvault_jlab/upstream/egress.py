"""The connection-time half of :mod:`..core.egress`: resolve, check every address, connect only
to an address that was checked (so a DNS answer cannot change between check and connect).

Both outbound clients go through here: httpx (JSON, pages) through :func:`guarded_transport`'s
network backend, and the streaming reader (:mod:`.http_stream`) through
:meth:`EgressGuard.create_connection`. TLS still verifies the certificate against the host name.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Iterable
from typing import Any

import anyio.to_thread
import httpcore
import httpx

from ..core.egress import EgressPolicy, literal_address
from .proxy import ProxyChooser, RoutedTransport, proxy_pool

Resolver = Callable[[str, int], list[str]]
"""Host and port -> the addresses to try, in order."""


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class EgressRefusedError(ConnectionRefusedError):
    """The policy forbids this destination; nothing was sent."""


class EgressGuard:
    def __init__(
        self,
        policy: EgressPolicy | None = None,
        resolver: Resolver | None = None,
        proxies: ProxyChooser | None = None,
    ):
        self.policy = policy or EgressPolicy()
        self._resolve = resolver or system_resolver
        self.proxies = proxies
        """The forward proxy of each request (``upstream/proxy.py``); None: direct."""

    def check_name(self, host: str) -> None:
        """The rules that apply to a name alone, for a request a proxy resolves and connects.

        Raises:
            EgressRefusedError: naming the host and why.
        """
        if self.policy.host_allowed_by_name(host):
            return
        reason = self.policy.host_refusal(host)
        if reason is not None:
            raise EgressRefusedError(f"refused to connect to {host}: {reason}")

    def addresses(self, host: str, port: int) -> list[str]:
        """The addresses to connect to for ``host``; every one it resolves to must be allowed
        (a name that also resolves to a metadata address is refused as a whole).

        Raises:
            EgressRefusedError: naming the host, the address and why.
            OSError: resolution failed.
        """
        if self.policy.host_allowed_by_name(host):
            return self._resolve(host, port)
        reason = self.policy.host_refusal(host)  # before any DNS query
        if reason is not None:
            raise EgressRefusedError(f"refused to connect to {host}: {reason}")
        addresses = self._resolve(host, port)
        for address in addresses:
            parsed = literal_address(address.partition("%")[0])
            why = "an unparsable address" if parsed is None else self.policy.address_refusal(parsed)
            if why is not None:
                raise EgressRefusedError(
                    f"refused to connect to {host}: it resolves to {address}, {why}"
                )
        return addresses

    def create_connection(
        self,
        address: tuple[str, int],
        timeout: float | None = None,
        source_address: tuple[str, int] | None = None,
    ) -> socket.socket:
        """:func:`socket.create_connection` to a checked address (for http.client)."""
        host, port = address
        error: OSError | None = None
        for resolved in self.addresses(host, port):
            try:
                return socket.create_connection((resolved, port), timeout, source_address)
            except OSError as exc:
                error = exc
        raise error or OSError(f"no address for {host}")


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, guard: EgressGuard) -> None:
        self._guard = guard
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await anyio.to_thread.run_sync(self._guard.addresses, host, port)
        except OSError as exc:  # httpx maps httpcore's errors to its own (ConnectError)
            raise httpcore.ConnectError(str(exc)) from exc
        error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                error = exc
        raise error or httpcore.ConnectError(f"no address for {host}")

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not upstreams")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def guarded_transport(
    guard: EgressGuard, *, verify: ssl.SSLContext, limits: httpx.Limits
) -> httpx.AsyncBaseTransport:
    """An httpx transport whose connections go through ``guard``. httpx does not take a network
    backend, so the transport's connection pool is rebuilt with one (same settings)."""
    transport = httpx.AsyncHTTPTransport(verify=verify, limits=limits)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=verify,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=_GuardedBackend(guard),
    )
    return RoutedTransport(  # a remote's own proxy setting may apply even without a server-wide one
        guard.proxies,
        transport,
        lambda route: proxy_pool(
            route, verify=verify, limits=limits, backend=_GuardedBackend(guard)
        ),
        guard.check_name,
    )


__all__ = ["EgressGuard", "EgressRefusedError", "guarded_transport", "system_resolver"]
