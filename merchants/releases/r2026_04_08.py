"""UCP 2026-04-08 at the merchant edge: the canonical release, so translation is (almost) the identity.

* profile: ``ucp.services``/``capabilities``/``payment_handlers`` registries
  keyed by name, keys in ``signing_keys[]`` (overview.md "Profile Structure");
* requests: RFC 9421 signatures (signatures.md "REST Request Signing") and
  ``Request-Id``; the body is the canonical one, except that an update's
  ``id`` names the *merchant's* checkout (the platform sent the connector's
  ``cs_...`` id, which the merchant has never seen; issue 12 item 9);
* responses: RFC 9421 over ``@status``, ``content-digest``, ``content-type``
  (RECOMMENDED, signatures.md "When Signatures Apply"), the body validated
  against the canonical models;
* webhooks: ``UCP-Agent`` names the merchant's profile, RFC 9421 signature,
  Standard Webhooks ``Webhook-Id`` (order.md "Order Event Webhook");
* idempotency: "409 if the key is reused with different parameters"
  (checkout-rest.md "Specific Header Requirements"), keys typed ``uuid``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from contracts import (
    ErrorCode,
    JwkSet,
    KeyStore,
    UcpError,
    parse_ucp_agent,
    verify_request,
    verify_response,
)
from contracts.httpx_auth import RequestSigner
from contracts.ucp import (
    WEBHOOK_ID_HEADER,
    RestOperation,
    dump,
    parse_business_profile,
    parse_checkout_response,
    parse_order_event,
    parse_order_response,
)
from merchants.releases.base import (
    CANONICAL_VERSION,
    IdempotencyRule,
    ReleaseAdapter,
    ReleaseProfile,
    header,
    response_invalid,
)


class Release20260408(ReleaseAdapter):
    version: ClassVar[str] = "2026-04-08"
    idempotency: ClassVar[IdempotencyRule] = IdempotencyRule(payload_match="parameters", key_format="uuid")

    # ------------------------------------------------------------ discovery

    def parse_profile(self, document: Mapping[str, Any]) -> ReleaseProfile:
        return self.release_profile(document)

    def release_profile(self, canonical: Mapping[str, Any]) -> ReleaseProfile:
        """A profile already in the canonical shape (this release's, or one a subclass translated into it)."""
        profile = parse_business_profile(dict(canonical))
        presented = copy.deepcopy(dict(canonical))
        presented.get("ucp", {}).pop("supported_versions", None)
        return ReleaseProfile(
            version=profile.ucp.version,
            profile=profile,
            presented=presented,
            keys=profile.jwks(),
            supported_versions=dict(profile.ucp.supported_versions or {}),
        )

    def platform_profile(self, canonical: Mapping[str, Any]) -> dict[str, Any]:
        return copy.deepcopy(dict(canonical))

    # ------------------------------------------------------------- requests

    def encode_request(
        self,
        operation: RestOperation,
        body: Mapping[str, Any] | None,
        *,
        merchant_checkout_id: str | None,
        current: Mapping[str, Any] | None = None,
        default_currency: str | None = None,
    ) -> dict[str, Any] | None:
        if operation in (RestOperation.GET, RestOperation.GET_ORDER):
            return None
        wire = copy.deepcopy(dict(body or {}))
        if operation is RestOperation.UPDATE and "id" in wire and merchant_checkout_id is not None:
            wire["id"] = merchant_checkout_id  # ids are mapped both ways: the merchant knows only its own
        return wire

    def request_signer(self, keys: KeyStore) -> httpx.Auth:
        return RequestSigner(keys)

    # ------------------------------------------------------------ responses

    def response_signature_present(self, headers: httpx.Headers) -> bool:
        return "signature" in headers or "signature-input" in headers

    def verify_response(self, status: int, headers: list[tuple[str, str]], body: bytes, keys: JwkSet) -> str:
        return verify_response(status=status, headers=headers, body=body, keys=keys).key.kid

    def decode_response(self, operation: RestOperation, document: object) -> dict[str, Any]:
        canonical = self.to_canonical(operation, document)
        self.validate(operation, canonical)
        return canonical

    def to_canonical(self, operation: RestOperation, document: object) -> dict[str, Any]:
        """The release's document in canonical shape, before validation (the identity here)."""
        if not isinstance(document, Mapping):
            raise response_invalid(self.version, "", "expected a JSON object")
        return dict(document)

    def validate(self, operation: RestOperation, canonical: Mapping[str, Any], release: str | None = None) -> None:
        """Validate against the canonical models; a failure names the pointer and the merchant's release."""
        try:
            if operation.answers_with_order:
                parse_order_response(canonical)
            else:
                parse_checkout_response(canonical)
        except UcpError as error:
            raise response_invalid(release or self.version, error.pointer, error.content) from error

    # ------------------------------------------------------------- webhooks

    def verify_webhook(
        self,
        *,
        url: str,
        headers: list[tuple[str, str]],
        body: bytes,
        keys: JwkSet,
        merchant_profile_url: str,
        allow_insecure_loopback: bool,
    ) -> str:
        claimed = parse_ucp_agent(
            header(headers, "ucp-agent"), business=True, allow_insecure_loopback=allow_insecure_loopback
        )
        if claimed != merchant_profile_url:
            raise UcpError(
                "UCP-Agent does not name this merchant's profile",
                code=ErrorCode.PROFILE_NOT_TRUSTED,
                detail={"reason": "identity_mismatch"},
            )
        return verify_request(method="POST", url=url, headers=headers, body=body or None, keys=keys).key.kid

    def decode_order_event(self, headers: list[tuple[str, str]], document: object) -> tuple[str, dict[str, Any]]:
        webhook_id = header(headers, WEBHOOK_ID_HEADER)
        if not webhook_id or len(webhook_id) > 256:
            raise UcpError("Webhook-Id header is required", code=ErrorCode.VALIDATION_FAILED, pointer="")
        order = parse_order_event(self.order_event_to_canonical(document), code=ErrorCode.VALIDATION_FAILED)
        return webhook_id, dump(order)

    def order_event_to_canonical(self, document: object) -> object:
        return document


def with_canonical_version(ucp: Mapping[str, Any], release: str) -> dict[str, Any]:
    """A response's ``ucp`` envelope as the platform-facing API speaks it: canonical version numbers.

    The platform negotiated UCP 2026-04-08 with the connector; which release
    the merchant speaks is the connector's business (it shows in ``detail``
    fields and the session's audit trail, never in the resource).
    """
    envelope = copy.deepcopy(dict(ucp))
    envelope["version"] = CANONICAL_VERSION
    for registry in ("capabilities", "services"):
        entries = envelope.get(registry)
        if isinstance(entries, dict):
            envelope[registry] = {
                name: [
                    {**entry, "version": CANONICAL_VERSION}
                    if isinstance(entry, dict) and name.startswith("dev.ucp.") and entry.get("version") == release
                    else entry
                    for entry in (bindings if isinstance(bindings, list) else [])
                ]
                for name, bindings in entries.items()
            }
    return envelope


ADAPTER = Release20260408()
