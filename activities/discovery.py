"""``discover_merchant``: read a registered merchant's profile and negotiate version and capabilities.

The profile comes from the shared cache (``merchants.profiles``),
which applies the spec's fetching rules; negotiation is the spec's
intersection algorithm (``contracts.ucp.profile.negotiate``) between the
connector's platform profile for this merchant and the merchant's profile.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from temporalio import activity

from activities.errors import encode_failure, profile_failure
from activities.types import ActivityName, DiscoverMerchantInput, MerchantProfileSummary
from contracts import ErrorCode, UcpError
from contracts.error_codes import UCP_VERSION
from contracts.ucp import CHECKOUT, Profile, negotiate, parse_profile
from merchants.profiles import ProfileCache


class DiscoveryActivities:
    def __init__(self, profiles: ProfileCache, connector_profile: Callable[[str], Mapping[str, Any]]) -> None:
        self._profiles = profiles
        self._connector_profile = connector_profile

    @activity.defn(name=ActivityName.DISCOVER_MERCHANT)
    async def discover_merchant(self, request: DiscoverMerchantInput) -> MerchantProfileSummary:
        """Fetch (or reuse) the merchant profile and negotiate version and capabilities with it."""
        try:
            entry = await self._profiles.get(request.merchant_id)
        except UcpError as error:
            raise profile_failure(error) from error
        try:
            version = negotiate_version(entry.profile)
            ours = parse_profile(self._connector_profile(request.merchant_id))
            negotiation = negotiate(entry.profile.ucp.capabilities, ours.ucp.capabilities)
            if CHECKOUT not in negotiation:
                raise UcpError(
                    "the merchant and the connector share no checkout capability",
                    code=ErrorCode.CAPABILITIES_INCOMPATIBLE,
                    detail={"rejected": sorted(negotiation.rejected)},
                )
        except UcpError as error:
            raise encode_failure(error, retryable=False) from error
        return MerchantProfileSummary(
            merchant_id=request.merchant_id,
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
