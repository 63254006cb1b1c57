"""Signed order webhooks, delivered from an outbox with retries (order.md "Order Event Webhook").

Every order change is written to the ``webhooks`` table in the same
transaction as the change itself, so an event is never lost and never sent for
a change that did not commit. Delivery:

* ``POST`` the full order snapshot (ORD-24) to the platform's
  ``webhook_url`` (its profile's ``dev.ucp.shopping.order`` ``config``, ORD-17);
* headers: ``Content-Type``, ``UCP-Agent`` with the merchant's profile URL
  (ORD-19), Standard Webhooks ``Webhook-Id`` (a UUID, the same on every retry)
  and ``Webhook-Timestamp`` (the event's unix time) (ORD-18), and the RFC 9421
  signature over ``@method @authority @path ucp-agent content-digest
  content-type`` made by ``contracts.sign_request`` (SIG-28);
* the body bytes are fixed at enqueue time, so every retry carries the same
  bytes and the same ``Webhook-Id``; only the signature is fresh;
* a 2xx acknowledges; anything else (or a network error) is retried after
  ``retry_base_seconds x 2^(attempt-1)``, capped at ``retry_max_seconds``,
  up to ``max_attempts`` (ORD-25), then the event is marked abandoned;
* events of one order go out in order: a later snapshot waits while an earlier
  one is being retried, so a receiver never sees them reversed.

The body also carries ``event_id`` (= ``Webhook-Id``) and ``created_time``,
as the spec's example does (requirements note D7). The snapshot is rendered,
and the request signed, in the release the order was placed in
(``Release.webhook_headers``): 2026-01-11 sends ``Content-Type`` and
``UCP-Agent`` only, plus a detached-JWS ``Request-Signature`` when it
publishes keys (:mod:`reference_merchant.releases.r2026_01_11_http`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import KeyStore, canonical_json, format_ucp_agent
from contracts.ucp import WEBHOOK_ID_HEADER, WEBHOOK_TIMESTAMP_HEADER
from reference_merchant.clock import Clock, isoformat
from reference_merchant.config import WebhookPolicy
from reference_merchant.releases import Release
from reference_merchant.store import Database, WebhookRow, epoch

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Delivery:
    """A webhook as the merchant tracks it (for tests and operators)."""

    id: str
    order_id: str
    event_type: str
    url: str
    attempts: int
    delivered: bool
    abandoned: bool
    last_status: int | None
    body: bytes


class WebhookDispatcher:
    def __init__(
        self,
        database: Database,
        policy: WebhookPolicy,
        clock: Clock,
        keys: Callable[[], KeyStore],
        merchant_profile_url: str,
        http: httpx.AsyncClient,
        served: dict[str, Release],
    ) -> None:
        self._database = database
        self._policy = policy
        self._clock = clock
        self._keys = keys
        self._agent = format_ucp_agent(merchant_profile_url)
        self._http = http
        self._served = served
        self._lock = asyncio.Lock()

    def enqueue(
        self,
        session: AsyncSession,
        *,
        order_id: str,
        url: str,
        event_type: str,
        release: str,
        snapshot: dict[str, Any],
    ) -> str:
        """Add an event to the outbox in the caller's transaction; return its ``Webhook-Id``."""
        now = self._clock.now()
        event_id = str(uuid.uuid4())
        body = canonical_json({**snapshot, "event_id": event_id, "created_time": isoformat(now)})
        session.add(
            WebhookRow(
                id=event_id,
                order_id=order_id,
                url=url,
                body=body,
                event_type=event_type,
                release=release,
                timestamp=int(now.timestamp()),
                created_at=epoch(now),
                attempts=0,
                next_attempt_at=epoch(now),
                abandoned=False,
            )
        )
        return event_id

    async def deliver_due(self) -> int:
        """Attempt every due event (oldest first, one order's events in order); return how many were acknowledged."""
        async with self._lock:
            async with self._database.session() as session:
                pending = list(
                    await session.scalars(
                        select(WebhookRow)
                        .where(WebhookRow.delivered_at.is_(None), WebhookRow.abandoned.is_(False))
                        .order_by(WebhookRow.seq)
                    )
                )
            now = epoch(self._clock.now())
            blocked: set[str] = set()
            acknowledged = 0
            for row in pending:
                if row.order_id in blocked:
                    continue
                if row.next_attempt_at > now:
                    blocked.add(row.order_id)
                    continue
                if await self._attempt(row):
                    acknowledged += 1
                else:
                    blocked.add(row.order_id)
            return acknowledged

    async def _attempt(self, row: WebhookRow) -> bool:
        headers = {
            "Content-Type": "application/json",
            "UCP-Agent": self._agent,
            WEBHOOK_ID_HEADER: row.id,
            WEBHOOK_TIMESTAMP_HEADER: str(row.timestamp),
        }
        release = self._served.get(row.release) or next(iter(self._served.values()))
        headers = release.webhook_headers(url=row.url, body=row.body, headers=headers, key=self._keys().active)
        status: int | None = None
        problem: str | None = None
        try:
            response = await self._http.post(
                row.url, content=row.body, headers=headers, timeout=self._policy.timeout_seconds, follow_redirects=False
            )
            status = response.status_code
            if not response.is_success:
                problem = f"HTTP {status}"
        except httpx.HTTPError as exc:
            problem = type(exc).__name__
        attempts = row.attempts + 1
        now = self._clock.now()
        async with self._database.session() as session:
            stored = await session.get(WebhookRow, row.seq)
            if stored is None:  # pragma: no cover - rows are never deleted
                return False
            stored.attempts = attempts
            stored.last_status = status
            stored.last_error = problem
            if problem is None:
                stored.delivered_at = epoch(now)
            elif attempts >= self._policy.max_attempts:
                stored.abandoned = True
            else:
                delay = min(self._policy.retry_max_seconds, self._policy.retry_base_seconds * 2 ** (attempts - 1))
                stored.next_attempt_at = epoch(now + dt.timedelta(seconds=delay))
            await session.commit()
        (log.debug if problem is None else log.info)(
            "webhook.attempt",
            webhook_id=row.id,
            order_id=row.order_id,
            event_type=row.event_type,
            attempt=attempts,
            status=status,
            ok=problem is None,
        )
        return problem is None

    async def deliveries(self, order_id: str | None = None) -> list[Delivery]:
        async with self._database.session() as session:
            query = select(WebhookRow).order_by(WebhookRow.seq)
            if order_id is not None:
                query = query.where(WebhookRow.order_id == order_id)
            rows = list(await session.scalars(query))
        return [
            Delivery(
                id=row.id,
                order_id=row.order_id,
                event_type=row.event_type,
                url=row.url,
                attempts=row.attempts,
                delivered=row.delivered_at is not None,
                abandoned=row.abandoned,
                last_status=row.last_status,
                body=row.body,
            )
            for row in rows
        ]
