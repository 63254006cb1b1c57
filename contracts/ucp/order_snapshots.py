"""Order webhook snapshots: which event is which, which snapshot is newer (order.md "Order Event Webhook").

A business retries failed deliveries (ORD-25), so a platform receives
duplicates and out-of-order snapshots, each a full order entity (ORD-24).
Three rules, all over what the merchant *signed*:

* **identity** -- ``Webhook-Id`` is not a covered signature component in
  either of the spec's examples, so anyone holding one signed delivery could
  re-send its bytes under a new id. The identity of an event is therefore the
  SHA-256 digest of the raw body (what ``Content-Digest`` commits to): the same
  signed bytes are the same event whatever header they travel with.
* **Webhook-Timestamp** -- the event's occurrence time in unix seconds
  (rest.openapi.json ``webhook_timestamp``, required). It must be an integer
  and not in the future beyond :data:`FUTURE_TOLERANCE_SECONDS` (clock skew);
  a retry keeps the event's time, so age alone is no reason to refuse.
* **order** -- a snapshot older than the stored one never replaces it.
  Fulfillment events are an append-only log and adjustments are too (or are
  updated in place, ORD-02/03): a snapshot with fewer of either, or whose
  latest ``occurred_at`` is earlier, is older whatever its (unsigned)
  timestamp says. Only when both logs are equal does ``Webhook-Timestamp``
  decide.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import Any, Final

from contracts.base64url import b64url_encode
from contracts.error_codes import ErrorCode
from contracts.errors import UcpError
from contracts.timestamps import parse_instant

FUTURE_TOLERANCE_SECONDS: Final = 300
UCP_VERSION: Final = "2026-04-08"
ORDER_CAPABILITY: Final = "dev.ucp.shopping.order"
ORDER_EVENT_TYPE: Final = "order.updated"  # the workflow's notification of an order snapshot
MAX_TIMESTAMP_DIGITS: Final = 12


def event_identity(body: bytes) -> str:
    """The signed identity of a webhook event: ``sha-256:<base64url digest of the raw body>``."""
    return "sha-256:" + b64url_encode(hashlib.sha256(body).digest())


def webhook_timestamp(value: str | None, *, now: int, required: bool) -> int | None:
    """``Webhook-Timestamp`` as unix seconds; ``validation_failed`` when malformed, missing or in the future."""
    if value is None or not value.strip():
        if required:
            raise UcpError(
                "Webhook-Timestamp header is required", code=ErrorCode.VALIDATION_FAILED, detail={"reason": "missing"}
            )
        return None
    text = value.strip()
    if not text.isdigit() or len(text) > MAX_TIMESTAMP_DIGITS:
        raise UcpError(
            "Webhook-Timestamp must be unix seconds (an integer)",
            code=ErrorCode.VALIDATION_FAILED,
            detail={"reason": "malformed"},
        )
    timestamp = int(text)
    if timestamp > now + FUTURE_TOLERANCE_SECONDS:
        raise UcpError(
            "Webhook-Timestamp is in the future", code=ErrorCode.VALIDATION_FAILED, detail={"reason": "future"}
        )
    return timestamp


def _entries(order: Mapping[str, Any], *path: str) -> list[Mapping[str, Any]]:
    node: Any = order
    for member in path:
        node = node.get(member) if isinstance(node, Mapping) else None
    return [entry for entry in node if isinstance(entry, Mapping)] if isinstance(node, list) else []


def log_position(order: Mapping[str, Any]) -> tuple[int, int, dt.datetime | None]:
    """(fulfillment events, adjustments, latest ``occurred_at`` of either): how far the order's logs reach."""
    events = _entries(order, "fulfillment", "events")
    adjustments = _entries(order, "adjustments")
    instants = [moment for entry in (*events, *adjustments) if (moment := parse_instant(entry.get("occurred_at")))]
    return len(events), len(adjustments), max(instants) if instants else None


def is_older_snapshot(
    candidate: Mapping[str, Any],
    candidate_timestamp: int | None,
    stored: Mapping[str, Any] | None,
    stored_timestamp: int | None,
) -> bool:
    """Whether ``candidate`` is older than the ``stored`` snapshot of the same order, so must not replace it."""
    if stored is None or candidate.get("id") != stored.get("id"):
        return False
    new_events, new_adjustments, new_latest = log_position(candidate)
    old_events, old_adjustments, old_latest = log_position(stored)
    if new_events < old_events or new_adjustments < old_adjustments:
        return True
    if old_latest is not None and (new_latest is None or new_latest < old_latest):
        return True
    same_logs = (new_events, new_adjustments, new_latest) == (old_events, old_adjustments, old_latest)
    return (
        same_logs
        and candidate_timestamp is not None
        and stored_timestamp is not None
        and candidate_timestamp < stored_timestamp
    )


def webhook_acknowledgement() -> dict[str, Any]:
    """The 200 body of ``order_event_webhook`` (rest.openapi.json: ``ucp`` required; order only, OVR-27)."""
    return {
        "ucp": {
            "version": UCP_VERSION,
            "status": "success",
            "capabilities": {ORDER_CAPABILITY: [{"version": UCP_VERSION}]},
        }
    }


def order_webhook_document(order: Mapping[str, Any], *, checkout_id: str | None = None) -> dict[str, Any]:
    """The order entity a platform receives as a UCP order webhook (order.md; ORD-23/24: the full entity).

    The merchant's snapshot is already canonical; its ``ucp`` envelope becomes
    the one the platform negotiated with the connector (2026-04-08, order
    only, OVR-27), and ``checkout_id`` the id the platform knows the checkout
    by (the connector's session id), so it can correlate (ORD-06).
    """
    document = {**webhook_acknowledgement(), **{key: value for key, value in order.items() if key != "ucp"}}
    if checkout_id is not None:
        document["checkout_id"] = checkout_id
    return document


def declared_order_webhook_url(profile: Mapping[str, Any]) -> str | None:
    """``dev.ucp.shopping.order[].config.webhook_url`` of a platform profile (order.md "Webhook URL Configuration")."""
    ucp = profile.get("ucp")
    capabilities = ucp.get("capabilities") if isinstance(ucp, Mapping) else None
    entries = capabilities.get(ORDER_CAPABILITY) if isinstance(capabilities, Mapping) else None
    for entry in entries if isinstance(entries, list) else []:
        config = entry.get("config") if isinstance(entry, Mapping) else None
        url = config.get("webhook_url") if isinstance(config, Mapping) else None
        if isinstance(url, str) and url:
            return url
    return None
