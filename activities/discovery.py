"""``discover_merchant``: the activity around :class:`merchants.discovery.MerchantDiscovery`.

Discovery and negotiation live in ``merchants/``; this module only maps the
result to the workflow's ``MerchantProfileSummary`` and a failure to the one
error codec. A discovery failure is retryable exactly while the profile is
unreachable (``profile_failure``); a malformed or untrusted profile, an
unsupported version and incompatible capabilities are final.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from temporalio import activity

from activities.errors import profile_failure
from activities.types import ActivityName, DiscoverMerchantInput, MerchantProfileSummary
from contracts import UcpError
from merchants.discovery import MerchantDiscovery
from merchants.profiles import ProfileCache


class DiscoveryActivities:
    def __init__(self, profiles: ProfileCache, connector_profile: Callable[[str], Mapping[str, Any]]) -> None:
        self._discovery = MerchantDiscovery(profiles, connector_profile)

    @activity.defn(name=ActivityName.DISCOVER_MERCHANT)
    async def discover_merchant(self, request: DiscoverMerchantInput) -> MerchantProfileSummary:
        """Fetch (or reuse) the merchant profile and negotiate version and capabilities with it."""
        try:
            merchant = await self._discovery.negotiate(request.merchant_id)
        except UcpError as error:
            raise profile_failure(error) from error
        return MerchantProfileSummary(**dataclasses.asdict(merchant))
