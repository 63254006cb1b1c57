"""Merchant checkout responses checked against the schema composed for the negotiated capabilities (OVR-17).

overview.md "Schema Composition" / "Resolution Flow": the platform composes
the base checkout schema with the ``dev.ucp.shopping.checkout`` definition of
every active extension (``allOf``) and validates responses against it, not
only against fixed models. The active set is the one the response declares in
``ucp.capabilities`` (OVR-26/27). The schemas are the pinned 2026-04-08 copies
in ``contracts/ucp/schemas/`` (no network, no drift), resolved by ``$id`` from
one registry; one compiled validator per active set is cached. The validator is
``jsonschema_rs`` (compiled, Rust): the pure-Python ``jsonschema`` spent 10-20 ms
per answer resolving ``$ref``s (``referencing``) — 45 % of the worker's CPU per
checkout under load (docs/perf/profile-after.md); this one takes ~0.1 ms.

Extensions without a pinned schema (a vendor's) add nothing to the
composition: their members are then judged by the base schema alone. An
extension schema's ``requires`` (protocol and capability versions, inclusive
``min``/``max``, overview.md "Version Requirements") is checked against the
versions the response declares; an incompatible extension is left out of the
composition (OVR-16; its parent, checkout, is always active in a checkout answer,
so no orphan remains to prune).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any, Final

import jsonschema_rs

from contracts.error_codes import ErrorCode
from contracts.errors import UcpError
from contracts.ucp._base import json_pointer

SCHEMA_BASE: Final = "https://ucp.dev/schemas/shopping/"
CHECKOUT_CAPABILITY: Final = "dev.ucp.shopping.checkout"
# Extension capability -> its pinned schema (each has $defs["dev.ucp.shopping.checkout"]).
EXTENSION_SCHEMAS: Final[Mapping[str, str]] = {
    "dev.ucp.shopping.fulfillment": "fulfillment.json",
    "dev.ucp.shopping.discount": "discount.json",
    "dev.ucp.shopping.buyer_consent": "buyer_consent.json",
    "dev.ucp.shopping.ap2_mandate": "ap2_mandate.json",
}
MAX_REPORTED: Final = 3


@functools.cache
def _documents() -> dict[str, dict[str, Any]]:
    """Every pinned schema by ``$id``."""
    root = resources.files("contracts.ucp").joinpath("schemas", "r2026_04_08")
    found: dict[str, dict[str, Any]] = {}

    def walk(folder: Any) -> None:
        for item in folder.iterdir():
            if item.is_dir():
                walk(item)
            elif item.name.endswith(".json"):
                document = json.loads(item.read_text(encoding="utf-8"))
                if isinstance(document, dict) and isinstance(document.get("$id"), str):
                    found[document["$id"]] = document

    walk(root)
    return found


@functools.cache
def _registry() -> jsonschema_rs.Registry:
    return jsonschema_rs.Registry(list(_documents().items()), draft=jsonschema_rs.Draft202012)


@functools.cache
def composed_checkout_validator(active: frozenset[str]) -> Any:
    """The validator of ``checkout.json`` composed with the active extensions' checkout definitions."""
    parts: list[dict[str, Any]] = [{"$ref": SCHEMA_BASE + "checkout.json"}]
    parts += [
        {"$ref": f"{SCHEMA_BASE}{EXTENSION_SCHEMAS[name]}#/$defs/{CHECKOUT_CAPABILITY}"}
        for name in sorted(active)
        if name in EXTENSION_SCHEMAS
    ]
    return jsonschema_rs.Draft202012Validator({"allOf": parts}, registry=_registry())


def _within(version: str | None, constraint: object) -> bool:
    if not isinstance(constraint, Mapping):
        return True
    if version is None:
        return False
    low, high = constraint.get("min"), constraint.get("max")
    return (not isinstance(low, str) or version >= low) and (not isinstance(high, str) or version <= high)


def requirements_met(requires: object, protocol: str | None, capabilities: Mapping[str, str]) -> bool:
    """Whether ``requires`` (ucp.json ``requires``) holds for these versions; absent ``requires`` holds (OVR-16).

    Versions are ``YYYY-MM-DD`` dates, so string order is version order.
    """
    if not isinstance(requires, Mapping):
        return True
    if not _within(protocol, requires.get("protocol")):
        return False
    wanted = requires.get("capabilities")
    for name, constraint in wanted.items() if isinstance(wanted, Mapping) else ():
        if not _within(capabilities.get(name), constraint):
            return False
    return True


def _schema_document(file_name: str) -> Mapping[str, Any]:
    return _documents().get(SCHEMA_BASE + file_name, {})


def _declared_versions(document: Mapping[str, Any]) -> tuple[str | None, dict[str, str]]:
    ucp = document.get("ucp")
    version = ucp.get("version") if isinstance(ucp, Mapping) else None
    capabilities = ucp.get("capabilities") if isinstance(ucp, Mapping) else None
    versions: dict[str, str] = {}
    for name, entries in capabilities.items() if isinstance(capabilities, Mapping) else ():
        entry = entries[0] if isinstance(entries, list) and entries else None
        if isinstance(entry, Mapping) and isinstance(entry.get("version"), str):
            versions[name] = entry["version"]
    return (version if isinstance(version, str) else None), versions


def active_extensions(document: Mapping[str, Any]) -> frozenset[str]:
    """The declared capabilities whose pinned schema's ``requires`` holds for the declared versions."""
    protocol, versions = _declared_versions(document)
    return frozenset(
        name
        for name in versions
        if name not in EXTENSION_SCHEMAS
        or requirements_met(_schema_document(EXTENSION_SCHEMAS[name]).get("requires"), protocol, versions)
    )


def checkout_violation(document: Mapping[str, Any]) -> UcpError | None:
    """Why a checkout response does not match its composed schema (``None`` when it does)."""
    validator = composed_checkout_validator(active_extensions(document))
    errors: list[Any] = sorted(validator.iter_errors(document), key=lambda error: list(error.instance_path))
    if not errors:
        return None
    first = errors[0]
    return UcpError(
        f"the checkout does not match the schema composed for its capabilities: {first.message[:200]}",
        code=ErrorCode.MERCHANT_RESPONSE_INVALID,
        pointer=json_pointer(tuple(first.instance_path)),
        detail={
            "reason": "composed_schema",
            "errors": [json_pointer(tuple(error.instance_path)) or "/" for error in errors[:MAX_REPORTED]],
        },
    )
