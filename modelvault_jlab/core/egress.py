"""Where remote repositories may send requests: never to link-local or cloud-metadata addresses.

An admin's repository config, or a DNS answer, must not turn the vault into a proxy for the
instance metadata service (169.254.169.254 and friends hand out cloud credentials). The rule is
checked twice: on the configured host when a repository is created or changed (a clear 400),
and on every address the host resolves to when a connection is made (the outbound clients in
``modelvault_jlab.upstream``), so a name that resolves elsewhere later (DNS rebinding) is refused
too, before any packet is sent.

Refused by default: link-local (169.254.0.0/16, fe80::/10), the metadata addresses that are not
link-local (100.100.100.200, fd00:ec2::254, 168.63.129.16), "this network" / unspecified,
multicast and reserved ranges, and the well-known metadata host names. Loopback and private
ranges stay allowed by default (tests and company indexes live there) and can be refused too.
Hosts named in ``allow_hosts`` are exempt (an internal service the admin vouches for).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..errors import InvalidInputError

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, Oracle, DigitalOcean
        "169.254.170.2",  # AWS ECS task credentials
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure wire server
        "fd00:ec2::254",  # AWS IPv6
    )
)
METADATA_NAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.internal",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")


def _embedded_ipv4(address: IpAddress) -> IpAddress:
    """The IPv4 address an IPv6 one carries (mapped, NAT64), which is where packets go."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def literal_address(host: str) -> IpAddress | None:
    """``host`` as an IP address if it is one, in any form the C resolver accepts for IPv4
    (``2852039166``, ``0xa9fea9fe``, ``169.254.43518``), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, UnicodeError, ValueError):
        return None


@dataclass(frozen=True)
class EgressPolicy:
    allow_hosts: frozenset[str] = field(default_factory=frozenset)
    """Host names (or addresses) exempt from every rule below."""
    allow_loopback: bool = True
    allow_private: bool = True

    def host_allowed_by_name(self, host: str) -> bool:
        return _normal(host) in {_normal(h) for h in self.allow_hosts}

    def address_refusal(self, address: IpAddress) -> str | None:
        """Why a connection to ``address`` is refused, or None."""
        address = _embedded_ipv4(address)
        if address in METADATA_ADDRESSES:
            return "a cloud metadata address"
        if address.is_link_local:
            return "a link-local address"
        if address.is_unspecified or address in _THIS_NETWORK:
            return "an unspecified address"
        if address.is_loopback:  # before "reserved": ::1 is in the reserved ::/8
            return None if self.allow_loopback else "a loopback address"
        if address.is_multicast or address.is_reserved:
            return "a multicast or reserved address"
        if address.is_private and not address.is_global:
            return None if self.allow_private else "a private address"
        return None

    def host_refusal(self, host: str) -> str | None:
        """Why a configured host is refused before any resolution, or None."""
        if self.host_allowed_by_name(host):
            return None
        if _normal(host) in METADATA_NAMES:
            return "a cloud metadata host name"
        address = literal_address(host)
        return None if address is None else self.address_refusal(address)

    def check_upstream(self, url: str) -> None:
        """Raises InvalidInputError when ``url``'s host is refused (config time)."""
        host = urlsplit(url).hostname or ""
        reason = self.host_refusal(host)
        if reason is not None:
            raise InvalidInputError(
                f"'upstream' points at {host!r}, {reason}: remote repositories may not reach it. "
                "An admin can allow a named internal host with the upstream_allow_hosts setting."
            )

    def validate_config(self, kind: str, config: dict[str, Any]) -> dict[str, Any]:
        """Repository-config validator: the upstream of every remote kind."""
        upstream = config.get("upstream")
        if kind.endswith("-remote") and isinstance(upstream, str):
            self.check_upstream(upstream)
        return config


def _normal(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


__all__ = ["EgressPolicy", "literal_address"]
