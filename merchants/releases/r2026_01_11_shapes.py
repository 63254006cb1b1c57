"""2026-01-11's wire shapes read into (and written from) the canonical model: the helpers of :mod:`.r2026_01_11`.

Kept beside the adapter so that module stays the release's one entry point
(its class, its rules); everything here is pure document translation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from contracts.ucp._base import REVERSE_DOMAIN_RE
from merchants.releases.base import CANONICAL_VERSION, as_object, response_invalid, untranslatable

RELEASE: Final = "2026-01-11"
SUBTRACTIVE: Final = frozenset({"discount", "items_discount"})
WELL_KNOWN_TOTALS: Final = frozenset({"subtotal", "items_discount", "discount", "fulfillment", "tax", "fee", "total"})


def handlers_by_name(handlers: object) -> dict[str, list[dict[str, Any]]]:
    """``payment.handlers[]`` as the canonical registry keyed by the handler's reverse-domain ``name``.

    The spec's own checkout examples swap ``id`` and ``name`` (``"id":
    "com.google.pay", "name": "gpay"``); a name that is no reverse-domain name
    falls back to the id when that one is.
    """
    registry: dict[str, list[dict[str, Any]]] = {}
    for handler in handlers if isinstance(handlers, list) else []:
        if not isinstance(handler, Mapping):
            continue
        name = next((value for value in (handler.get("name"), handler.get("id")) if reverse_domain(value)), None)
        if name is None:
            continue
        entry = {k: v for k, v in handler.items() if k not in ("name", "config_schema")}
        if "config_schema" in handler:
            entry["schema"] = handler["config_schema"]
        registry.setdefault(str(name), []).append(entry)
    return registry


def reverse_domain(value: object) -> bool:
    return isinstance(value, str) and REVERSE_DOMAIN_RE.fullmatch(value) is not None


def read_envelope(ucp: object, payment: Mapping[str, Any], release: str) -> dict[str, Any]:
    source = as_object(ucp, release, "/ucp")
    capabilities: dict[str, list[dict[str, Any]]] = {}
    for entry in source.get("capabilities") or []:
        if isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
            version = entry.get("version")
            if entry["name"].startswith("dev.ucp.") and version == release:
                version = CANONICAL_VERSION
            capabilities.setdefault(entry["name"], []).append({"version": version})
    envelope: dict[str, Any] = {"version": CANONICAL_VERSION, "status": "success", "capabilities": capabilities}
    envelope["payment_handlers"] = handlers_by_name(payment.get("handlers"))
    return envelope


def read_totals(totals: object, release: str, pointer: str) -> list[Any]:
    signed = []
    for index, entry in enumerate(totals if isinstance(totals, list) else []):
        line = dict(as_object(entry, release, f"{pointer}/{index}"))
        amount = line.get("amount")
        if line.get("type") not in WELL_KNOWN_TOTALS and not line.get("display_text"):
            line["display_text"] = str(line.get("type"))  # required in the canonical model, optional here
        if line.get("type") in SUBTRACTIVE and isinstance(amount, int):
            if amount < 0:
                raise response_invalid(release, f"{pointer}/{index}/amount", "2026-01-11 amounts are never negative")
            line["amount"] = -amount
        signed.append(line)
    return signed


def read_message(message: object) -> object:
    if isinstance(message, Mapping) and "content" not in message and isinstance(message.get("message"), str):
        return {**{k: v for k, v in message.items() if k != "message"}, "content": message["message"]}
    return message


def read_checkout(source: dict[str, Any], release: str) -> dict[str, Any]:
    payment = dict(source.get("payment") or {})
    checkout = {**source, "ucp": read_envelope(source.get("ucp"), payment, release)}
    checkout["totals"] = read_totals(source.get("totals"), release, "/totals")
    checkout["line_items"] = [
        {**line, "totals": read_totals(line.get("totals"), release, f"/line_items/{index}/totals")}
        if isinstance(line, Mapping)
        else line
        for index, line in enumerate(source.get("line_items") or [])
    ]
    selected = payment.get("selected_instrument_id")
    instruments = [
        {**item, "selected": item.get("id") == selected} if selected is not None and isinstance(item, Mapping) else item
        for item in payment.get("instruments") or []
    ]
    checkout.pop("payment", None)
    if instruments:
        checkout["payment"] = {"instruments": instruments}
    if source.get("messages") is not None:
        checkout["messages"] = [read_message(message) for message in source["messages"]]
    return checkout


def read_order(source: dict[str, Any], release: str) -> dict[str, Any]:
    order = {k: v for k, v in source.items() if k not in ("event_id", "created_time")}
    envelope = read_envelope(source.get("ucp") or {"version": release}, {}, release)
    envelope.pop("payment_handlers")
    order["ucp"] = envelope
    order["totals"] = read_totals(source.get("totals"), release, "/totals")
    adjustments = []
    for adjustment in source.get("adjustments") or []:
        if isinstance(adjustment, Mapping) and "amount" in adjustment and "totals" not in adjustment:
            rest = {k: v for k, v in adjustment.items() if k != "amount"}
            adjustments.append({**rest, "totals": [{"type": "total", "amount": adjustment["amount"]}]})
        else:
            adjustments.append(adjustment)
    if "adjustments" in source:
        order["adjustments"] = adjustments
    return order


def titled(line: Any) -> Any:
    """The release's REST examples send ``item.title`` (its schema omits it; the official samples read it).

    A platform names items by id only (2026-04-08), so the id is all there is to
    send; a conforming merchant ignores the member, the samples merchant gets a title.
    """
    if isinstance(line, dict) and isinstance(line.get("item"), dict) and "title" not in line["item"]:
        return {**line, "item": {**line["item"], "title": line["item"].get("id")}}
    return line


def payment_request(payment: object) -> dict[str, Any]:
    instruments = list((payment or {}).get("instruments") or []) if isinstance(payment, Mapping) else []
    wire: dict[str, Any] = {}
    if instruments:
        wire["instruments"] = [instrument_request(item, RELEASE) for item in instruments]
        selected = [item.get("id") for item in instruments if item.get("selected")]
        if len(selected) == 1:
            wire["selected_instrument_id"] = selected[0]
    return wire


def instrument_request(instrument: Mapping[str, Any], release: str) -> dict[str, Any]:
    """2026-04-08's ``display`` members (brand, last_digits ...) sit on the 2026-01-11 instrument itself."""
    wire = {k: v for k, v in instrument.items() if k not in ("display", "selected")}
    for name, value in dict(instrument.get("display") or {}).items():
        if name in wire:
            raise untranslatable(release, f"/payment/instruments/display/{name}", f"{name} is set twice")
        wire[name] = value
    return wire
