"""``notify_platform``: signed, at-least-once webhooks to the platform.

The platform learns about changes it did not cause synchronously (an
asynchronous completion, an expiry, a merchant-side cancel, order events).
Order events are **UCP order webhooks** (order.md "Order Event Webhook"): the
body is the order entity (``checkout_id`` = the connector's session id, the
checkout the platform knows), ``Webhook-Id`` a UUID stable per event, sent to
the ``webhook_url`` the platform's own profile declares for
``dev.ucp.shopping.order`` (core.platform_profiles), else to the configured
one. Checkout-status notifications (``checkout.status_changed`` ...) are a
connector extension (README "Platform notifications"): ``{id, type,
occurred_at, session_id, merchant_id, ...}`` to the configured URL. Both are
signed with the connector's key exactly like a
request (RFC 9421 + Content-Digest), and carries Standard Webhooks headers
(``Webhook-Id`` = a stable event id for platform-side dedup,
``Webhook-Timestamp``), mirroring how merchants notify platforms (order.md
"Order Event Webhook"). Any non-2xx answer or transport error is retried with
backoff by Temporal; the workflow never waits on it.
"""

from __future__ import annotations

import hashlib
import uuid

import httpx
from temporalio import activity

from activities.errors import encode_failure
from activities.types import ActivityName, PlatformNotification
from contracts import ErrorCode, KeyStore, UcpError, canonical_json, format_ucp_agent, sign_request
from contracts.ucp.order_snapshots import ORDER_EVENT_TYPE, order_webhook_document
from contracts.ucp_agent import validate_profile_url
from core.outbound_http import ResponseTooLargeError, retry_after_seconds, send_bounded
from core.platform_profiles import PlatformProfiles
from merchants.platform_profile import profile_url


def notification_body(notification: PlatformNotification) -> bytes:
    return canonical_json(
        {
            "id": notification.event_id,
            "type": notification.event_type,
            "occurred_at": notification.occurred_at.isoformat(),
            **notification.payload,
        }
    )


def _stable_uuid(event_id: str) -> str:
    return str(uuid.UUID(bytes=hashlib.sha256(event_id.encode()).digest()[:16]))


class NotifyActivities:
    def __init__(
        self,
        http: httpx.AsyncClient,
        keys: KeyStore,
        public_base_url: str,
        platform_profiles: PlatformProfiles | None = None,
    ) -> None:
        self._http = http
        self._keys = keys
        self._agent = format_ucp_agent(profile_url(public_base_url))
        self._platform_profiles = platform_profiles

    async def _order_webhook(self, notification: PlatformNotification) -> tuple[str, bytes, str] | None:
        """A UCP order webhook (url, order entity, uuid Webhook-Id) for an order event, else ``None``."""
        order = notification.payload.get("order")
        if notification.event_type != ORDER_EVENT_TYPE or not isinstance(order, dict):
            return None
        profiles = self._platform_profiles
        declared = await profiles.order_webhook_url(notification.platform_id) if profiles is not None else None
        session_id = notification.payload.get("session_id")
        document = order_webhook_document(order, checkout_id=session_id if isinstance(session_id, str) else None)
        return declared or notification.webhook_url, canonical_json(document), _stable_uuid(notification.event_id)

    @activity.defn(name=ActivityName.NOTIFY_PLATFORM)
    async def notify_platform(self, notification: PlatformNotification) -> None:
        # Same URL rules as a profile: https, or loopback http when explicitly allowed.
        order_webhook = await self._order_webhook(notification)
        target, body, webhook_id = order_webhook or (
            notification.webhook_url,
            notification_body(notification),
            notification.event_id,
        )
        url = validate_profile_url(target, business=False, allow_insecure_loopback=notification.allow_insecure_loopback)
        headers = [
            ("Content-Type", "application/json"),
            ("UCP-Agent", self._agent),
            ("Webhook-Id", webhook_id),
            ("Webhook-Timestamp", str(int(notification.occurred_at.timestamp()))),
            # A stable key per event: the platform may dedup on it as on Webhook-Id (IDM-01).
            ("Idempotency-Key", _stable_uuid(notification.event_id)),
        ]
        headers.extend(sign_request(method="POST", url=url, headers=headers, body=body, key=self._keys.active).items())
        try:
            response, _ = await send_bounded(self._http, "POST", url, headers=headers, content=body)
        except (httpx.HTTPError, ResponseTooLargeError) as exc:
            raise encode_failure(
                UcpError(f"platform webhook failed: {type(exc).__name__}", code=ErrorCode.SERVICE_UNAVAILABLE),
                retryable=True,
            ) from exc
        if not 200 <= response.status_code < 300:
            raise encode_failure(
                UcpError(
                    f"platform webhook answered HTTP {response.status_code}",
                    code=ErrorCode.SERVICE_UNAVAILABLE,
                    detail={"http_status": response.status_code},
                ),
                retryable=True,
                retry_after=retry_after_seconds(response),
            )
