"""What a platform checks before it lets a checkout be completed: pure rules over the wire documents.

A connector may place an order on a buyer's behalf, so before ``complete``
reaches the merchant it refuses, each with its own frozen code:

* **totals that do not add up** (CMP-06, checkout.md "Total > Verification"):
  when ``sum(non-total entries) != total`` a platform MUST NOT complete
  autonomously; it refuses, and the merchant's totals stay untouched (CHK-44).
  A checkout with no integer ``total`` cannot be verified and is refused too.
* **instruments the checkout does not offer** (PAY-04, overview.md "Available
  Instrument Resolution"; payment-handler-guide.md "Resolving
  available_instruments"): the handlers in the checkout response's
  ``ucp.payment_handlers`` and their ``available_instruments`` are
  authoritative for that checkout. An instrument must name one of those
  handler ids, its ``type`` must be one the handler lists (when it lists
  any), and a ``display.brand`` must be among ``constraints.brands`` (when
  the type constrains brands). A checkout that declares no handlers at all
  gives nothing to check against: the merchant decides (PAY-05).
* **raw card credentials** (types/card_credential.json: "This credential type
  MUST NOT be used for checkout", PAY-06): a ``card`` credential, or any
  credential carrying a card number or CVC, is refused wherever the platform
  sends payment (create, update, complete), so a PAN never reaches workflow
  history, the audit store or the merchant.

The first two need the merchant's checkout, so the workflow's ``complete``
validator calls :func:`complete_refusal`; the last needs only the request and
runs in the API (:func:`raw_card_credential_error`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from contracts.error_codes import ErrorCode
from contracts.errors import UcpError
from contracts.ucp._base import json_pointer

# card_credential.json members that only a raw card (or its network token) carries.
RAW_CARD_MEMBERS: Final = frozenset({"number", "cvc", "cryptogram", "eci_value", "expiry_month", "expiry_year"})
RAW_CARD_TYPE: Final = "card"


def _amount(entry: object) -> tuple[str, int] | None:
    if not isinstance(entry, Mapping):
        return None
    kind, amount = entry.get("type"), entry.get("amount")
    if not isinstance(kind, str) or not isinstance(amount, int) or isinstance(amount, bool):
        return None
    return kind, amount


def totals_error(checkout: Mapping[str, Any]) -> UcpError | None:
    """Why ``checkout``'s totals forbid an autonomous complete (CMP-06), ``None`` when they add up."""
    raw = checkout.get("totals")
    entries = [_amount(entry) for entry in raw] if isinstance(raw, list) else []
    grand = [amount for kind, amount in (e for e in entries if e is not None) if kind == "total"]
    if not entries or None in entries or len(grand) != 1:
        return UcpError(
            "the checkout's totals cannot be verified (no single integer total)",
            code=ErrorCode.TOTALS_INCONSISTENT,
            detail={"reason": "unverifiable"},
            pointer="/totals",
        )
    parts = sum(amount for kind, amount in (e for e in entries if e is not None) if kind != "total")
    if parts != grand[0]:
        return UcpError(
            f"the checkout's totals do not add up: the entries sum to {parts}, the total is {grand[0]}",
            code=ErrorCode.TOTALS_INCONSISTENT,
            detail={"reason": "sum_mismatch", "sum": parts, "total": grand[0]},
            pointer="/totals",
        )
    return None


def offered_handlers(checkout: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]] | None:
    """Handler id -> its ``available_instruments`` (``[]`` = unrestricted), or ``None`` when none are declared."""
    ucp = checkout.get("ucp")
    registry = ucp.get("payment_handlers") if isinstance(ucp, Mapping) else None
    if not isinstance(registry, Mapping) or not registry:
        return None
    offered: dict[str, list[dict[str, Any]]] = {}
    for entries in registry.values():
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, Mapping) and isinstance(entry.get("id"), str):
                available = entry.get("available_instruments")
                kinds = [item for item in available if isinstance(item, dict)] if isinstance(available, list) else []
                offered[entry["id"]] = kinds
    return offered


def _instruments(body: Mapping[str, Any] | None) -> list[tuple[int, Mapping[str, Any]]]:
    payment = (body or {}).get("payment")
    instruments = payment.get("instruments") if isinstance(payment, Mapping) else None
    if not isinstance(instruments, list):
        return []
    return [(index, item) for index, item in enumerate(instruments) if isinstance(item, Mapping)]


def _not_offered(message: str, index: int, member: str, **detail: Any) -> UcpError:
    return UcpError(
        message,
        code=ErrorCode.PAYMENT_INSTRUMENT_NOT_OFFERED,
        detail=detail,
        pointer=json_pointer(("payment", "instruments", index, member)),
    )


def _brand_allowed(instrument: Mapping[str, Any], available: dict[str, Any]) -> bool:
    constraints = available.get("constraints")
    brands = constraints.get("brands") if isinstance(constraints, Mapping) else None
    display = instrument.get("display")
    brand = display.get("brand") if isinstance(display, Mapping) else None
    if not isinstance(brands, list) or not isinstance(brand, str):
        return True
    return brand.lower() in {str(item).lower() for item in brands}


def instrument_error(checkout: Mapping[str, Any], body: Mapping[str, Any] | None) -> UcpError | None:
    """Why an instrument in ``body`` contradicts the checkout's authoritative handlers (PAY-04)."""
    offered = offered_handlers(checkout)
    if offered is None:
        return None
    for index, instrument in _instruments(body):
        handler_id = instrument.get("handler_id")
        if not isinstance(handler_id, str) or handler_id not in offered:
            return _not_offered(
                f"payment handler {handler_id!r} is not offered by this checkout",
                index,
                "handler_id",
                reason="handler",
                offered=sorted(offered),
            )
        kinds = offered[handler_id]
        if not kinds:
            continue
        kind = instrument.get("type")
        matching = [item for item in kinds if item.get("type") == kind]
        if not matching:
            return _not_offered(
                f"instrument type {kind!r} is not available with handler {handler_id!r}",
                index,
                "type",
                reason="type",
                available=sorted({str(item.get("type")) for item in kinds}),
            )
        if not any(_brand_allowed(instrument, item) for item in matching):
            return _not_offered(
                f"this card brand is not available with handler {handler_id!r}",
                index,
                "display",
                reason="brand",
            )
    return None


def complete_refusal(checkout: Mapping[str, Any], body: Mapping[str, Any] | None) -> UcpError | None:
    """Why the connector refuses to complete ``checkout`` with ``body`` (``None`` when it may proceed)."""
    return totals_error(checkout) or instrument_error(checkout, body)


def raw_card_credential_error(body: Mapping[str, Any] | None) -> UcpError | None:
    """A raw card credential in the request's payment (card_credential.json: MUST NOT be used for checkout)."""
    for index, instrument in _instruments(body):
        credential = instrument.get("credential")
        if not isinstance(credential, Mapping):
            continue
        if credential.get("type") == RAW_CARD_TYPE or RAW_CARD_MEMBERS & set(credential):
            return UcpError(
                "raw card credentials must not be used for checkout; send a handler's token instead",
                code=ErrorCode.PAYMENT_CREDENTIAL_FORBIDDEN,
                detail={"reason": "raw_card"},
                pointer=json_pointer(("payment", "instruments", index, "credential")),
            )
    return None
