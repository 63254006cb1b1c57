"""Clients and checks for the reference merchant's release modes (2026-01-11, 2026-08-25).

* 2026-01-11: :class:`LegacyClient` sends what that release's OpenAPI requires
  (``UCP-Agent``, ``Request-Id``, ``Request-Signature``, ``Idempotency-Key`` on
  mutations) and nothing RFC 9421; bodies are checked against the release's
  JSON Schemas from ``../shared/ucp-spec-2026-01-11`` (skipped with a reason
  when absent), with ``null`` members read as absent, as the release's SDK
  does (the samples serialise unset optional members as ``null``).
* 2026-08-25: :class:`SdkClient` is the signing :class:`UcpClient` with the
  body checks done by PyPI ``ucp-sdk`` 0.5.x models, which are generated from
  the final 2026-08-25 schemas.
"""

from __future__ import annotations

import json
import os
import uuid
from functools import cache
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from contracts import SigningKey
from tests import spec_schemas
from tests.fixtures.bodies import ready_body
from tests.reference_merchant.harness import Reply, UcpClient, platform_profile

LEGACY: Final = "2026-01-11"
CURRENT: Final = "2026-08-25"
BASE: Final = "https://ucp.dev/"


def _find(folder: str, variable: str) -> Path | None:
    configured = os.environ.get(variable)
    if configured:
        return Path(configured) if (Path(configured) / "source").is_dir() else None
    for parent in Path(__file__).resolve().parents:
        if (parent / "shared" / folder / "source").is_dir():
            return parent / "shared" / folder
    return None


LEGACY_SPEC: Final = _find("ucp-spec-2026-01-11", "UCP_SPEC_2026_01_11_DIR")
requires_legacy_spec = pytest.mark.skipif(
    LEGACY_SPEC is None, reason="UCP 2026-01-11 spec folder (../shared/ucp-spec-2026-01-11) not present"
)


@cache
def _legacy_registry() -> Registry[Any]:
    """Every 2026-01-11 schema, by ``$id`` and by its path below ucp.dev (how its relative ``$ref``\\ s point)."""
    assert LEGACY_SPEC is not None
    source = LEGACY_SPEC / "source"
    resources = []
    for path in sorted(source.rglob("*.json")):
        text = path.read_text(encoding="utf-8")
        if path.name == "profile_schema.json":
            text = text.replace('"../schemas/', '"../')  # its $id sits one level below where its refs assume
        document = json.loads(text)
        if "$schema" not in document:
            continue
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        relative = path.relative_to(source).as_posix()
        for uri in {document.get("$id"), BASE + relative}:
            if uri:
                resources.append((uri, resource))
    return Registry().with_resources(resources)


def legacy_validator(ref: str | dict[str, Any]) -> Draft202012Validator:
    schema = {"$ref": BASE + "schemas/" + ref} if isinstance(ref, str) else ref
    return Draft202012Validator(schema, registry=_legacy_registry(), format_checker=FormatChecker())


LEGACY_CHECKOUT: Final = {
    "allOf": [
        {"$ref": BASE + "schemas/shopping/fulfillment.json#/$defs/checkout"},
        {"$ref": BASE + "schemas/shopping/discount.json#/$defs/checkout"},
    ]
}


def strip_nulls(document: Any) -> Any:
    """``null`` members removed, recursively: how a 2026-01-11 SDK model reads what the samples send."""
    if isinstance(document, dict):
        return {key: strip_nulls(value) for key, value in document.items() if value is not None}
    if isinstance(document, list):
        return [strip_nulls(item) for item in document]
    return document


def assert_legacy_valid(ref: str | dict[str, Any], document: Any) -> None:
    if LEGACY_SPEC is not None:
        spec_schemas.assert_valid(legacy_validator(ref), strip_nulls(document))


def legacy_platform_profile(webhook_url: str | None) -> dict[str, Any]:
    """A 2026-01-11 platform profile: ``capabilities`` a list, the webhook URL in the order capability."""
    order: dict[str, Any] = {
        "name": "dev.ucp.shopping.order",
        "version": LEGACY,
        "spec": "https://ucp.dev/specification/order",
        "schema": "https://ucp.dev/schemas/shopping/order.json",
    }
    if webhook_url:
        order["config"] = {"webhook_url": webhook_url}
    checkout = {
        "name": "dev.ucp.shopping.checkout",
        "version": LEGACY,
        "spec": "https://ucp.dev/specification/checkout",
        "schema": "https://ucp.dev/schemas/shopping/checkout.json",
    }
    return {
        "ucp": {
            "version": LEGACY,
            "services": {
                "dev.ucp.shopping": {
                    "version": LEGACY,
                    "spec": "https://ucp.dev/specification/reference",
                    "rest": {"schema": "https://ucp.dev/services/shopping/rest.openapi.json", "endpoint": "https://x"},
                }
            },
            "capabilities": [checkout, order],
        }
    }


def current_platform_profile(webhook_url: str | None, key: SigningKey) -> dict[str, Any]:
    """A 2026-08-25 platform profile: version 2026-08-25 everywhere, its key in ``keys[]``."""
    document = platform_profile(webhook_url, key, version=CURRENT)
    document["keys"] = document.pop("signing_keys")
    return document


def legacy_create_body(items: list[tuple[str, int]] | None = None, **extra: Any) -> dict[str, Any]:
    """A 2026-01-11 create body that gets the reference merchant to ``ready_for_complete``."""
    body = ready_body(items, buyer={"email": "jane@example.com", "full_name": "Jane Doe"})
    for line in body["line_items"]:
        line["item"]["title"] = line["item"]["id"]  # the release's item.json requires a title
    body.update({"currency": "USD", "payment": {"instruments": []}, **extra})
    return body


def legacy_complete_body(token: str = "tok_visa_ok") -> dict[str, Any]:
    """``payment_data`` (one card instrument, brand/last_digits at the top) and ``risk_signals``."""
    instrument = {
        "id": "pi_1",
        "handler_id": "ref_tokenizer",
        "type": "card",
        "brand": "visa",
        "last_digits": "4242",
        "credential": {"type": "token", "token": token},
    }
    return {"payment_data": instrument, "risk_signals": {"ip_address": "203.0.113.42"}}


class LegacyClient:
    """A 2026-01-11 platform client (as the samples' own client talks): headers, no RFC 9421."""

    def __init__(self, http: httpx.AsyncClient, *, endpoint: str, profile_url: str) -> None:
        self.http = http
        self.endpoint = endpoint
        self.profile_url = profile_url

    async def send(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        schema: str | dict[str, Any] | None = None,
    ) -> Reply:
        sent = {
            "UCP-Agent": f'profile="{self.profile_url}"',
            "Request-Id": str(uuid.uuid4()),
            "Request-Signature": "test",
        }
        if method in ("POST", "PUT"):
            sent["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        sent = {name: value for name, value in sent.items() if value}
        content = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        response = await self.http.request(method, f"{self.endpoint}{path}", content=content, headers=sent)
        reply = Reply(response.status_code, response.headers, response.content)
        assert "signature" not in response.headers, "a 2026-01-11 merchant signs no response"
        if schema is not None and reply.status in (200, 201):
            assert_legacy_valid(schema, reply.json)
        return reply

    async def create(self, body: Any, **options: Any) -> Reply:
        return await self.send("POST", "/checkout-sessions", body, schema=LEGACY_CHECKOUT, **options)

    async def get(self, checkout_id: str) -> Reply:
        return await self.send("GET", f"/checkout-sessions/{checkout_id}", schema=LEGACY_CHECKOUT)

    async def update(self, checkout_id: str, body: Any, **options: Any) -> Reply:
        return await self.send("PUT", f"/checkout-sessions/{checkout_id}", body, schema=LEGACY_CHECKOUT, **options)

    async def complete(self, checkout_id: str, body: Any, **options: Any) -> Reply:
        path = f"/checkout-sessions/{checkout_id}/complete"
        return await self.send("POST", path, body, schema=LEGACY_CHECKOUT, **options)

    async def cancel(self, checkout_id: str, **options: Any) -> Reply:
        return await self.send("POST", f"/checkout-sessions/{checkout_id}/cancel", schema=LEGACY_CHECKOUT, **options)

    async def get_order(self, order_id: str) -> Reply:
        return await self.send("GET", f"/orders/{order_id}", schema="shopping/order.json")


class SdkClient(UcpClient):
    """The signing client, with bodies checked by the ucp-sdk models of the release (0.5.x: 2026-08-25)."""

    def validate(self, schema: str, document: Any) -> None:
        from ucp_sdk.models.schemas.common.types.error_response import ErrorResponse
        from ucp_sdk.models.schemas.shopping import discount, fulfillment, order

        if document.get("ucp", {}).get("status") == "error":
            ErrorResponse.model_validate(document)
        elif schema == "checkout":
            fulfillment.Checkout.model_validate(document)
            discount.Checkout.model_validate(document)
        else:
            order.Order.model_validate(document)
