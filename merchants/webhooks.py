"""Merchant order webhooks: is this request really from the merchant its URL names? (order.md, SIG-23..25, SIG-31).

Checked in this order, each failure a :class:`~contracts.UcpError` with the
spec's code, before anything looks at the body:

1. the merchant id is registered (``404 not_found``);
2. the webhook is authenticated the way the merchant's *release* signs
   webhooks (its adapter, :mod:`merchants.releases`): 2026-04-08 and
   2026-08-25 -- ``UCP-Agent`` names exactly that merchant's registered
   profile URL (``400 invalid_profile_url`` when malformed, ``403
   profile_not_trusted`` with ``reason=identity_mismatch`` when it names anyone
   else) and the RFC 9421 signature verifies over the raw bytes with a key of
   that profile; 2026-01-11 -- a detached JWS in ``Request-Signature``. Either
   way with one budgeted profile refresh on an unknown ``kid`` (SIG-09), the
   same sequence as for the merchant's responses (:meth:`ProfileCache.verify_signature`);
3. ``Webhook-Timestamp`` is unix seconds, not in the future (required where
   the release defines it; ``400 validation_failed``);
4. the body is the release's order event, read into the canonical order
   (``400 validation_failed`` with a pointer otherwise), with its event id
   (``Webhook-Id``, or 2026-01-11's ``event_id``) and its *signed* identity,
   the digest of the raw body, which is what deduplicates it
   (``contracts.ucp.order_snapshots``). Webhooks are always
   signed: ``response_signatures = "when_present"`` never applies to them.

Assumption: coverage follows signatures.md's normative table (``ucp-agent``
is covered when present), not the shorter example in order.md.
"""

from __future__ import annotations

import time
from typing import Final

from contracts import ErrorCode, SignatureError, UcpError, parse_json
from contracts.ucp import WEBHOOK_TIMESTAMP_HEADER
from contracts.ucp.order_snapshots import event_identity, webhook_timestamp
from merchants.profiles import ProfileCache
from merchants.releases import ReceivedOrderEvent
from merchants.releases.base import header

_SIGNATURE_HEADERS: Final = frozenset({"signature", "signature-input", "request-signature"})


async def receive_order_webhook(
    profiles: ProfileCache, merchant_id: str, *, url: str, headers: list[tuple[str, str]], body: bytes
) -> ReceivedOrderEvent:
    """Authenticate a webhook ``POST`` to ``url`` (as the merchant signed it) and read it into the canonical order.

    The release is the one the connector speaks with this merchant: its
    adapter knows how that release signs webhooks and shapes their bodies.
    """
    try:
        merchant = profiles.merchant(merchant_id)
    except UcpError:
        raise UcpError("unknown merchant", code=ErrorCode.NOT_FOUND) from None
    if not any(name.lower() in _SIGNATURE_HEADERS for name, _ in headers):
        # Refused before the merchant's profile is even read: no release accepts an unsigned webhook.
        raise SignatureError("the webhook is not signed", code=ErrorCode.SIGNATURE_MISSING, detail={"reason": "absent"})
    entry = await profiles.get(merchant_id)
    adapter = entry.adapter
    signed_by = await profiles.verify_signature(
        entry,
        lambda keys: adapter.verify_webhook(
            url=url,
            headers=headers,
            body=body,
            keys=keys,
            merchant_profile_url=merchant.profile_url,
            allow_insecure_loopback=merchant.allow_insecure_loopback,
        ),
    )
    timestamp = webhook_timestamp(
        header(headers, WEBHOOK_TIMESTAMP_HEADER), now=int(time.time()), required=adapter.webhook_timestamp_required
    )
    webhook_id, order = adapter.decode_order_event(headers, parse_json(body))
    return ReceivedOrderEvent(
        webhook_id=webhook_id, order=order, signed_by=signed_by, event_key=event_identity(body), timestamp=timestamp
    )
