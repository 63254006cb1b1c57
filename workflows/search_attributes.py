"""The search attributes that let an operator find a session in the Temporal UI.

``UcpPlatform`` and ``UcpMerchant`` are set when a session starts, ``UcpStatus``
whenever the merchant's status changes, so ``UcpStatus = "complete_in_progress"``
finds every session waiting on a merchant at 3 a.m.; ``UcpMerchantVersion`` is
the UCP release negotiated with the merchant (``UcpMerchantVersion =
"2026-01-11"`` finds the sessions an older merchant serves). They are part of the
workflow's vocabulary, like its update names: the workflow sets them, the API
starts sessions with them, and ``worker.search_attributes`` registers them.
"""

from __future__ import annotations

from typing import Any, Final

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributePair, SearchAttributeUpdate, TypedSearchAttributes

PLATFORM: Final = SearchAttributeKey.for_keyword("UcpPlatform")
MERCHANT: Final = SearchAttributeKey.for_keyword("UcpMerchant")
STATUS: Final = SearchAttributeKey.for_keyword("UcpStatus")
MERCHANT_VERSION: Final = SearchAttributeKey.for_keyword("UcpMerchantVersion")
ALL: Final = (PLATFORM, MERCHANT, STATUS, MERCHANT_VERSION)


def upsert(status: str | None, release: str | None = None) -> None:
    """One upsert (one history event) for a new status and, with the first one, the negotiated release."""
    updates: list[SearchAttributeUpdate[Any]] = [] if status is None else [STATUS.value_set(status)]
    if release is not None:
        updates.append(MERCHANT_VERSION.value_set(release))
    workflow.upsert_search_attributes(updates)


def at_start(platform_id: str, merchant_id: str, status: str) -> TypedSearchAttributes:
    """What a session's workflow (or its order workflow) starts with: who it is for, and its status."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(PLATFORM, platform_id),
            SearchAttributePair(MERCHANT, merchant_id),
            SearchAttributePair(STATUS, status),
        ]
    )
