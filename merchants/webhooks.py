"""Merchant order webhooks: is this request really from the merchant its URL names? (order.md, SIG-23..25, SIG-31).

Checked in this order, each failure a :class:`~contracts.UcpError` with the
spec's code, before the API looks at the body:

1. the merchant id is registered (``404 not_found``);
2. ``UCP-Agent`` names exactly that merchant's registered profile URL
   (``400 invalid_profile_url`` when malformed, ``403 profile_not_trusted``
   with ``reason=identity_mismatch`` when it names anyone else);
3. the RFC 9421 signature verifies over the raw bytes with a key of that
   profile (``signature_missing``/``signature_invalid``/``digest_mismatch``...),
   with one budgeted profile refresh on an unknown ``kid`` (SIG-09) — the same
   sequence as for the merchant's responses (:meth:`ProfileCache.verify_signature`).

Assumption: coverage follows signatures.md's normative table (``ucp-agent``
is covered when present), not the shorter example in order.md.
"""

from __future__ import annotations

from contracts import ErrorCode, UcpError, VerifiedSignature, parse_ucp_agent, verify_request
from merchants.profiles import ProfileCache


async def verify_order_webhook(
    profiles: ProfileCache, merchant_id: str, *, url: str, headers: list[tuple[str, str]], body: bytes
) -> VerifiedSignature:
    """Authenticate a webhook ``POST`` to ``url`` (as the merchant signed it, see ``signed_target_uri``)."""
    try:
        merchant = profiles.merchant(merchant_id)
    except UcpError:
        raise UcpError("unknown merchant", code=ErrorCode.NOT_FOUND) from None
    agent = next((value for name, value in headers if name.lower() == "ucp-agent"), None)
    claimed = parse_ucp_agent(agent, business=True, allow_insecure_loopback=merchant.allow_insecure_loopback)
    if claimed != merchant.profile_url:
        raise UcpError(
            "UCP-Agent does not name this merchant's profile",
            code=ErrorCode.PROFILE_NOT_TRUSTED,
            detail={"reason": "identity_mismatch"},
        )
    entry = await profiles.get(merchant_id)
    return await profiles.verify_signature(
        entry, lambda keys: verify_request(method="POST", url=url, headers=headers, body=body or None, keys=keys)
    )
