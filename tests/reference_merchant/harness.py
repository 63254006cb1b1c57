"""Test harness: real HTTP on loopback, a test platform with its own key, and a signing UCP client.

* :func:`serve`/:func:`bind_loopback` (from tests/fixtures/http.py) run any
  ASGI app under uvicorn in the test's event loop on a socket bound beforehand.
* :class:`PlatformSite` is the platform's side of the wire: it serves platform
  profiles (one per name, editable by tests) and receives order webhooks,
  verifying each with ``contracts.verify_request`` against the keys in the
  *merchant's* published profile, fetched over HTTP as a real platform would.
* :class:`UcpClient` signs requests with the platform's key, sends them, checks
  every response signature against the merchant's profile keys, and (when the
  spec is present) validates bodies against the spec schema of the operation.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from contracts import (
    ErrorBody,
    ErrorCode,
    JwkSet,
    SignatureError,
    SigningKey,
    VerifiedSignature,
    format_ucp_agent,
    parse_ucp_agent,
    sign_request,
    text_headers,
    verify_request,
    verify_response,
    verify_with_key_refresh,
)
from tests import spec_schemas
from tests.fixtures.bodies import ADDRESS, payment_body, ready_body
from tests.fixtures.http import bind_loopback, serve

VERSION = "2026-04-08"
UCP = "https://ucp.dev/2026-04-08"
FROZEN_CODES = frozenset(code.value for code in ErrorCode)


def platform_profile(
    webhook_url: str | None, key: SigningKey, *, version: str = VERSION, **caps: Any
) -> dict[str, Any]:
    """A platform profile (overview.md "Platform Profile") supporting checkout, order, fulfillment, discount."""
    capabilities: dict[str, Any] = {
        "dev.ucp.shopping.checkout": [
            {
                "version": version,
                "spec": f"{UCP}/specification/checkout",
                "schema": f"{UCP}/schemas/shopping/checkout.json",
            }
        ],
        "dev.ucp.shopping.fulfillment": [
            {
                "version": version,
                "spec": f"{UCP}/specification/fulfillment",
                "schema": f"{UCP}/schemas/shopping/fulfillment.json",
                "extends": "dev.ucp.shopping.checkout",
            }
        ],
        "dev.ucp.shopping.discount": [
            {
                "version": version,
                "spec": f"{UCP}/specification/discount",
                "schema": f"{UCP}/schemas/shopping/discount.json",
                "extends": "dev.ucp.shopping.checkout",
            }
        ],
        "dev.ucp.shopping.order": [
            {
                "version": version,
                "spec": f"{UCP}/specification/order",
                "schema": f"{UCP}/schemas/shopping/order.json",
                **({"config": {"webhook_url": webhook_url}} if webhook_url else {}),
            }
        ],
    }
    capabilities.update(caps)
    return {
        "ucp": {
            "version": version,
            "services": {
                "dev.ucp.shopping": [
                    {
                        "version": version,
                        "spec": f"{UCP}/specification/overview",
                        "transport": "rest",
                        "schema": f"{UCP}/services/shopping/rest.openapi.json",
                    }
                ]
            },
            "capabilities": {name: entries for name, entries in capabilities.items() if entries is not None},
            "payment_handlers": {},
        },
        "signing_keys": [key.public_jwk.to_dict()],
    }


@dataclass
class ReceivedWebhook:
    headers: dict[str, str]
    body: bytes
    verified: VerifiedSignature | None
    error: str | None

    @property
    def document(self) -> Any:
        return json.loads(self.body)


@dataclass
class PlatformSite:
    """The platform's web presence: profiles by name, webhook receivers by name."""

    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    webhooks: dict[str, list[ReceivedWebhook]] = field(default_factory=dict)
    fail_next: dict[str, int] = field(default_factory=dict)
    unsigned_ok: set[str] = field(default_factory=set)  # receivers of a merchant that signs no webhook (2026-01-11)
    profile_fetches: dict[str, int] = field(default_factory=dict)
    profile_delay_seconds: float = 0.0  # a slow profile host, so concurrent lookups overlap
    cache_control: str = "public, max-age=300"
    url: str = ""
    http: httpx.AsyncClient | None = None

    def profile_url(self, name: str) -> str:
        return f"{self.url}/platforms/{name}/profile"

    def webhook_url(self, name: str) -> str:
        return f"{self.url}/platforms/{name}/webhooks"

    def app(self) -> Starlette:
        async def profile(request: Request) -> Response:
            name = request.path_params["name"]
            self.profile_fetches[name] = self.profile_fetches.get(name, 0) + 1
            await asyncio.sleep(self.profile_delay_seconds)
            document = self.profiles.get(name)
            if document is None:
                return JSONResponse({"code": "not_found"}, status_code=404)
            return JSONResponse(document, headers={"Cache-Control": self.cache_control})

        async def webhook(request: Request) -> Response:
            name = request.path_params["name"]
            body = await request.body()
            headers = text_headers(request.headers.raw)
            verified, problem = await self._verify_webhook(str(request.url), headers, body)
            self.webhooks.setdefault(name, []).append(ReceivedWebhook(dict(request.headers), body, verified, problem))
            if self.fail_next.get(name):
                self.fail_next[name] -= 1
                return JSONResponse({"code": "internal_error", "content": "try again"}, status_code=500)
            if problem is not None and name not in self.unsigned_ok:
                return JSONResponse({"code": "signature_invalid", "content": problem}, status_code=401)
            return JSONResponse({"ucp": {"version": VERSION}})

        return Starlette(
            routes=[
                Route("/platforms/{name}/profile", profile, methods=["GET"]),
                Route("/platforms/{name}/webhooks", webhook, methods=["POST"]),
            ]
        )

    async def _verify_webhook(
        self, url: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[VerifiedSignature | None, str | None]:
        """ORD-20: key from the business profile named in UCP-Agent, digest over raw bytes, then signature."""
        assert self.http is not None
        try:
            agent = next((v for k, v in headers if k.lower() == "ucp-agent"), None)
            merchant_profile = parse_ucp_agent(agent, business=True, allow_insecure_loopback=True)
            document = (await self.http.get(merchant_profile)).json()
            keys = JwkSet.from_list(document.get("signing_keys") or document.get("keys") or [])  # 2026-08-25: keys
            return verify_request(method="POST", url=url, headers=headers, body=body, keys=keys), None
        except SignatureError as exc:
            return None, exc.code.value
        except Exception as exc:
            return None, repr(exc)


@dataclass
class Reply:
    status: int
    headers: httpx.Headers
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def code(self) -> str | None:
        """The protocol error code, or the first message code of an error envelope."""
        document = self.json
        if "code" in document:
            return str(document["code"])
        messages = document.get("messages") or []
        return str(messages[0]["code"]) if messages else None


SCHEMAS: dict[str, Callable[[], Any]] = {
    "checkout": spec_schemas.checkout_response_validator,
    "order": spec_schemas.order_response_validator,
}


class UcpClient:
    """A platform's UCP client: signs, sends, verifies the response signature, validates the body."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        merchant_url: str,
        endpoint: str,
        key: SigningKey,
        profile_url: str,
        validate_schemas: bool = True,
        profile_path: str = "/.well-known/ucp",
    ) -> None:
        self.http = http
        self.merchant_url = merchant_url
        self.endpoint = endpoint
        self.key = key
        self.profile_url = profile_url
        self.profile_path = profile_path
        self.validate_schemas = validate_schemas and spec_schemas.SPEC_DIR is not None
        self.last_request_headers: dict[str, str] = {}
        self._validators: dict[str, Any] = {}
        self._keys: JwkSet | None = None

    async def merchant_keys(self, *, refresh: bool = False) -> JwkSet:
        """The merchant's published keys, cached like a platform would; re-read on an unknown kid."""
        if self._keys is None or refresh:
            document = (await self.http.get(f"{self.merchant_url}{self.profile_path}")).json()
            self._keys = JwkSet.from_list(document.get("signing_keys") or document.get("keys") or [])
        return self._keys

    def signed_headers(
        self,
        method: str,
        url: str,
        body: bytes | None,
        *,
        idempotency_key: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> dict[str, str]:
        headers = {"UCP-Agent": format_ucp_agent(self.profile_url), **(extra or {})}
        if body:
            headers.setdefault("Content-Type", "application/json")
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        headers.update(sign_request(method=method, url=url, headers=headers, body=body, key=self.key))
        return headers

    async def send(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
        sign: bool = True,
        schema: str | None = None,
        verify: bool = True,
        client_timeout: float = 10.0,
    ) -> Reply:
        url = f"{self.endpoint}{path}"
        content = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        if method in {"POST", "PUT"} and idempotency_key is None and sign:
            idempotency_key = str(uuid.uuid4())
        sent = (
            self.signed_headers(method, url, content, idempotency_key=idempotency_key, extra=headers)
            if sign
            else dict(headers or {})
        )
        self.last_request_headers = sent
        response = await self.http.request(method, url, content=content, headers=sent, timeout=client_timeout)
        reply = Reply(response.status_code, response.headers, response.content)
        if verify:
            await self.verify(reply)
        if schema is not None and reply.status in (200, 201):
            self.validate(schema, reply.json)
        elif reply.status >= 400:
            # Protocol errors: the REST binding's {code, content} body with a frozen code (TRN-08).
            error = ErrorBody.model_validate(reply.json)
            assert error.code in FROZEN_CODES, error.code
        return reply

    async def verify(self, reply: Reply) -> VerifiedSignature:
        """Every merchant response is signed (SIG-21); check it with the published keys."""
        headers = list(reply.headers.multi_items())

        def check(keys: JwkSet) -> VerifiedSignature:
            return verify_response(status=reply.status, headers=headers, body=reply.body, keys=keys)

        return await verify_with_key_refresh(
            check, await self.merchant_keys(), refresh=lambda: self.merchant_keys(refresh=True)
        )

    def validate(self, schema: str, document: Any) -> None:
        if not self.validate_schemas:
            return
        if schema not in self._validators:
            self._validators[schema] = SCHEMAS[schema]()
        spec_schemas.assert_valid(self._validators[schema], document)

    # -- the five checkout operations and get order ------------------------------------------------

    async def create(self, body: Any, **options: Any) -> Reply:
        return await self.send("POST", "/checkout-sessions", body, schema="checkout", **options)

    async def get(self, checkout_id: str, **options: Any) -> Reply:
        return await self.send("GET", f"/checkout-sessions/{checkout_id}", schema="checkout", **options)

    async def update(self, checkout_id: str, body: Any, **options: Any) -> Reply:
        return await self.send("PUT", f"/checkout-sessions/{checkout_id}", body, schema="checkout", **options)

    async def complete(self, checkout_id: str, body: Any, **options: Any) -> Reply:
        return await self.send("POST", f"/checkout-sessions/{checkout_id}/complete", body, schema="checkout", **options)

    async def cancel(self, checkout_id: str, **options: Any) -> Reply:
        return await self.send("POST", f"/checkout-sessions/{checkout_id}/cancel", {}, schema="checkout", **options)

    async def get_order(self, order_id: str, **options: Any) -> Reply:
        return await self.send("GET", f"/orders/{order_id}", schema="order", **options)


# -- request bodies used across tests -----------------------------------------------------------

__all__ = ["ADDRESS", "bind_loopback", "payment_body", "ready_body", "serve"]
