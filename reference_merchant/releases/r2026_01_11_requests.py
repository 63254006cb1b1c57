"""2026-01-11 request bodies -> the merchant's internal (2026-04-08) request models.

Lenient like the samples' ``extra="allow"`` models: members outside the
merchant's model are ignored, and what the release requires (``currency``,
``payment``; ``payment_data`` and ``risk_signals`` at complete) is refused
with FastAPI's error list when missing. See :mod:`.r2026_01_11` for the shapes
and the assumptions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contracts import MalformedInputError, parse_json
from contracts.ucp import parse_model
from contracts.ucp.checkout_requests import (
    CheckoutCompleteRequest,
    CheckoutCreateRequest,
    CheckoutUpdateRequest,
)
from reference_merchant.orders import POSTAL_FIELDS
from reference_merchant.releases.r2026_01_11_http import LegacyValidationError

if TYPE_CHECKING:
    from reference_merchant.config import MerchantConfig


# -- the release's request shapes (lenient, as the samples' models) ------------------------------


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Item(_Open):
    id: str


class _Line(_Open):
    item: _Item
    quantity: int = Field(ge=1)
    id: str | None = None
    parent_id: str | None = None


class _Payment(_Open):
    selected_instrument_id: str | None = None
    instruments: list[dict[str, Any]] | None = None


class _Create(_Open):
    line_items: list[_Line]
    currency: str
    payment: _Payment
    buyer: dict[str, Any] | None = None
    fulfillment: dict[str, Any] | None = None
    discounts: dict[str, Any] | None = None


class _Update(_Create):
    id: str | None = None


class _Complete(_Open):
    payment_data: dict[str, Any]
    risk_signals: dict[str, Any]


def _lenient(model: type[BaseModel], document: object) -> Any:
    """Validate like the samples' FastAPI body models: every problem listed, ``loc`` rooted at ``body``."""
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        errors = [
            {"type": error["type"], "loc": ["body", *error["loc"]], "msg": error["msg"], "input": None}
            for error in exc.errors(include_url=False, include_input=False)
        ]
        raise LegacyValidationError(errors) from None


def parse_body(body: bytes) -> object:
    try:
        return parse_json(body) if body else {}
    except MalformedInputError as exc:
        raise LegacyValidationError(
            [{"type": "json_invalid", "loc": ["body", 0], "msg": "JSON decode error", "input": None}]
        ) from exc


# -- translation to the internal model ---------------------------------------------------------------


def _instrument(wire: dict[str, Any], selected: bool) -> dict[str, Any]:
    instrument = {name: value for name, value in wire.items() if name != "selected"}
    instrument["selected"] = selected
    return instrument


def _payment(payment: _Payment) -> dict[str, Any] | None:
    if not payment.instruments:
        return None
    chosen = payment.selected_instrument_id
    return {"instruments": [_instrument(item, item.get("id") == chosen) for item in payment.instruments]}


def _fulfillment(wire: dict[str, Any] | None) -> dict[str, Any] | None:
    if wire is None:
        return None
    methods = []
    for method in wire.get("methods") or []:
        if not isinstance(method, dict):
            continue
        kept: dict[str, Any] = {k: method[k] for k in ("id", "type", "line_item_ids") if method.get(k) is not None}
        if method.get("selected_destination_id") is not None:
            kept["selected_destination_id"] = method["selected_destination_id"]
        destinations = []
        for destination in method.get("destinations") or []:
            if isinstance(destination, dict) and "name" in destination:
                destinations.append({"name": destination["name"]})  # a retail location: refused downstream
            elif isinstance(destination, dict):
                fields = ("id", *POSTAL_FIELDS)
                destinations.append({k: destination[k] for k in fields if destination.get(k) is not None})
        if destinations:
            kept["destinations"] = destinations
        groups = [
            {k: group[k] for k in ("id", "selected_option_id") if group.get(k) is not None}
            for group in method.get("groups") or []
            if isinstance(group, dict)
        ]
        if groups:
            kept["groups"] = groups
        methods.append(kept)
    return {"methods": methods}


def _checkout_input(request: _Create, config: MerchantConfig, *, update: bool) -> dict[str, Any]:
    if request.currency.upper() != config.currency.upper():
        raise LegacyValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ["body", "currency"],
                    "msg": f"Value error, this merchant sells in {config.currency}",
                    "input": None,
                }
            ]
        )
    lines = []
    for line in request.line_items:
        entry: dict[str, Any] = {"item": {"id": line.item.id}, "quantity": line.quantity}
        if update and line.id is not None:
            entry["id"] = line.id
        lines.append(entry)
    document: dict[str, Any] = {"line_items": lines}
    optional = {
        "buyer": request.buyer,
        "payment": _payment(request.payment),
        "fulfillment": _fulfillment(request.fulfillment),
        "discounts": {"codes": list(request.discounts.get("codes") or [])} if request.discounts else None,
    }
    document.update({name: value for name, value in optional.items() if value is not None})
    return document


def create_request(document: object, config: MerchantConfig) -> CheckoutCreateRequest:
    request = _lenient(_Create, document)
    return parse_model(CheckoutCreateRequest, _checkout_input(request, config, update=False))


def update_request(document: object, config: MerchantConfig) -> CheckoutUpdateRequest:
    request = _lenient(_Update, document)
    internal = _checkout_input(request, config, update=True)
    if request.id is not None:
        internal["id"] = request.id
    return parse_model(CheckoutUpdateRequest, internal)


def complete_request(document: object) -> CheckoutCompleteRequest:
    request = _lenient(_Complete, document)
    payment = {"instruments": [_instrument(request.payment_data, True)]}
    return parse_model(CheckoutCompleteRequest, {"payment": payment})
