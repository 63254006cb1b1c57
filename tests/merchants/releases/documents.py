"""A merchant's 2026-04-08 profile re-declared in another release's shape, for loopback merchants in tests.

The 2026-04-08 document comes from the reference merchant (``business_profile``);
these rewrite it the way each release's spec lays a profile out, so a test can
serve a 2026-01-11 or a 2026-08-25 merchant without a second implementation.
"""

from __future__ import annotations

import copy
from typing import Any

from merchants.releases.base import CANONICAL_VERSION, at_release


def as_2026_01_11(document: dict[str, Any]) -> dict[str, Any]:
    """overview.md (2026-01-11) "Business Profile": one object per service, a list of capabilities, payment.handlers."""
    source = at_release(document, "2026-01-11", "/")
    ucp = source["ucp"]
    services = {
        name: {
            "version": "2026-01-11",
            "spec": bindings[0].get("spec"),
            **{
                binding["transport"]: {"schema": binding.get("schema"), "endpoint": binding.get("endpoint")}
                for binding in bindings
            },
        }
        for name, bindings in ucp["services"].items()
    }
    capabilities = [
        {"name": name, **entry} for name, entries in ucp.get("capabilities", {}).items() for entry in entries
    ]
    handlers = [
        {"name": name, **{k: v for k, v in entry.items() if k != "schema"}, "config_schema": entry.get("schema", "")}
        for name, entries in ucp.get("payment_handlers", {}).items()
        for entry in entries
    ]
    return {
        "ucp": {"version": "2026-01-11", "services": services, "capabilities": capabilities},
        "payment": {"handlers": handlers},
        "signing_keys": source.get("signing_keys", []),
    }


def as_2026_08_25(document: dict[str, Any], *, supported: dict[str, str] | None = None) -> dict[str, Any]:
    """overview "Profile Structure" (2026-08-25): keys[] and, optionally, supported_versions for older releases."""
    source = at_release(document, "2026-08-25", "/2026-08-25/")
    source["keys"] = source.pop("signing_keys", [])
    if supported:
        source["ucp"]["supported_versions"] = dict(supported)
    return source


def as_2026_04_08(document: dict[str, Any]) -> dict[str, Any]:
    return (
        copy.deepcopy(document)
        if document["ucp"]["version"] == CANONICAL_VERSION
        else at_release(document, CANONICAL_VERSION, f"/{CANONICAL_VERSION}/")
    )
