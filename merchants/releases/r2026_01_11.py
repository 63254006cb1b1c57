"""UCP 2026-01-11 at the merchant edge: the first release, whose shapes differ most from the canonical ones.

From ``ucp-spec-2026-01-11`` (overview.md, checkout-rest.md, order.md, the
OpenAPI ``services/shopping/openapi.json`` and the schemas):

* **profile** -- ``ucp.services`` maps a name to *one* object with
  ``rest``/``mcp``/``a2a``/``embedded`` bindings; ``ucp.capabilities`` is a
  *list* of entries carrying their ``name``; payment handlers are a sibling of
  ``ucp`` (``payment.handlers[]``, each with a ``name``); ``signing_keys`` may
  be absent or null. Spec URLs are undated (``https://ucp.dev/specification/...``).
* **requests** -- ``Request-Id`` and ``Request-Signature`` are required
  headers; the signature is a detached JWS (RFC 7797) over the body with a key
  of our profile (order.md "Webhook Signature Verification" defines it; the
  OpenAPI requires the header on every operation). A create names its
  ``currency`` (from ``context.currency`` or the merchant's configured
  ``default_currency``) and carries a ``payment`` object; an update carries
  the checkout ``id`` and, for fulfillment, the method and group ids and the
  method's ``line_item_ids`` (filled from the merchant's current checkout
  when the platform left them out, as 2026-04-08 allows); complete sends the
  selected instrument as ``payment_data`` and the signals as
  ``risk_signals``. ``context`` (besides its currency), ``signals`` before
  complete and ``attribution`` have no 2026-01-11 form: refused, never dropped.
* **responses** -- ``ucp.capabilities`` is a list of ``{name, version}``;
  handlers come back inside ``payment``; total amounts are never negative
  (a discount of 5.00 is ``500``, subtracted), the canonical model signs them;
  responses may be signed with ``X-Detached-JWT`` (optional). A 2xx without
  a checkout ``id`` but with ``messages`` is the release's error shape.
* **orders and webhooks** -- an order has no ``currency`` (the session adds
  its checkout's, ``workflows.lifecycle``); an adjustment has an ``amount``
  instead of ``totals``; a webhook body is the order plus ``event_id`` and
  ``created_time``, signed in ``Request-Signature``.
* **idempotency** -- keys typed ``uuid``; "409 if reused with different parameters".
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, ClassVar, Final

import httpx

from contracts import ErrorCode, JwkSet, KeyStore, UcpError, parse_ucp_agent
from contracts.detached_jws import verify_detached
from contracts.httpx_auth import DetachedJwsSigner
from contracts.ucp import RestOperation, dump, parse_order_event
from merchants.releases.base import (
    CANONICAL_VERSION,
    IdempotencyRule,
    ReleaseAdapter,
    ReleaseProfile,
    as_object,
    header,
    untranslatable,
)
from merchants.releases.r2026_01_11_shapes import (
    handlers_by_name,
    instrument_request,
    payment_request,
    read_checkout,
    read_message,
    read_order,
    titled,
)
from merchants.releases.r2026_04_08 import ADAPTER as CANONICAL
from merchants.releases.r2026_04_08 import with_canonical_version

REQUEST_SIGNATURE: Final = "Request-Signature"
RESPONSE_SIGNATURE: Final = "X-Detached-JWT"
_TRANSPORTS: Final = ("rest", "mcp", "a2a", "embedded")


class Release20260111(ReleaseAdapter):
    version: ClassVar[str] = "2026-01-11"
    webhook_timestamp_required: ClassVar[bool] = False  # its webhooks carry Content-Type and UCP-Agent only
    idempotency: ClassVar[IdempotencyRule] = IdempotencyRule(payload_match="parameters", key_format="uuid")
    spec_url_prefix: ClassVar[str] = "/"

    # ------------------------------------------------------------ discovery

    def parse_profile(self, document: Mapping[str, Any]) -> ReleaseProfile:
        ucp = document.get("ucp")
        if not isinstance(ucp, Mapping):
            raise UcpError("profile has no ucp object", code=ErrorCode.PROFILE_MALFORMED, pointer="/ucp")
        services: dict[str, list[dict[str, Any]]] = {}
        for name, service in dict(ucp.get("services") or {}).items():
            if not isinstance(service, Mapping):
                raise UcpError(
                    "a service must be an object", code=ErrorCode.PROFILE_MALFORMED, pointer=f"/ucp/services/{name}"
                )
            base = {key: service[key] for key in ("version", "spec") if key in service}
            services[name] = [
                {**base, **dict(service[transport]), "transport": transport}
                for transport in _TRANSPORTS
                if isinstance(service.get(transport), Mapping)
            ]
        capabilities: dict[str, list[dict[str, Any]]] = {}
        for index, entry in enumerate(ucp.get("capabilities") or []):
            if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
                raise UcpError(
                    "a capability needs a name", code=ErrorCode.PROFILE_MALFORMED, pointer=f"/ucp/capabilities/{index}"
                )
            capabilities.setdefault(entry["name"], []).append({k: v for k, v in entry.items() if k != "name"})
        payment = document.get("payment")
        handlers = handlers_by_name(payment.get("handlers") if isinstance(payment, Mapping) else None)
        canonical = {
            "ucp": {
                "version": ucp.get("version"),
                "services": services,
                "capabilities": capabilities,
                "payment_handlers": handlers,
            },
            "signing_keys": document.get("signing_keys") or [],
        }
        release = CANONICAL.release_profile(canonical)
        presented = release.presented
        presented["ucp"] = with_canonical_version(presented["ucp"], self.version)
        return release

    def platform_profile(self, canonical: Mapping[str, Any]) -> dict[str, Any]:
        document = self.at_release(canonical)
        ucp = document.get("ucp", {})
        services = {
            name: {
                **{key: bindings[0][key] for key in ("version", "spec") if bindings and key in bindings[0]},
                **{
                    binding["transport"]: {k: v for k, v in binding.items() if k in ("schema", "endpoint")}
                    for binding in bindings
                },
            }
            for name, bindings in dict(ucp.get("services") or {}).items()
        }
        capabilities = [
            {"name": name, **entry}
            for name, entries in dict(ucp.get("capabilities") or {}).items()
            for entry in entries
        ]
        return {
            "ucp": {"version": self.version, "services": services, "capabilities": capabilities},
            "payment": {"handlers": []},
            "signing_keys": document.get("signing_keys", []),
        }

    # ------------------------------------------------------------- requests

    def needs_current_checkout(self, operation: RestOperation) -> bool:
        return operation is RestOperation.UPDATE

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
        source = copy.deepcopy(dict(body or {}))
        if operation is RestOperation.CANCEL:
            return {}
        if operation is RestOperation.COMPLETE:
            return self._complete(source)
        self._refuse(source, ("signals", "attribution"))
        context = dict(source.pop("context", None) or {})
        currency = context.pop("currency", None) or (current or {}).get("currency") or default_currency
        for member in sorted(context):
            raise untranslatable(self.version, f"/context/{member}", "context (only its currency maps to one)")
        if not currency:
            raise untranslatable(
                self.version, "/context/currency", "a checkout needs a currency: send context.currency"
            )
        wire: dict[str, Any] = {
            **source,
            "currency": currency,
            "payment": payment_request(source.pop("payment", None)),
        }
        wire["line_items"] = [titled(line) for line in wire.get("line_items") or []]
        wire.pop("id", None)
        if operation is RestOperation.UPDATE:
            wire = {"id": merchant_checkout_id, **wire}
            if "fulfillment" in wire:
                wire["fulfillment"] = self._fulfillment_update(wire["fulfillment"], current or {})
        return wire

    def _complete(self, body: dict[str, Any]) -> dict[str, Any]:
        self._refuse(body, ("attribution",))
        instruments = list((body.get("payment") or {}).get("instruments") or [])
        chosen = [item for item in instruments if item.get("selected")] or instruments
        if len(chosen) != 1:
            raise untranslatable(
                self.version, "/payment/instruments", "complete sends exactly one instrument: mark one selected"
            )
        wire: dict[str, Any] = {"payment_data": instrument_request(chosen[0], self.version)}
        # Optional in the OpenAPI, required by the official samples merchant: always sent, {} without signals.
        wire["risk_signals"] = body.get("signals") or {}
        return wire

    def _fulfillment_update(self, fulfillment: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
        """Name the merchant's method and group ids (and a method's line items) the platform left out.

        2026-01-11 updates require them for the methods and groups the checkout
        has; a method the checkout does not have yet is a new one and goes as
        the platform sent it, type included (how the official samples add one).
        """
        known = list((current.get("fulfillment") or {}).get("methods") or [])
        methods = []
        for index, method in enumerate(fulfillment.get("methods") or []):
            existing = next((m for m in known if m.get("id") == method.get("id")), None) or (
                known[index] if index < len(known) and method.get("id") is None else None
            )
            if existing is None:
                methods.append(dict(method))
                continue
            if method.get("type") is not None and existing.get("type") not in (None, method["type"]):
                where = f"/fulfillment/methods/{index}/type"
                raise untranslatable(self.version, where, "an update cannot change a method's type")
            # type is "omit" for updates in the schema, which does not forbid it; the official samples
            # merchant requires it (its update route answers 422 without): it goes along.
            wire = dict(method)
            for member in ("id", "line_item_ids", "type"):
                if wire.get(member) is None and existing.get(member) is not None:
                    wire[member] = existing[member]
            known_groups = existing.get("groups") or []
            if "groups" in wire:
                wire["groups"] = [
                    {**group, "id": known_groups[position].get("id")}
                    if group.get("id") is None and position < len(known_groups)
                    else group
                    for position, group in enumerate(wire["groups"] or [])
                ]
            methods.append(wire)
        return {**fulfillment, "methods": methods}

    def _refuse(self, body: Mapping[str, Any], members: tuple[str, ...]) -> None:
        for member in members:
            if body.get(member) is not None:
                raise untranslatable(self.version, f"/{member}", f"{member} has no 2026-01-11 equivalent here")

    def request_signer(self, keys: KeyStore) -> httpx.Auth:
        return DetachedJwsSigner(keys)

    # ------------------------------------------------------------ responses

    def response_signature_present(self, headers: httpx.Headers) -> bool:
        return RESPONSE_SIGNATURE.lower() in headers

    def verify_response(self, status: int, headers: list[tuple[str, str]], body: bytes, keys: JwkSet) -> str:
        return verify_detached(header(headers, RESPONSE_SIGNATURE), body, keys).key.kid

    def decode_response(self, operation: RestOperation, document: object) -> dict[str, Any]:
        source = as_object(document, self.version, "")
        if operation.answers_with_order:
            canonical = read_order(source, self.version)
            CANONICAL.validate(operation, {**canonical, "currency": canonical.get("currency", "XXX")}, self.version)
            return canonical
        if source.get("id") is None and source.get("messages"):
            canonical = {
                "ucp": {"version": CANONICAL_VERSION, "status": "error"},
                "messages": [read_message(message) for message in source["messages"]],
                **({"continue_url": source["continue_url"]} if source.get("continue_url") else {}),
            }
        else:
            canonical = read_checkout(source, self.version)
        CANONICAL.validate(operation, canonical, self.version)
        return canonical

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
        agent = header(headers, "ucp-agent")
        if agent is not None:  # optional in 2026-01-11; when sent it must name this merchant
            claimed = parse_ucp_agent(agent, business=True, allow_insecure_loopback=allow_insecure_loopback)
            if claimed != merchant_profile_url:
                raise UcpError(
                    "UCP-Agent does not name this merchant's profile",
                    code=ErrorCode.PROFILE_NOT_TRUSTED,
                    detail={"reason": "identity_mismatch"},
                )
        return verify_detached(header(headers, REQUEST_SIGNATURE), body, keys).key.kid

    def decode_order_event(self, headers: list[tuple[str, str]], document: object) -> tuple[str, dict[str, Any]]:
        source = document if isinstance(document, Mapping) else {}
        webhook_id = source.get("event_id") or header(headers, "Webhook-Id")
        if not isinstance(webhook_id, str) or not webhook_id or len(webhook_id) > 256:
            raise UcpError("the webhook names no event_id", code=ErrorCode.VALIDATION_FAILED, pointer="/event_id")
        order = read_order(dict(source), self.version)
        parsed = parse_order_event({**order, "currency": "XXX"}, code=ErrorCode.VALIDATION_FAILED)
        canonical = dump(parsed)
        canonical.pop("currency")
        return webhook_id, canonical


ADAPTER = Release20260111()
