"""The ``proxy`` setting of a remote repository: the forward proxy every upstream request of that
remote goes through (pages, API calls and file bodies, Hub and PyPI alike), instead of the
server-wide ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` (``upstream/proxy.py``).

Stored as three settings: ``proxy`` (``http://host:port``, no credentials), ``proxy_username``
and ``proxy_password``. A ``proxy`` URL given with ``user:password@`` is split into them when the
config is saved, so the password is encrypted at rest and shown as ``***`` like every secret
setting (:mod:`.secrets`), and no URL that could reach a log carries it. The proxy's host obeys
the egress rules of upstreams (never a cloud metadata address).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import unquote, urlsplit

from ..errors import InvalidInputError
from .egress import EgressPolicy
from .secrets import MASK

PROXY_SETTINGS: dict[str, type | tuple[type, ...]] = {
    "proxy": str,
    "proxy_username": str,
    "proxy_password": str,
}
"""Settings every remote kind accepts (merged into each kind's allowed settings)."""


class ProxyConfigError(InvalidInputError):
    """A proxy URL this server cannot use (the message names it without credentials)."""


@dataclass(frozen=True)
class ProxyAddress:
    """One forward proxy: ``http://`` only (TLS to the proxy itself is not supported; https
    targets go through a CONNECT tunnel, TLS end to end)."""

    host: str
    port: int
    username: str = field(default="", repr=False)
    password: str = field(default="", repr=False)

    @classmethod
    def parse(cls, url: str) -> Self:
        """Raises ProxyConfigError: not ``http://host[:port]``, or a path, query or fragment."""
        parts = urlsplit(url if "://" in url else f"http://{url}")
        display = f"{parts.scheme}://{parts.hostname or '?'}"
        try:
            port = parts.port or 80
        except ValueError:
            raise ProxyConfigError(f"proxy {display}: invalid port") from None
        if parts.scheme != "http" or not parts.hostname:
            raise ProxyConfigError(
                f"proxy {display}: only http:// proxies are supported (https targets go through "
                "a CONNECT tunnel, end-to-end TLS)"
            )
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ProxyConfigError(f"proxy {display}: a proxy URL has no path, query or fragment")
        return cls(
            parts.hostname, port, unquote(parts.username or ""), unquote(parts.password or "")
        )

    @property
    def display(self) -> str:
        """The proxy's URL without credentials (for messages and logs)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def remote_proxy(config: dict[str, Any], reveal: Callable[[str], str] = str) -> ProxyAddress | None:
    """The proxy a remote's stored ``config`` names, credentials revealed; None: none set.

    Raises:
        ProxyConfigError: a stored value no longer parses.
        SecretKeyMismatchError: the password was sealed under another key.
    """
    url = config.get("proxy")
    if not isinstance(url, str) or not url:
        return None
    parsed = ProxyAddress.parse(url)
    username = str(config.get("proxy_username") or "")
    password = reveal(str(config.get("proxy_password") or ""))
    if not username and not password:
        return parsed
    return ProxyAddress(parsed.host, parsed.port, username, password)


def proxy_validator(egress: EgressPolicy) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    """A repository-config validator: a remote's ``proxy`` parses, its host is allowed, and its
    credentials move to ``proxy_username``/``proxy_password`` (``***`` keeps the stored one)."""

    def validate(kind: str, config: dict[str, Any]) -> dict[str, Any]:
        url = config.get("proxy")
        if not kind.endswith("-remote") or not isinstance(url, str):
            return config
        if not url:  # "": no proxy of its own (the server-wide variables apply)
            return {k: v for k, v in config.items() if not k.startswith("proxy")}
        parsed = ProxyAddress.parse(url)
        reason = egress.host_refusal(parsed.host)
        if reason is not None:
            raise ProxyConfigError(
                f"'proxy' points at {parsed.host!r}, {reason}: remote repositories may not reach "
                "it. An admin can allow a named internal host with the upstream_allow_hosts "
                "setting."
            )
        moved = {**config, "proxy": parsed.display}
        if parsed.username or parsed.password:
            moved["proxy_username"] = parsed.username
            if parsed.password and parsed.password != MASK:  # "***": the stored one stays
                moved["proxy_password"] = parsed.password
        return moved

    return validate


__all__ = ["PROXY_SETTINGS", "ProxyAddress", "ProxyConfigError", "proxy_validator", "remote_proxy"]
