"""``discover_merchant``: read a registered merchant's profile and negotiate version and capabilities.

The profile comes from the shared cache (``ucp_connector.merchant_profiles``),
which applies the spec's fetching rules; negotiation is the spec's
intersection algorithm (``contracts.ucp.profile.negotiate``) between the
connector's platform profile for this merchant and the merchant's profile.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from temporalio import activity

from activities.errors import application_error
from activities.types import DiscoverMerchantInput, MerchantProfileSummary
from contracts import ErrorCode, UcpError
from contracts.error_codes import UCP_VERSION
from contracts.ucp.profile import negotiate
from ucp_connector.merchant_profiles import ProfileCache


class DiscoveryActivities:
    def __init__(self, profiles: ProfileCache, connector_profile: Callable[[str], Mapping[str, Any]]) -> None:
        self._profiles = profiles
        self._connector_profile = connector_profile

    @activity.defn
    async def discover_merchant(self, request: DiscoverMerchantInput) -> MerchantProfileSummary:
        """Fetch (or reuse) the merchant profile and negotiate version and capabilities with it."""
        try:
            entry = await self._profiles.get(request.merchant_id)
        except UcpError as error:
            raise application_error(error, retryable=error.code is ErrorCode.PROFILE_UNREACHABLE) from error
        try:
            negotiated = negotiate(self._connector_profile(request.merchant_id), entry.profile, protocol_version=UCP_VERSION)
        except UcpError as error:
            raise application_error(error, retryable=False) from error
        return MerchantProfileSummary(
            merchant_id=request.merchant_id,
            profile_url=entry.profile_url,
            endpoint=entry.endpoint,
            version=negotiated.version,
            capabilities=negotiated.capabilities,
        )
