"""Discovery: read a registered merchant's profile and negotiate protocol version and capabilities with it.

The profile comes from the shared cache (:mod:`merchants.profiles`), which
applies the spec's fetching rules; negotiation is the spec's intersection
algorithm (``contracts.ucp.negotiate``, overview.md "Capability Negotiation")
between the connector's platform profile for this merchant and the merchant's
profile. Every failure is a :class:`~contracts.UcpError`: the cache's
``profile_*`` codes, ``version_unsupported`` (OVR-44) or
``capabilities_incompatible`` (OVR-46).

Issue 15 widens :func:`negotiate_version` to the releases the connector has
adapters for; the result already names the version to speak.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from contracts import ErrorCode, UcpError
from contracts.error_codes import UCP_VERSION
from contracts.ucp import CHECKOUT, Profile, negotiate, parse_profile
from merchants.profiles import ProfileCache


@dataclass(frozen=True)
class NegotiatedMerchant:
    """What a session keeps from discovery (the keys stay in the cache)."""

    merchant_id: str
    profile_url: str
    endpoint: str
    version: str
    capabilities: dict[str, str]  # negotiated capability name -> version


class MerchantDiscovery:
    def __init__(self, profiles: ProfileCache, connector_profile: Callable[[str], Mapping[str, Any]]) -> None:
        self._profiles = profiles
        self._connector_profile = connector_profile

    async def negotiate(self, merchant_id: str) -> NegotiatedMerchant:
        """Fetch (or reuse) the merchant's profile and negotiate version and capabilities with it."""
        entry = await self._profiles.get(merchant_id)
        version = negotiate_version(entry.profile)
        ours = parse_profile(self._connector_profile(merchant_id))
        negotiation = negotiate(entry.profile.ucp.capabilities, ours.ucp.capabilities)
        if CHECKOUT not in negotiation:
            raise UcpError(
                "the merchant and the connector share no checkout capability",
                code=ErrorCode.CAPABILITIES_INCOMPATIBLE,
                detail={"rejected": sorted(negotiation.rejected)},
            )
        return NegotiatedMerchant(
            merchant_id=merchant_id,
            profile_url=entry.profile_url,
            endpoint=entry.endpoint,
            version=version,
            capabilities={name: capability.version for name, capability in negotiation.active.items()},
        )


def negotiate_version(profile: Profile) -> str:
    """The protocol version to speak: ours, if the merchant publishes it or maps it (OVR-01, OVR-44)."""
    if profile.ucp.version == UCP_VERSION or UCP_VERSION in (profile.ucp.supported_versions or {}):
        return UCP_VERSION
    raise UcpError(
        f"the merchant does not support UCP {UCP_VERSION} (it speaks {profile.ucp.version})",
        code=ErrorCode.VERSION_UNSUPPORTED,
        detail={"merchant_version": profile.ucp.version},
    )
