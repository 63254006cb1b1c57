"""UCP 2026-08-25: the rc spec (``../shared/ucp-spec-2026-08-25-rc``) as corrected by PyPI ``ucp-sdk`` 0.5.x.

Where the rc text and the SDK's models (generated from the final schemas)
differ, the SDK wins. Against 2026-04-08 (``ucp-sdk`` 0.4.x), what changes on
the wire this merchant produces:

* Profile keys are ``keys[]`` (profile.json ``JwkPublicKey``), not
  ``signing_keys[]``; a platform profile's keys are read from ``keys`` too.
* ``supported_versions`` maps each older release the business still serves to
  a version-specific *leaf* profile URL (overview "Protocol Version"): this
  merchant publishes ``{base_url}/.well-known/ucp/{version}`` (the pattern of
  the spec's example), a complete profile of that release whose
  ``ucp.version`` equals the key and which has no ``supported_versions``.
  Requests are then served in the release the platform's profile declares
  (overview "Request-Time Validation"); anything else is
  ``version_unsupported``.
* A payment handler's ``available_instruments[].constraints`` is a
  Constraint Expression over the instrument's ``constraint_target``
  (``{"properties": {"brand": {"enum": [...]}}}``), not ``{"brands": [...]}``.
* Destinations in responses carry their discriminator ``type``
  (``shipping_address``; fulfillment_destination.json), optional in requests.
* A fulfillment option's ``description`` is a Description object
  (``{"plain": ...}``, fulfillment_option_base.json), not a string.
* Checkouts and orders may carry ``policies``/``actions`` (optional; this
  merchant sends none), capability ``extends`` may be a list (it sends a
  string), and message ``code`` is an open string.

Signature rules (signatures.md): RFC 9421 with the same covered components as
2026-04-08 for ES256 (``@method @authority @path``, ``@query``, ``ucp-agent``,
``idempotency-key`` on mutations, ``content-digest content-type`` with a
body; responses ``@status content-digest content-type``). ``created`` is
optional for default UCP signatures (it is still sent). Webhooks MUST be
signed; other responses are signed too (RECOMMENDED for completions).
Web Bot Auth (``Signature-Agent``) shapes are not supported: such a request
fails verification like any signature over components we do not require.

Idempotency (signatures.md "Payload Matching"): a duplicate key matches when
the SHA-256 of the raw body bytes is equal. Keys are unique "per-client,
per-operation type": the record is scoped by (platform, method and path,
key). Assumption: scoping by the target path rather than the operation type
alone, so one key reused on another session is a fresh request there and
never a replay of the first session's answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from contracts.ucp import FULFILLMENT, NegotiatedCapability, parse_profile
from contracts.ucp.checkout_requests import CheckoutCreateRequest, CheckoutUpdateRequest
from reference_merchant.releases.base import IdempotencyRecordKey, PlatformProfile
from reference_merchant.releases.r2026_04_08 import SignedRelease

if TYPE_CHECKING:
    from reference_merchant.config import MerchantConfig

VERSION: Final = "2026-08-25"


class Release20260825(SignedRelease):
    key_member = "keys"

    def create_request(self, document: object, config: MerchantConfig) -> CheckoutCreateRequest:
        return super().create_request(_without_destination_types(document), config)

    def update_request(self, document: object, config: MerchantConfig) -> CheckoutUpdateRequest:
        return super().update_request(_without_destination_types(document), config)

    def payment_handlers(self) -> dict[str, list[dict[str, Any]]]:
        handlers = super().payment_handlers()
        for entries in handlers.values():
            for handler in entries:
                for instrument in handler.get("available_instruments", []):
                    brands = (instrument.get("constraints") or {}).pop("brands", None)
                    if brands is not None:
                        instrument["constraints"] = {"properties": {"brand": {"enum": brands}}}
        return handlers

    def parse_platform_profile(self, document: object) -> PlatformProfile:
        profile = parse_profile(_keys_as_signing_keys(document))
        return PlatformProfile(
            version=profile.ucp.version,
            capabilities=profile.ucp.capabilities,
            keys=profile.jwks(),
            webhook_url=profile.webhook_url(),
        )

    def checkout_document(
        self, body: dict[str, Any], capabilities: Sequence[NegotiatedCapability], config: MerchantConfig
    ) -> dict[str, Any]:
        document = super().checkout_document(body, capabilities, config)
        if any(entry.name == FULFILLMENT for entry in capabilities) and "fulfillment" in document:
            for method in document["fulfillment"].get("methods", []):
                for destination in method.get("destinations", []):
                    destination.setdefault("type", "shipping_address")
                for group in method.get("groups", []):
                    for option in group.get("options", []):
                        if isinstance(option.get("description"), str):
                            option["description"] = {"plain": option["description"]}
        return document

    def idempotency(self, *, key: str, operation: str, method: str, path: str, body: bytes) -> IdempotencyRecordKey:
        return IdempotencyRecordKey(
            scope=f"{method.upper()} {path} {key}", fingerprint=hashlib.sha256(body).hexdigest()
        )


def _without_destination_types(document: object) -> object:
    """A request may name a destination's ``type``; ``shipping_address`` is the only one this merchant takes."""
    methods = (document.get("fulfillment") or {}).get("methods") if isinstance(document, dict) else None
    for method in methods if isinstance(methods, list) else []:
        for destination in (method.get("destinations") or []) if isinstance(method, dict) else []:
            if isinstance(destination, dict) and destination.get("type") == "shipping_address":
                del destination["type"]
    return document


def _keys_as_signing_keys(document: object) -> object:
    """Read a 2026-08-25 profile with the shared model: ``keys[]`` is where its keys are."""
    if not isinstance(document, dict):
        return document
    moved = {name: value for name, value in document.items() if name not in ("keys", "signing_keys")}
    moved["signing_keys"] = document.get("keys") or []
    return moved


RELEASE: Final = Release20260825(VERSION)
