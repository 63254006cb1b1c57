"""The business profiles: ``/.well-known/ucp`` and the version-specific leaves (overview.md "Business Profile").

The profile at ``/.well-known/ucp`` is the one of the merchant's release
(``ucp_version``), in that release's shape (:mod:`reference_merchant.releases`):
the shopping service over REST at ``config.endpoint``; capabilities
checkout, order, fulfillment and discount (both extending checkout), each
with ``spec``/``schema`` on ucp.dev as the namespace binding requires
(OVR-03/04); the payment handler of :mod:`reference_merchant.payments`; and
the published public keys (the active one and any kept for rotation,
SIG-07/SIG-10) where the release publishes them. When the merchant also
serves older releases (``supported_versions``), the profile maps each to its
leaf at ``/.well-known/ucp/{version}``: a complete profile of that release
without ``supported_versions`` (2026-08-25 overview "Protocol Version").
Profiles are public (no signature needed to read them), served with
``Cache-Control: public, max-age=300`` (OVR-33) and no redirects.
"""

from __future__ import annotations

from typing import Any, Final

from contracts import KeyStore
from reference_merchant import releases
from reference_merchant.config import MerchantConfig
from reference_merchant.releases import Release, Site, leaf_profile_url

CACHE_CONTROL: Final = "public, max-age=300"


def business_profile(
    config: MerchantConfig, keys: KeyStore, served: dict[str, Release] | None = None
) -> dict[str, Any]:
    """The profile at ``/.well-known/ucp`` (``served`` defaults to the releases ``config`` names)."""
    served = served if served is not None else releases.served(config)
    supported: dict[str, str] = {v: leaf_profile_url(config, v) for v in config.supported_versions}
    return served[config.ucp_version].business_profile(Site(config, keys, supported))


def leaf_profile(config: MerchantConfig, keys: KeyStore, served: dict[str, Release], version: str) -> dict[str, Any]:
    """The version-specific profile of an older release this merchant serves (``KeyError`` otherwise)."""
    if version not in config.supported_versions:
        raise KeyError(version)
    return served[version].business_profile(Site(config, keys))
