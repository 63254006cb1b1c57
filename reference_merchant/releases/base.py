"""What a UCP release module provides: the merchant's internal model <-> that release's wire shapes.

The merchant's logic (catalog, pricing, lifecycle, orders, idempotency
ledger, webhook outbox) works on one internal model: the UCP 2026-04-08
request models of ``contracts.ucp`` for what a platform asks, and the
2026-04-08 checkout/order bodies rendered by :mod:`reference_merchant.pricing`
and :mod:`reference_merchant.orders` for what the merchant answers. A
:class:`Release` translates at the edge, and nowhere else:

* its business profile (``/.well-known/ucp`` and, for an older release the
  merchant still serves, the version-specific leaf profile) and how it reads
  a *platform* profile (keys, capabilities, order ``webhook_url``);
* request bodies -> internal request models (``create_request`` ...);
* internal bodies -> wire documents (``checkout_document``,
  ``order_document``) and errors -> status and body (``error_document``);
* its idempotency-matching rule (:meth:`Release.idempotency`);
* whether responses are signed, and how order webhooks are signed.

Adding a release is adding one module that implements this protocol and
registering it in :mod:`reference_merchant.releases`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from contracts import JwkSet, KeyStore, SigningKey, UcpError
from contracts.ucp import Capability, NegotiatedCapability
from contracts.ucp.checkout_requests import (
    CheckoutCompleteRequest,
    CheckoutCreateRequest,
    CheckoutUpdateRequest,
)

if TYPE_CHECKING:
    from reference_merchant.config import MerchantConfig


class Authentication(StrEnum):
    """How a release authenticates requests."""

    RFC9421 = "rfc9421"  # HTTP Message Signatures verified against the platform profile's keys
    HEADERS = "headers"  # 2026-01-11: required headers only (Request-Signature is not verified, like the samples)


@dataclass(frozen=True)
class PlatformProfile:
    """What the merchant uses from a platform's profile, whatever its release's shape."""

    version: str
    capabilities: dict[str, list[Capability]]
    keys: JwkSet
    webhook_url: str | None


@dataclass(frozen=True)
class Site:
    """What a business profile is built from."""

    config: MerchantConfig
    keys: KeyStore
    supported_versions: Mapping[str, str] = field(default_factory=dict)  # older release -> leaf profile URL


@dataclass(frozen=True)
class IdempotencyRecordKey:
    """Where a mutation's idempotency record lives (``scope``) and what a replay must match (``fingerprint``)."""

    scope: str
    fingerprint: str


class Release(Protocol):
    """One UCP release as the merchant speaks it (see the module docstring)."""

    version: str
    signs_responses: bool
    authentication: Authentication

    def business_capabilities(self) -> dict[str, list[Capability]]: ...

    def business_profile(self, site: Site) -> dict[str, Any]: ...

    def parse_platform_profile(self, document: object) -> PlatformProfile: ...

    def parse_body(self, body: bytes) -> object: ...

    def create_request(self, document: object, config: MerchantConfig) -> CheckoutCreateRequest: ...

    def update_request(self, document: object, config: MerchantConfig) -> CheckoutUpdateRequest: ...

    def complete_request(self, document: object) -> CheckoutCompleteRequest: ...

    def cancel_request(self, document: object) -> None: ...

    def checkout_document(
        self, body: dict[str, Any], capabilities: Sequence[NegotiatedCapability], config: MerchantConfig
    ) -> dict[str, Any]: ...

    def order_document(self, document: dict[str, Any], order_version: str) -> dict[str, Any]: ...

    def error_document(self, error: UcpError) -> tuple[int, Any]: ...

    def idempotency(self, *, key: str, operation: str, method: str, path: str, body: bytes) -> IdempotencyRecordKey: ...

    def webhook_headers(self, *, url: str, body: bytes, headers: dict[str, str], key: SigningKey) -> dict[str, str]:
        """Every header of an order webhook with body ``body``, from the dispatcher's ``headers``."""
        ...
