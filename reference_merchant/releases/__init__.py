"""The UCP releases the reference merchant speaks, one module each (see :mod:`.base` for the protocol).

=============  ==========================  ===========================================================
release        module                      in short
=============  ==========================  ===========================================================
2026-01-11     :mod:`.r2026_01_11`         as the official samples' Python merchant: list/object profile,
                                           ``Request-Id``/``Request-Signature`` headers, nothing signed,
                                           FastAPI error bodies
2026-04-08     :mod:`.r2026_04_08`         the platform-facing release; the merchant's native shapes
2026-08-25     :mod:`.r2026_08_25`         ``keys[]``, ``supported_versions`` leaf profiles, raw-body
                                           idempotency matching
=============  ==========================  ===========================================================

A merchant runs in one release (``MerchantConfig.ucp_version``) and may
serve older RFC 9421 releases beside it through ``supported_versions``
(2026-08-25 with 2026-04-08): each request is then served in the release its
platform's profile declares.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from reference_merchant.releases.base import Authentication, PlatformProfile, Release, Site
from reference_merchant.releases.r2026_01_11 import Release20260111
from reference_merchant.releases.r2026_04_08 import RELEASE as R2026_04_08
from reference_merchant.releases.r2026_08_25 import RELEASE as R2026_08_25

if TYPE_CHECKING:
    from reference_merchant.config import MerchantConfig

VERSIONS: Final = ("2026-01-11", "2026-04-08", "2026-08-25")
DEFAULT_VERSION: Final = "2026-04-08"


def release(
    version: str, *, sign_webhooks_2026_01_11: bool = False, ap2_mandates: bool = False, loyalty: bool = False
) -> Release:
    """The module object of ``version`` (``KeyError`` for a release this merchant does not implement).

    ``ap2_mandates`` gives the RFC 9421 releases their AP2 Mandates mode (2026-01-11 predates AP2 and ignores it);
    ``loyalty`` their com.example.loyalty vendor extension (reference_merchant.loyalty).
    """
    if version == "2026-01-11":
        return Release20260111(publish_keys=sign_webhooks_2026_01_11)
    module = {"2026-04-08": R2026_04_08, "2026-08-25": R2026_08_25}[version]
    if ap2_mandates or loyalty:
        return type(module)(version, ap2_mandates=ap2_mandates, loyalty=loyalty)
    return module


def served(config: MerchantConfig) -> dict[str, Release]:
    """Every release this merchant answers in: its own, then the older ones of ``supported_versions``."""
    versions = [config.ucp_version, *config.supported_versions]
    return {
        version: release(
            version,
            sign_webhooks_2026_01_11=config.sign_webhooks_2026_01_11,
            ap2_mandates=config.ap2_mandates,
            loyalty=config.loyalty_extension,
        )
        for version in versions
    }


def leaf_profile_url(config: MerchantConfig, version: str) -> str:
    """Where the version-specific profile of an older release lives (overview "Protocol Version")."""
    return f"{config.profile_url}/{version}"


def declared_version(document: object) -> str | None:
    """``ucp.version`` of a profile document, before knowing which release's shape it has."""
    ucp = document.get("ucp") if isinstance(document, dict) else None
    version = ucp.get("version") if isinstance(ucp, dict) else None
    return version if isinstance(version, str) else None


__all__ = [
    "DEFAULT_VERSION",
    "VERSIONS",
    "Authentication",
    "PlatformProfile",
    "Release",
    "Site",
    "declared_version",
    "leaf_profile_url",
    "release",
    "served",
]
