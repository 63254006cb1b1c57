"""UCP 2026-01-11, as the official samples' Python merchant of that release serves it (``ucp-sdk==0.1.0``).

Read from the public samples repository (``rest/python/server``) and the
release's spec (``../shared/ucp-spec-2026-01-11``); nothing is copied from
either. What differs from the merchant's internal (2026-04-08) model:

Profile (discovery/profile_schema.json; what the samples serve):
  ``ucp.services`` is an object per service with transport objects
  (``{"dev.ucp.shopping": {"version", "spec", "rest": {"schema", "endpoint"}}}``),
  ``ucp.capabilities`` a *list* of ``{"name", "version", "spec", "schema",
  "extends"}``, payment handlers under a top-level ``payment.handlers`` list
  (``{"id", "name", "version", "spec", "config_schema", "instrument_schemas",
  "config"}``), and ``signing_keys: null`` — the samples publish no key, so
  nothing they send can be verified. ``sign_webhooks_2026_01_11`` publishes the
  key instead and signs webhooks (order.md "Webhook Signature Verification").
Requests (checkout.json with ``ucp_request``; the samples' FastAPI models):
  create needs ``currency`` and ``payment`` (``selected_instrument_id``,
  ``instruments``); complete is ``{"payment_data": <instrument>,
  "risk_signals": {...}}`` (openapi.json ``payment_data``; the samples make
  ``risk_signals`` required too); card instruments carry ``brand`` and
  ``last_digits`` at the top level. Members outside the merchant's model are
  ignored, as the SDK's ``extra="allow"`` models do.
Responses:
  ``ucp`` is ``{"version", "capabilities": [{"name", "version"}]}`` with no
  ``status``; ``payment`` is required (``handlers``, ``selected_instrument_id``,
  ``instruments``); every amount is ``>= 0`` (total.json: discounts are
  positive, the total is subtotal - discount + fulfillment + tax + fee);
  orders have ``quantity {total, fulfilled}`` and no ``currency``/``label``.
  The optional top-level members the SDK models declare and the merchant has
  no value for are sent as ``null`` (the samples' FastAPI ``response_model``
  serialises them so): a 2026-01-11 client must read ``null`` as absent.

Assumptions where the release or the samples are silent or odd:

* ``currency`` must be the merchant's currency (the samples echo any
  currency over prices in their own); ``422`` otherwise.
* Update is still a full replacement, so ``line_items`` is required (the
  samples patch what is present; a connector that resends everything, as it
  must, sees no difference).
* Checkout responses list the merchant's payment handler (the samples send
  ``handlers: []``) and the active extensions besides checkout (the samples
  list checkout only); there is no ``platform`` member (a samples-only echo of
  the webhook URL).
* Nested optional members are left out rather than ``null``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from contracts import ErrorCode, JwkSet, KeyFormatError, SigningKey, UcpError
from contracts.ucp import CHECKOUT, ORDER, SHOPPING_SERVICE, Capability, NegotiatedCapability, parse_model
from contracts.ucp.checkout_requests import (
    CheckoutCompleteRequest,
    CheckoutCreateRequest,
    CheckoutUpdateRequest,
)
from reference_merchant.payments import HANDLER_ID, HANDLER_NAME
from reference_merchant.releases import r2026_01_11_requests as requests
from reference_merchant.releases.base import Authentication, IdempotencyRecordKey, PlatformProfile, Site
from reference_merchant.releases.r2026_01_11_http import detached_jws, error_document

if TYPE_CHECKING:
    from reference_merchant.config import MerchantConfig

VERSION: Final = "2026-01-11"
SPEC: Final = "https://ucp.dev/specification"
SCHEMAS: Final = "https://ucp.dev/schemas/shopping"
NULL_WHEN_ABSENT: Final = ("buyer", "messages", "expires_at", "continue_url", "order")
SUBTRACTIVE: Final = frozenset({"discount", "items_discount"})
_MALFORMED: Final = ErrorCode.PROFILE_MALFORMED


# -- translation to the wire ---------------------------------------------------------------------------


def _totals(totals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**entry, "amount": abs(entry["amount"])} if entry["type"] in SUBTRACTIVE else entry for entry in totals]


def _handlers() -> list[dict[str, Any]]:
    return [
        {
            "id": HANDLER_ID,
            "name": HANDLER_NAME,
            "version": VERSION,
            "spec": "https://example.com/ucp/handlers/tokenizer",
            "config_schema": "https://example.com/ucp/handlers/tokenizer/config.json",
            "instrument_schemas": [f"{SCHEMAS}/types/card_payment_instrument.json"],
            "config": {"environment": "TEST", "token_url": "https://tokenizer.example.com/v1/tokens"},
        }
    ]


def _capability(name: str, **extra: Any) -> dict[str, Any]:
    short = name.rsplit(".", 1)[1]
    return {"name": name, "version": VERSION, "spec": f"{SPEC}/{short}", "schema": f"{SCHEMAS}/{short}.json", **extra}


class Release20260111:
    version = VERSION
    signs_responses = False
    authentication = Authentication.HEADERS

    def __init__(self, *, publish_keys: bool = False) -> None:
        self.publish_keys = publish_keys

    def business_capabilities(self) -> dict[str, list[Capability]]:
        entries = [
            _capability(CHECKOUT),
            _capability(ORDER),
            _capability("dev.ucp.shopping.discount", extends=CHECKOUT),
            _capability("dev.ucp.shopping.fulfillment", extends=CHECKOUT),
        ]
        return {
            entry["name"]: [Capability.model_validate({k: v for k, v in entry.items() if k != "name"})]
            for entry in entries
        }

    def business_profile(self, site: Site) -> dict[str, Any]:
        capabilities = [
            {"name": name, **entries[0].model_dump(by_alias=True, exclude_none=True)}
            for name, entries in self.business_capabilities().items()
        ]
        service = {
            "version": VERSION,
            "spec": f"{SPEC}/reference",
            "rest": {"schema": "https://ucp.dev/services/shopping/rest.openapi.json", "endpoint": site.config.endpoint},
        }
        keys = site.keys.jwks.signing_keys() if self.publish_keys else None
        return {
            "ucp": {"version": VERSION, "services": {SHOPPING_SERVICE: service}, "capabilities": capabilities},
            "payment": {"handlers": _handlers()},
            "signing_keys": keys,
        }

    def parse_platform_profile(self, document: object) -> PlatformProfile:
        """A 2026-01-11 platform profile: ``capabilities`` a list; the order ``config.webhook_url``."""
        ucp = document.get("ucp") if isinstance(document, dict) else None
        entries = ucp.get("capabilities") if isinstance(ucp, dict) else None
        if not isinstance(ucp, dict) or not isinstance(entries, list):
            raise UcpError("not a 2026-01-11 profile: ucp.capabilities is not a list", code=_MALFORMED)
        capabilities: dict[str, list[Capability]] = {}
        webhook_url: str | None = None
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                raise UcpError("a capability has no name", code=_MALFORMED, pointer=f"/ucp/capabilities/{index}")
            body = {k: v for k, v in entry.items() if k != "name"}
            capability = parse_model(Capability, body, code=_MALFORMED, what="capability")
            capabilities.setdefault(entry["name"], []).append(capability)
            url = (capability.config or {}).get("webhook_url")
            if isinstance(url, str) and (webhook_url is None or entry["name"] == ORDER):
                webhook_url = url  # the samples take any capability's webhook_url; the order one wins
        try:
            keys = JwkSet.from_list(document.get("signing_keys") or [])  # type: ignore[attr-defined]
        except KeyFormatError:
            keys = JwkSet.from_list([])
        return PlatformProfile(
            version=str(ucp.get("version")), capabilities=capabilities, keys=keys, webhook_url=webhook_url
        )

    # -- requests -------------------------------------------------------------------------------

    def parse_body(self, body: bytes) -> object:
        return requests.parse_body(body)

    def create_request(self, document: object, config: MerchantConfig) -> CheckoutCreateRequest:
        return requests.create_request(document, config)

    def update_request(self, document: object, config: MerchantConfig) -> CheckoutUpdateRequest:
        return requests.update_request(document, config)

    def complete_request(self, document: object) -> CheckoutCompleteRequest:
        return requests.complete_request(document)

    def cancel_request(self, document: object) -> None:
        """The samples read no cancel body."""

    # -- responses ------------------------------------------------------------------------------

    def checkout_document(
        self, body: dict[str, Any], capabilities: Sequence[NegotiatedCapability], config: MerchantConfig
    ) -> dict[str, Any]:
        document: dict[str, Any] = {
            "ucp": {"version": VERSION, "capabilities": [{"name": e.name, "version": VERSION} for e in capabilities]}
        }
        for name, value in body.items():
            if name == "line_items":
                value = [{**line, "totals": _totals(line["totals"])} for line in value]
            elif name == "totals":
                value = _totals(value)
            elif name == "order":
                value = {"id": value["id"], "permalink_url": value["permalink_url"]}
            elif name in ("payment", "context"):
                continue
            document[name] = value
        payment: dict[str, Any] = {"handlers": _handlers()}
        instruments = (body.get("payment") or {}).get("instruments") or []
        if instruments:
            selected = next((item["id"] for item in instruments if item.get("selected")), None)
            if selected is not None:
                payment["selected_instrument_id"] = selected
            payment["instruments"] = [{k: v for k, v in item.items() if k != "selected"} for item in instruments]
        document["payment"] = payment
        for name in NULL_WHEN_ABSENT:
            document.setdefault(name, None)
        return document

    def order_document(self, document: dict[str, Any], order_version: str) -> dict[str, Any]:
        line_items = [
            {
                "id": line["id"],
                "item": line["item"],
                "quantity": {"total": line["quantity"]["total"], "fulfilled": line["quantity"]["fulfilled"]},
                "totals": _totals(line["totals"]),
                "status": line["status"],
            }
            for line in document["line_items"]
        ]
        fulfillment = document.get("fulfillment") or {}
        expectations = [
            {k: v for k, v in expectation.items() if k != "description"}
            for expectation in fulfillment.get("expectations", [])
        ]
        events = [{k: v for k, v in event.items() if k != "description"} for event in fulfillment.get("events", [])]
        return {
            "ucp": {"version": VERSION, "capabilities": [{"name": ORDER, "version": VERSION}]},
            "id": document["id"],
            "checkout_id": document["checkout_id"],
            "permalink_url": document["permalink_url"],
            "line_items": line_items,
            "fulfillment": {"expectations": expectations, "events": events},
            "adjustments": document.get("adjustments", []),
            "totals": _totals(document["totals"]),
        }

    def error_document(self, error: UcpError) -> tuple[int, Any]:
        return error_document(error)

    def idempotency(self, *, key: str, operation: str, method: str, path: str, body: bytes) -> IdempotencyRecordKey:
        """Like the samples: a hash of the *parsed* request (key order, spacing ignored); cancel hashes ``{}``."""
        try:
            parsed: object = {} if operation == "cancel_checkout" or not body else json.loads(body)
        except ValueError:
            parsed = body.hex()
        canonical = json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return IdempotencyRecordKey(scope=key, fingerprint=hashlib.sha256(canonical.encode()).hexdigest())

    def webhook_headers(self, *, url: str, body: bytes, headers: dict[str, str], key: SigningKey) -> dict[str, str]:
        """Content-Type and the business identifier (order.md); a detached JWS only when keys are published."""
        sent = {"Content-Type": headers["Content-Type"], "UCP-Agent": headers["UCP-Agent"]}
        if self.publish_keys:
            sent["Request-Signature"] = detached_jws(body, key)
        return sent
