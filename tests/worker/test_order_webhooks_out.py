"""What the connector sends a platform about its order: a UCP order webhook (order.md "Order Event Webhook").

Real HTTP on loopback: the platform serves its UCP profile (declaring
``dev.ucp.shopping.order[].config.webhook_url``, OVR-18/ORD-17) and two
receivers; ``notify_platform`` runs as the worker runs it. The old code sent
the connector's own notification shape to the configured URL only, so an
unmodified UCP platform never received an order webhook.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from temporalio.testing import ActivityEnvironment

from activities.notify import NotifyActivities
from activities.types import PlatformNotification
from contracts import KeyStore, SigningKey, verify_request
from core.outbound_http import new_http_client
from core.platform_profiles import PlatformProfileRef, PlatformProfiles
from tests.fixtures.bodies import order_document
from tests.fixtures.http import bind_loopback, serve, url_of
from tests.spec_schemas import order_response_validator, requires_spec


def _platform(declared: str | None) -> tuple[Starlette, dict[str, list[tuple[dict[str, str], bytes]]]]:
    received: dict[str, list[tuple[dict[str, str], bytes]]] = {"declared": [], "configured": []}

    async def profile(request: Request) -> JSONResponse:
        order: dict[str, Any] = {"version": "2026-04-08"}
        if declared is not None:
            order["config"] = {"webhook_url": declared}
        return JSONResponse(
            {"ucp": {"version": "2026-04-08", "capabilities": {"dev.ucp.shopping.order": [order]}}},
            headers={"Cache-Control": "public, max-age=300"},
        )

    def receiver(name: str) -> Any:
        async def receive(request: Request) -> JSONResponse:
            received[name].append((dict(request.headers), await request.body()))
            return JSONResponse({"ucp": {"version": "2026-04-08"}})

        return receive

    app = Starlette(
        routes=[
            Route("/.well-known/ucp", profile),
            Route("/declared", receiver("declared"), methods=["POST"]),
            Route("/configured", receiver("configured"), methods=["POST"]),
        ]
    )
    return app, received


def _notification(base: str, event_type: str, payload: dict[str, Any]) -> PlatformNotification:
    return PlatformNotification(
        event_id="cs_abc.3",
        platform_id="alpha",
        webhook_url=f"{base}/configured",
        allow_insecure_loopback=True,
        event_type=event_type,
        occurred_at=dt.datetime(2026, 4, 9, 10, 0, tzinfo=dt.UTC),
        payload={"session_id": "cs_abc", "merchant_id": "shop", **payload},
    )


async def _run(declares: bool, event_type: str, payload: dict[str, Any]) -> tuple[dict[str, Any], KeyStore, str]:
    sock = bind_loopback()
    base = url_of(sock)
    app, received = _platform(f"{base}/declared" if declares else None)
    keys = KeyStore(SigningKey.generate())
    async with serve(app, sock), new_http_client() as http:
        profiles = PlatformProfiles(http, {"alpha": PlatformProfileRef(f"{base}/.well-known/ucp", True)})
        activities = NotifyActivities(http, keys, "http://127.0.0.1:8000", profiles)
        await ActivityEnvironment().run(activities.notify_platform, _notification(base, event_type, payload))
    return received, keys, base


@requires_spec
async def test_an_order_event_is_a_ucp_order_webhook_to_the_profile_declared_url() -> None:
    """ORD-17/OVR-18 (webhook_url from the platform profile), ORD-18 (Standard-Webhooks headers), ORD-19 (signed),
    ORD-23/24 (the full order entity): what an unmodified UCP platform expects."""
    order = order_document()
    received, keys, base = await _run(True, "order.updated", {"order": order})
    assert received["configured"] == []
    [(headers, body)] = received["declared"]
    document = json.loads(body)
    order_response_validator().validate(document)
    assert document["id"] == order["id"] and document["checkout_id"] == "cs_abc"
    assert document["ucp"]["capabilities"] == {"dev.ucp.shopping.order": [{"version": "2026-04-08"}]}
    occurred = dt.datetime(2026, 4, 9, 10, 0, tzinfo=dt.UTC)
    assert uuid.UUID(headers["webhook-id"]) and headers["webhook-timestamp"] == str(int(occurred.timestamp()))
    verify_request(method="POST", url=f"{base}/declared", headers=list(headers.items()), body=body, keys=keys.jwks)


async def test_without_a_declared_url_the_order_webhook_goes_to_the_configured_one() -> None:
    received, _, _ = await _run(False, "order.updated", {"order": order_document()})
    assert received["declared"] == []
    [(_, body)] = received["configured"]
    assert json.loads(body)["id"] == "ord_1" and "type" not in json.loads(body)


async def test_checkout_status_notifications_stay_the_connector_extension() -> None:
    """Documented connector extension: {id, type, occurred_at, session_id, ...} to the configured URL."""
    received, _, _ = await _run(True, "checkout.status_changed", {"status": "completed"})
    assert received["declared"] == []
    [(headers, body)] = received["configured"]
    assert json.loads(body)["type"] == "checkout.status_changed" and headers["webhook-id"] == "cs_abc.3"


async def test_an_unreadable_platform_profile_falls_back_to_the_configured_url() -> None:
    async with httpx.AsyncClient() as http:
        profiles = PlatformProfiles(http, {"alpha": PlatformProfileRef("http://127.0.0.1:9/.well-known/ucp", True)})
        assert await profiles.order_webhook_url("alpha") is None
        assert await profiles.order_webhook_url("nobody") is None


@pytest.mark.parametrize(
    "declared",
    ["https://10.0.0.7/hook", "https://169.254.169.254/latest", "https://127.0.0.1/hook", "https://[fd00::1]/hook"],
)
async def test_a_profile_declared_webhook_url_pointing_inward_is_refused(declared: str) -> None:
    """Threat model C3 (SSRF): the declared URL meets the merchant-target address policy (core.address_policy).

    The profile is read from loopback here; the platform is *not* allowed loopback or private targets, so an
    inward declared URL is ignored and the configured one is used.
    """
    sock = bind_loopback()
    base = url_of(sock)
    app, _ = _platform(declared)
    async with serve(app, sock), new_http_client() as http:
        profiles = PlatformProfiles(http, {"alpha": PlatformProfileRef(f"{base}/.well-known/ucp", False)})
        assert await profiles.order_webhook_url("alpha") is None
