"""UCP 2026-04-08, the platform-facing release (``../shared/ucp-spec``): the merchant's native shapes.

The internal model *is* this release's wire model, so requests parse straight
into the strict ``contracts.ucp`` models and bodies leave as rendered, inside
the ``ucp`` envelope (version, ``status: success``, the response's
capabilities registry, payment handlers on checkouts).

* Profile: ``services``/``capabilities``/``payment_handlers`` are registries
  of arrays keyed by reverse-domain name; keys in ``signing_keys[]``
  (signatures.md "Key Discovery"); served with ``Cache-Control: public``.
* Signing: every response, errors included, carries an RFC 9421 signature
  over ``@status content-digest content-type`` (signatures.md "REST Response
  Signing"; the spec makes error signatures optional, SIG-30). Order webhooks
  are RFC 9421-signed requests (SIG-28).
* Errors: protocol errors are ``{"code", "content", ...}`` with the
  registry's status; business outcomes are ``200`` with the error envelope
  (checkout-rest.md "Error Responses", types/error_response.json).
* Idempotency: a record per (platform, key); a replay must match sha-256 over
  (method, path, body digest), so the same key on another operation or
  session is a conflict (IDM-03) and a retry must resend byte-identical bytes
  (IDM-12). (Assumption: the spec says "same payload"; binding the target too
  is stricter and costs a platform nothing.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from contracts import UcpError, parse_json, sign_request
from contracts.ucp import (
    CHECKOUT,
    DISCOUNT,
    FULFILLMENT,
    ORDER,
    SHOPPING_SERVICE,
    Capability,
    NegotiatedCapability,
    parse_model,
    parse_profile,
)
from contracts.ucp.ap2 import AP2_MANDATE
from contracts.ucp.checkout_requests import (
    CheckoutCancelRequest,
    CheckoutCompleteRequest,
    CheckoutCreateRequest,
    CheckoutUpdateRequest,
)
from reference_merchant.loyalty import LOYALTY
from reference_merchant.loyalty import capability_entry as loyalty_entry
from reference_merchant.payments import payment_handlers
from reference_merchant.releases.base import Authentication, IdempotencyRecordKey, PlatformProfile, Site
from reference_merchant.responses import BusinessOutcome

if TYPE_CHECKING:
    from contracts import SigningKey
    from reference_merchant.config import MerchantConfig

VERSION: Final = "2026-04-08"


def capability_entries(
    version: str, *, ap2_mandates: bool = False, loyalty: bool = False
) -> dict[str, list[dict[str, Any]]]:
    """The capability registry of a 2026-04-08-style profile at ``version`` (spec/schema on ucp.dev, OVR-03/04).

    ``ap2_mandates`` (MerchantConfig.ap2_mandates) adds AP2 Mandates as ap2-mandates.md "Business Profile
    Advertisement" shows it (:mod:`reference_merchant.ap2`); ``loyalty`` (MerchantConfig.loyalty_extension) the
    vendor extension com.example.loyalty (:mod:`reference_merchant.loyalty`).
    """
    base = f"https://ucp.dev/{version}"

    def entry(name: str, **extra: Any) -> dict[str, Any]:
        return {
            "version": version,
            "spec": f"{base}/specification/{name}",
            "schema": f"{base}/schemas/shopping/{name}.json",
            **extra,
        }

    entries = {
        CHECKOUT: [entry("checkout")],
        ORDER: [entry("order")],
        FULFILLMENT: [entry("fulfillment", extends=CHECKOUT, config={"allows_multi_destination": {"shipping": False}})],
        DISCOUNT: [entry("discount", extends=CHECKOUT)],
    }
    if ap2_mandates:
        entries[AP2_MANDATE] = [
            {
                "version": version,
                "spec": f"{base}/specification/ap2-mandates",
                "schema": f"{base}/schemas/shopping/ap2_mandate.json",
                "extends": CHECKOUT,
                "config": {"vp_formats_supported": {"dc+sd-jwt": {}}},
            }
        ]
    if loyalty:
        entries[LOYALTY] = [loyalty_entry(version)]
    return entries


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), hashlib.sha256(body).digest()):
        digest.update(len(part).to_bytes(4, "big") + part)
    return digest.hexdigest()


class SignedRelease:
    """A release authenticated and signed with RFC 9421 (2026-04-08 and, with a few changes, 2026-08-25)."""

    signs_responses = True
    authentication = Authentication.RFC9421
    key_member = "signing_keys"

    def __init__(self, version: str, *, ap2_mandates: bool = False, loyalty: bool = False) -> None:
        self.version = version
        self.ap2_mandates = ap2_mandates
        self.loyalty = loyalty

    # -- discovery ------------------------------------------------------------------------------

    def payment_handlers(self) -> dict[str, list[dict[str, Any]]]:
        """The handler registry of the profile and of every checkout (:mod:`reference_merchant.payments`)."""
        return payment_handlers(self.version)

    def business_capabilities(self) -> dict[str, list[Capability]]:
        return {
            name: [Capability.model_validate(entry) for entry in entries]
            for name, entries in capability_entries(
                self.version, ap2_mandates=self.ap2_mandates, loyalty=self.loyalty
            ).items()
        }

    def business_profile(self, site: Site) -> dict[str, Any]:
        version = self.version
        ucp: dict[str, Any] = {"version": version}
        if site.supported_versions:
            ucp["supported_versions"] = dict(site.supported_versions)
        ucp.update(
            {
                "services": {
                    SHOPPING_SERVICE: [
                        {
                            "version": version,
                            "spec": f"https://ucp.dev/{version}/specification/overview",
                            "transport": "rest",
                            "schema": f"https://ucp.dev/{version}/services/shopping/rest.openapi.json",
                            "endpoint": site.config.endpoint,
                        }
                    ]
                },
                "capabilities": capability_entries(version, ap2_mandates=self.ap2_mandates, loyalty=self.loyalty),
                "payment_handlers": self.payment_handlers(),
            }
        )
        return {"ucp": ucp, self.key_member: site.keys.jwks.signing_keys()}

    def parse_platform_profile(self, document: object) -> PlatformProfile:
        profile = parse_profile(document)
        return PlatformProfile(
            version=profile.ucp.version,
            capabilities=profile.ucp.capabilities,
            keys=profile.jwks(),
            webhook_url=profile.webhook_url(),
        )

    # -- requests -------------------------------------------------------------------------------

    def parse_body(self, body: bytes) -> object:
        """A request body as JSON (``malformed_json`` otherwise, an empty body included)."""
        return parse_json(body)

    def create_request(self, document: object, config: MerchantConfig) -> CheckoutCreateRequest:
        return parse_model(CheckoutCreateRequest, document, what="create_checkout request")

    def update_request(self, document: object, config: MerchantConfig) -> CheckoutUpdateRequest:
        return parse_model(CheckoutUpdateRequest, document, what="update_checkout request")

    def complete_request(self, document: object) -> CheckoutCompleteRequest:
        return parse_model(CheckoutCompleteRequest, document, what="complete_checkout request")

    def cancel_request(self, document: object) -> None:
        parse_model(CheckoutCancelRequest, document, what="cancel_checkout request")

    # -- responses ------------------------------------------------------------------------------

    def checkout_document(
        self, body: dict[str, Any], capabilities: Sequence[NegotiatedCapability], config: MerchantConfig
    ) -> dict[str, Any]:
        envelope = {
            "version": self.version,
            "status": "success",
            "capabilities": {entry.name: [{"version": entry.version}] for entry in capabilities},
            "payment_handlers": self.payment_handlers(),
        }
        return {"ucp": envelope, **body}

    def order_document(self, document: dict[str, Any], order_version: str) -> dict[str, Any]:
        envelope = {"version": self.version, "status": "success", "capabilities": {ORDER: [{"version": order_version}]}}
        return {"ucp": envelope, **document}

    def error_document(self, error: UcpError) -> tuple[int, Any]:
        """Protocol error body, or the 200 error envelope for a business outcome."""
        if isinstance(error, BusinessOutcome):
            return 200, self.error_envelope(
                error.code.value,
                error.content,
                severity=error.severity,
                path=error.path,
                continue_url=error.continue_url,
                capabilities=error.capabilities,
            )
        if error.http_status == 200:
            return 200, self.error_envelope(error.code.value, error.content, continue_url=error.continue_url)
        return error.http_status, error.to_json_dict()

    def error_envelope(
        self,
        code: str,
        content: str,
        *,
        severity: str = "unrecoverable",
        path: str | None = None,
        continue_url: str | None = None,
        capabilities: Sequence[NegotiatedCapability] | None = None,
    ) -> dict[str, Any]:
        """types/error_response.json: no resource, ``ucp.status: error``, at least one message."""
        message: dict[str, Any] = {"type": "error", "code": code, "content": content, "severity": severity}
        if path is not None:
            message["path"] = path
        ucp: dict[str, Any] = {"version": self.version, "status": "error"}
        if capabilities is not None:
            ucp["capabilities"] = {entry.name: [{"version": entry.version}] for entry in capabilities}
        document: dict[str, Any] = {"ucp": ucp, "messages": [message]}
        if continue_url is not None:
            document["continue_url"] = continue_url
        return document

    # -- idempotency and webhooks -----------------------------------------------------------------

    def idempotency(self, *, key: str, operation: str, method: str, path: str, body: bytes) -> IdempotencyRecordKey:
        return IdempotencyRecordKey(scope=key, fingerprint=request_fingerprint(method, path, body))

    def webhook_headers(self, *, url: str, body: bytes, headers: dict[str, str], key: SigningKey) -> dict[str, str]:
        """The headers to send: ``headers`` plus the RFC 9421 signature over them (SIG-28)."""
        return {**headers, **sign_request(method="POST", url=url, headers=headers, body=body, key=key)}


RELEASE: Final = SignedRelease(VERSION)
