"""Where a merchant's profile may send the connector: origins and addresses (issue 12 item 5, SSRF).

A merchant profile names URLs the connector then calls with signed requests
carrying buyer data: its REST ``endpoint`` and, in 2026-08-25, the
version-specific profiles of ``supported_versions``. Without rules a profile
could point the connector anywhere -- at an internal service, at a cloud
metadata address, at another merchant. The rules (overview.md "Profile
Requirements: Fetching" 7, applied to every URL a profile names):

* **same origin**: such a URL must be on the origin (scheme, host, port) of
  the *registered* profile URL, unless the merchant's configuration lists the
  origin in ``allowed_origins``;
* **public addresses**: the host must not resolve to a loopback, link-local
  (``169.254.0.0/16``, ``fe80::/10`` -- cloud metadata lives there), private
  (RFC 1918, ``fc00::/7``) or otherwise special-use address, except with
  ``allow_insecure_loopback`` (dev and tests) -- or, for private addresses
  only, ``allow_private_addresses`` (a compose or VPC network). The resolved
  addresses are checked, not the name, so a public name that resolves inward
  is refused too; the check runs when a profile is loaded and before every
  call.

Failures are ``403 profile_not_trusted`` with a ``reason``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from contracts import ErrorCode, UcpError
from core.address_policy import Address, inward_reason, resolved_addresses
from core.settings import MerchantSettings

_DEFAULT_PORTS = {"https": 443, "http": 80}


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or _DEFAULT_PORTS.get(parts.scheme, 0)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def check_same_origin(url: str, settings: MerchantSettings, *, what: str) -> None:
    allowed = {origin_of(settings.profile_url), *(origin_of(origin) for origin in settings.allowed_origins)}
    if origin_of(url) not in allowed:
        raise UcpError(
            f"the merchant's {what} {url} is not on the origin of its registered profile",
            code=ErrorCode.PROFILE_NOT_TRUSTED,
            detail={"reason": "foreign_origin", "url": url[:300], "what": what},
        )


async def check_address(url: str, settings: MerchantSettings, *, what: str) -> None:
    """Refuse ``url`` when its host resolves to an address this merchant may not use."""
    host = urlsplit(url).hostname or ""
    for address in await _addresses(host):
        refusal = _refusal(address, settings)
        if refusal is not None:
            raise UcpError(
                f"the merchant's {what} resolves to a {refusal} address ({address})",
                code=ErrorCode.PROFILE_NOT_TRUSTED,
                detail={"reason": f"{refusal}_address", "url": url[:300], "what": what},
            )


def _refusal(address: Address, settings: MerchantSettings) -> str | None:
    return inward_reason(
        address, allow_loopback=settings.allow_insecure_loopback, allow_private=settings.allow_private_addresses
    )


async def _addresses(host: str) -> list[Address]:
    return await resolved_addresses(host)
