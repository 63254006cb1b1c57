"""Discovery: read a registered merchant's profile and negotiate protocol version and capabilities with it.

The profile comes from the shared cache (:mod:`merchants.profiles`), which
applies the spec's fetching rules *and* picks the release: the highest one
both the merchant (``version`` and the keys of ``supported_versions``) and the
connector (its adapters, :mod:`merchants.releases`) speak, following
``supported_versions`` to the version-specific profile (overview.md
"Initial Service and Capability Discovery"). Negotiation is then the spec's
intersection algorithm (``contracts.ucp.negotiate``) between the merchant's
profile and the connector's own, declared *at that release* -- capability
versions intersect exactly, per release, never across profiles. Every failure
is a :class:`~contracts.UcpError`: the cache's ``profile_*`` codes,
``version_unsupported`` (OVR-44) or ``capabilities_incompatible`` (OVR-46).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from contracts import ErrorCode, UcpError
from contracts.ucp import CHECKOUT, negotiate
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
        ours = entry.adapter.our_capabilities(self._connector_profile(merchant_id))
        negotiation = negotiate(entry.profile.ucp.capabilities, ours)
        if CHECKOUT not in negotiation:
            raise UcpError(
                "the merchant and the connector share no checkout capability",
                code=ErrorCode.CAPABILITIES_INCOMPATIBLE,
                detail={"rejected": sorted(negotiation.rejected), "release": entry.release},
            )
        return NegotiatedMerchant(
            merchant_id=merchant_id,
            profile_url=entry.profile_url,
            endpoint=entry.endpoint,
            version=entry.release,
            capabilities={name: capability.version for name, capability in negotiation.active.items()},
        )
