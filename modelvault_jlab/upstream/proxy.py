"""Outbound requests through a company's forward proxy: ``HTTPS_PROXY``, ``HTTP_PROXY``,
``ALL_PROXY`` and ``NO_PROXY`` of the server's environment (read by the standard library's
``urllib.request.getproxies_environment`` / ``proxy_bypass_environment``, as pip and curl read
them).

Every upstream request goes this way: Hub API calls and PyPI pages (httpx, through
:func:`routed_transport`) and file bodies (``http_stream``, through :meth:`ProxyRoute.open`):
https targets through a ``CONNECT`` tunnel (TLS is verified end to end against the upstream's
name), plain http targets in absolute form. The proxy's own address is checked by the
:class:`.egress.EgressGuard` like any upstream's; the target's name is checked by the egress rules
before anything is sent (the proxy resolves it, so the DNS-rebinding check is the proxy's).

Credentials in a proxy URL (``http://user:password@proxy:3128``) go only into
``Proxy-Authorization`` and are never shown: :attr:`ProxyRoute.display` and every message name
the proxy as ``http://proxy:3128``.
"""

from __future__ import annotations

import base64
import http.client
import socket
import ssl
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from ..core.upstream_proxy import ProxyAddress, ProxyConfigError


class ProxyRoute(ProxyAddress):
    """One forward proxy (``http://`` only: TLS to the proxy itself is not supported), as the
    outbound clients use it. Parsing and display are :class:`~..core.upstream_proxy.ProxyAddress`'s.
    """

    @classmethod
    def of(cls, address: ProxyAddress) -> ProxyRoute:
        """The route through a remote repository's own proxy setting."""
        return cls(address.host, address.port, address.username, address.password)

    def authorization(self) -> dict[str, str]:
        """The ``Proxy-Authorization`` header, if the URL carried credentials."""
        if not self.username and not self.password:
            return {}
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return {"Proxy-Authorization": f"Basic {token}"}

    def connection(
        self,
        scheme: str,
        host: str,
        port: int,
        timeout: float,
        trust: Callable[[], ssl.SSLContext],
        connect: Callable[..., socket.socket],
    ) -> http.client.HTTPConnection:
        """An ``http.client`` connection to ``host:port`` through this proxy, not yet connected:
        a CONNECT tunnel for https (TLS verified against ``host``), the proxy itself for http
        (send the request target in absolute form, with :meth:`authorization`). ``connect``
        opens the TCP connection to the proxy (the egress guard's, so its address is checked)."""
        conn: http.client.HTTPConnection
        if scheme == "https":
            conn = http.client.HTTPSConnection(
                self.host, self.port, timeout=timeout, context=trust()
            )
            conn.set_tunnel(host, port, headers=self.authorization())
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        conn._create_connection = connect  # type: ignore[attr-defined]  # stdlib's own hook
        return conn

    def httpx_proxy(self) -> httpx.Proxy:
        auth = (self.username, self.password) if self.username or self.password else None
        return httpx.Proxy(self.display, auth=auth)


class ProxyChooser:
    """Which proxy (if any) a request to a URL goes through."""

    def __init__(self, proxies: Mapping[str, str]) -> None:
        """``proxies``: scheme (``http``, ``https``, ``all``) -> proxy URL, plus ``no`` ->
        the ``NO_PROXY`` list, as ``urllib.request.getproxies_environment`` returns them."""
        self._no = proxies.get("no", "")
        self._routes = {
            scheme: ProxyRoute.parse(url)
            for scheme, url in proxies.items()
            if scheme in ("http", "https", "all") and url
        }

    @classmethod
    def from_environment(cls) -> ProxyChooser | None:
        """From the server's environment; None when no proxy variable is set."""
        proxies = urllib.request.getproxies_environment()
        chooser = cls(proxies)
        return chooser if chooser._routes else None

    def route(self, url: str) -> ProxyRoute | None:
        parts = urlsplit(url)
        route = self._routes.get(parts.scheme) or self._routes.get("all")
        if route is None or not parts.hostname:
            return None
        netloc = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        # in the standard library since Python 2, absent from typeshed
        bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
        if self._no and bypass(netloc, {"no": self._no}):
            return None
        return route

    def describe(self) -> dict[str, str]:
        """Scheme -> proxy, without credentials (for the start-up log)."""
        shown = {scheme: r.display for scheme, r in self._routes.items()}
        if self._no:
            shown["no_proxy"] = self._no
        return shown


PROXY_EXTENSION = "modelvault.proxy"
"""httpx request extension: the :class:`ProxyRoute` of the remote repository sending it (its own
``proxy`` setting), which wins over the server-wide choice."""


class RoutedTransport(httpx.AsyncBaseTransport):
    """Sends each request directly or through its proxy (one pool per proxy): the remote's own
    (:data:`PROXY_EXTENSION`), else the server-wide one for its URL (``chooser``), else none."""

    def __init__(
        self,
        chooser: ProxyChooser | None,
        direct: httpx.AsyncBaseTransport,
        proxied: Callable[[ProxyRoute], httpx.AsyncBaseTransport],
        check_name: Callable[[str], None],
    ) -> None:
        self._check_name = check_name
        self._chooser = chooser
        self._direct = direct
        self._make = proxied
        self._proxied: dict[ProxyRoute, httpx.AsyncBaseTransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        route = request.extensions.get(PROXY_EXTENSION)
        if not isinstance(route, ProxyRoute):
            route = self._chooser.route(str(request.url)) if self._chooser is not None else None
        if route is None:
            return await self._direct.handle_async_request(request)
        try:
            self._check_name(request.url.host)  # the proxy resolves it: the name rules here
        except OSError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        transport = self._proxied.get(route)
        if transport is None:  # one per configured proxy (server-wide or a remote's setting)
            transport = self._proxied[route] = self._make(route)
        return await transport.handle_async_request(request)

    async def aclose(self) -> None:
        await self._direct.aclose()
        for transport in self._proxied.values():
            await transport.aclose()


def proxy_pool(
    route: ProxyRoute, *, verify: ssl.SSLContext, limits: httpx.Limits, backend: Any
) -> httpx.AsyncHTTPTransport:
    """An httpx transport through ``route`` whose TCP connections use ``backend`` (checked)."""
    transport = httpx.AsyncHTTPTransport(verify=verify, limits=limits, proxy=route.httpx_proxy())
    auth = (route.username, route.password) if route.username or route.password else None
    transport._pool = httpcore.AsyncHTTPProxy(
        proxy_url=route.display,
        proxy_auth=auth,
        ssl_context=verify,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=backend,
    )
    return transport


__all__ = [
    "PROXY_EXTENSION",
    "ProxyChooser",
    "ProxyConfigError",
    "ProxyRoute",
    "RoutedTransport",
    "proxy_pool",
]
