"""Which network addresses an outbound call may reach: the one rule for merchant targets and platform webhooks.

A URL someone else declares (a merchant profile's endpoint, a platform
profile's order-webhook URL) must not point the connector inward: loopback and
link-local (cloud metadata lives at 169.254.169.254) only with
``allow_insecure_loopback`` (dev and tests); private ranges (RFC 1918,
``fc00::/7``) with that or ``allow_private``; multicast, unspecified, reserved
and other special-use addresses never. The *resolved* addresses are checked, so
a public name that resolves inward is refused too (merchants/targets.py,
core/platform_profiles.py).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def inward_reason(address: Address, *, allow_loopback: bool, allow_private: bool = False) -> str | None:
    """Why ``address`` may not be called (``loopback``, ``link_local``, ``private``, ``special_use``), or ``None``."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return None if allow_loopback else "loopback"
    if address.is_link_local:
        return None if allow_loopback else "link_local"
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return "special_use"
    if address.is_private and not address.is_global:
        return None if allow_loopback or allow_private else "private"
    return None if address.is_global else "special_use"


async def resolved_addresses(host: str) -> list[Address]:
    """The literal address, or what the name resolves to (empty when it does not: the call fails as unreachable)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
