"""The UCP releases the connector speaks to merchants: one adapter module per release.

Each ``rYYYY_MM_DD`` module of this package defines ``ADAPTER``, a
:class:`~merchants.releases.base.ReleaseAdapter` for that release; the
registry below finds them by module name, so adding a release is adding one
module (and its tests), nothing else. The platform-facing API speaks the
canonical release (:data:`~merchants.releases.base.CANONICAL_VERSION`); to
serve another release to platforms, the same adapter runs the other way round
(README "UCP releases").

* :func:`adapter_for` -- the adapter of one release (``version_unsupported`` if none);
* :func:`select_release` -- the highest release both the merchant (its
  ``version`` and ``supported_versions`` keys) and the connector (its
  adapters, narrowed by the merchant's ``ucp_versions`` setting) speak
  (overview.md "Initial Service and Capability Discovery": prefer the most recent).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterable
from typing import Final

from contracts import ErrorCode, UcpError
from merchants.releases.base import (
    CANONICAL_VERSION,
    IdempotencyRule,
    ReceivedOrderEvent,
    ReleaseAdapter,
    ReleaseProfile,
)

_MODULE: Final = re.compile(r"r(\d{4})_(\d{2})_(\d{2})")


def _discover() -> dict[str, ReleaseAdapter]:
    found: dict[str, ReleaseAdapter] = {}
    for module in pkgutil.iter_modules(__path__):
        if _MODULE.fullmatch(module.name):
            adapter = importlib.import_module(f"{__name__}.{module.name}").ADAPTER
            if not isinstance(adapter, ReleaseAdapter) or adapter.version != "-".join(
                _MODULE.fullmatch(module.name).groups()  # type: ignore[union-attr]
            ):
                raise TypeError(f"{module.name}.ADAPTER is not the ReleaseAdapter of its release")
            found[adapter.version] = adapter
    return dict(sorted(found.items()))


ADAPTERS: Final[dict[str, ReleaseAdapter]] = _discover()
RELEASES: Final[tuple[str, ...]] = tuple(ADAPTERS)


def adapter_for(version: str) -> ReleaseAdapter:
    try:
        return ADAPTERS[version]
    except KeyError:
        raise UcpError(
            f"the connector has no adapter for UCP {version}",
            code=ErrorCode.VERSION_UNSUPPORTED,
            detail={"merchant_version": version, "connector_versions": list(RELEASES)},
        ) from None


def select_release(merchant_versions: Iterable[str], allowed: Iterable[str] | None = None) -> str:
    """The highest release both sides speak; ``version_unsupported`` when there is none (OVR-44)."""
    offered = sorted(set(merchant_versions))
    ours = set(RELEASES) if allowed is None else set(RELEASES) & set(allowed)
    mutual = [version for version in offered if version in ours]
    if not mutual:
        raise UcpError(
            f"the merchant speaks UCP {', '.join(offered) or 'nothing'}; the connector {', '.join(sorted(ours))}",
            code=ErrorCode.VERSION_UNSUPPORTED,
            detail={"merchant_versions": offered, "connector_versions": sorted(ours)},
        )
    return mutual[-1]  # YYYY-MM-DD: the latest date sorts last


__all__ = [
    "ADAPTERS",
    "CANONICAL_VERSION",
    "RELEASES",
    "IdempotencyRule",
    "ReceivedOrderEvent",
    "ReleaseAdapter",
    "ReleaseProfile",
    "adapter_for",
    "select_release",
]
