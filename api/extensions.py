"""The extensions a merchant negotiated, read when a request carries an extension member.

A request body with a member of a UCP extension (``fulfillment``,
``discounts``, ``ap2``; contracts.ucp.extensions) is checked against the
extensions the merchant and the connector negotiated: the same intersection
discovery computes for the session (merchants.discovery), from the same
cached profile, so the API and the workflow cannot disagree. An update or
complete whose body has none costs no profile read; while the profile cannot
be read, the strict models decide alone (an ``ap2`` member is then refused as
unknown).

A create always negotiates (``negotiated_merchant``; the profile is cached): the
session starts with the result, so its first workflow task needs no discovery
activity (issue 13). When the profile cannot be read, the session discovers it
itself, with the discovery activity's retries and error codes, as before.

Vendor extensions count too: the members the operator declared for this
merchant (``MerchantSettings.vendor_extensions``, core.vendor_extensions)
are extension members like ``discounts``, refused unless the merchant's
profile offers the extension, forwarded as sent when it does.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import structlog

from activities.types import MerchantProfileSummary
from api.security import VerifiedPlatform
from contracts import KeyStore, UcpError, parse_json
from contracts.ucp.extensions import extension_members
from core.settings import Settings
from merchants.discovery import MerchantDiscovery, NegotiatedMerchant
from merchants.platform_profile import profile_declared_to
from merchants.profiles import ProfileCache

log = structlog.get_logger(__name__)
NEGOTIATION_BOUND_SECONDS: Final = 1.0  # a create's wait for a profile the API has not cached (then: discovery)


@dataclass(frozen=True)
class NegotiatedExtensions:
    """What the request check needs: the negotiated capability names and the declared vendor members."""

    capabilities: frozenset[str]
    vendor: Mapping[str, str] = field(default_factory=dict)  # member -> vendor extension


def _vendor(settings: Settings, merchant_id: str) -> dict[str, str]:
    merchant = settings.merchants.get(merchant_id)
    return merchant.vendor_members() if merchant is not None else {}


async def negotiated_extensions(
    platform: VerifiedPlatform, settings: Settings, keys: KeyStore, profiles: ProfileCache, merchant_id: str
) -> NegotiatedExtensions | None:
    """The negotiated capability names, or ``None`` when the body names no extension member."""
    try:
        document: Any = parse_json(platform.body) if platform.body else None
    except UcpError:
        return None  # json_body reports the malformed body with its own code
    vendor = _vendor(settings, merchant_id)
    if not isinstance(document, dict) or not extension_members(document, vendor):
        return None

    negotiated = await _negotiate(settings, keys, profiles, merchant_id)
    # None: the merchant's profile cannot be read now; the strict models decide alone.
    return None if negotiated is None else NegotiatedExtensions(frozenset(negotiated.capabilities), vendor)


async def negotiated_merchant(
    settings: Settings,
    keys: KeyStore,
    profiles: ProfileCache,
    merchant_id: str,
    *,
    bound: float = NEGOTIATION_BOUND_SECONDS,
) -> MerchantProfileSummary | None:
    """What a new session starts with, so its create needs no discovery activity (issue 13): the same
    negotiation the session's discovery runs, on the same cached profile; ``None`` when it cannot be read now.

    A profile the API has not cached is fetched for at most ``bound``: a slow or hanging merchant profile
    must not hold the create before the session even starts (the API's wait bound starts after this);
    the session's discovery then fetches it with its own retries.
    """
    try:
        negotiated = await asyncio.wait_for(_negotiate(settings, keys, profiles, merchant_id), bound)
    except TimeoutError:
        log.info("extensions.negotiation_slow", merchant_id=merchant_id, bound_seconds=bound)
        return None
    return None if negotiated is None else MerchantProfileSummary(**dataclasses.asdict(negotiated))


async def _negotiate(
    settings: Settings, keys: KeyStore, profiles: ProfileCache, merchant_id: str
) -> NegotiatedMerchant | None:
    discovery = MerchantDiscovery(profiles, lambda merchant: profile_declared_to(settings, keys, merchant))
    try:
        return await discovery.negotiate(merchant_id)
    except UcpError as exc:
        # The session's own discovery then reports the merchant's state with its code, and retries.
        log.info("extensions.negotiation_unavailable", merchant_id=merchant_id, code=exc.code.value)
        return None
