"""``notify_platform``: signed, at-least-once webhooks to the platform.

The platform learns about changes it did not cause synchronously (an
asynchronous completion, an expiry, a merchant-side cancel, order events).
The payload is UCP-shaped JSON, signed with the connector's key exactly like a
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
from contracts.ucp_agent import validate_profile_url
from core.outbound_http import ResponseTooLargeError, retry_after_seconds, send_bounded
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


class NotifyActivities:
    def __init__(self, http: httpx.AsyncClient, keys: KeyStore, public_base_url: str) -> None:
        self._http = http
        self._keys = keys
        self._agent = format_ucp_agent(profile_url(public_base_url))

    @activity.defn(name=ActivityName.NOTIFY_PLATFORM)
    async def notify_platform(self, notification: PlatformNotification) -> None:
        # Same URL rules as a profile: https, or loopback http when explicitly allowed.
        url = validate_profile_url(
            notification.webhook_url, business=False, allow_insecure_loopback=notification.allow_insecure_loopback
        )
        body = notification_body(notification)
        headers = [
            ("Content-Type", "application/json"),
            ("UCP-Agent", self._agent),
            ("Webhook-Id", notification.event_id),
            ("Webhook-Timestamp", str(int(notification.occurred_at.timestamp()))),
            # A stable key per event: the platform may dedup on it as on Webhook-Id (IDM-01).
            ("Idempotency-Key", str(uuid.UUID(bytes=hashlib.sha256(notification.event_id.encode()).digest()[:16]))),
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
