"""One lock, one database transaction per operation, with its idempotency record (invariants 2 and 4).

Each mutation runs under the merchant's lock and in one transaction together
with its idempotency record and any webhook it causes, so a crash or a
dropped response never leaves half an operation behind. What a record is
keyed by and what a replay must match is the release's rule
(``Release.idempotency``); the exact response bytes are stored and replayed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from contracts import ErrorCode, UcpError
from reference_merchant.clock import Clock
from reference_merchant.idempotency import IdempotencyLedger, StoredResponse
from reference_merchant.responses import Responder
from reference_merchant.security import RequestContext
from reference_merchant.store import Database

log = structlog.get_logger(__name__)

Outcome = tuple[int, dict[str, Any]]
Handler = Callable[[AsyncSession, dt.datetime], Awaitable[Outcome]]
T = TypeVar("T")


def database_unavailable() -> UcpError:
    return UcpError("the merchant's database is unavailable", code=ErrorCode.SERVICE_UNAVAILABLE, retry_after=1)


class Transactions:
    def __init__(self, *, database: Database, clock: Clock, ledger: IdempotencyLedger, responder: Responder) -> None:
        self._db = database
        self._clock = clock
        self._ledger = ledger
        self._responder = responder
        self.lock = asyncio.Lock()
        self.webhooks_queued = False
        self.on_webhooks_queued: Callable[[], None] = lambda: None

    async def mutate(self, ctx: RequestContext, handler: Handler) -> Response:
        """Idempotent execution: replay, 409, or run + record + commit in one transaction."""
        assert ctx.idempotency_key is not None
        release = ctx.release
        record = release.idempotency(
            key=ctx.idempotency_key, operation=ctx.operation.value, method=ctx.method, path=ctx.path, body=ctx.body
        )
        async with self.lock:
            now = self._clock.now()
            try:
                async with self._db.session() as session:
                    stored = await self._ledger.lookup(session, ctx.platform_id, record.scope, record.fingerprint, now)
                    if stored is not None:
                        log.debug("idempotent.replay", operation=ctx.operation.value, status=stored.status)
                        return self._responder.raw(stored.status, stored.body, sign=release.signs_responses)
                    try:
                        status, document = await handler(session, now)
                    except UcpError as exc:
                        if exc.http_status >= 500:
                            raise
                        await session.rollback()
                        status, document = release.error_document(exc)
                    body = self._responder.encode(document)
                    await self._ledger.record(
                        session, ctx.platform_id, record.scope, record.fingerprint, StoredResponse(status, body), now
                    )
                    await session.commit()
            except SQLAlchemyError as exc:
                log.error("database.error", operation=ctx.operation.value, error=type(exc).__name__)
                raise database_unavailable() from exc
        self.announce()
        return self._responder.raw(status, body, sign=release.signs_responses)

    async def read(self, ctx: RequestContext, handler: Handler) -> Response:
        """A read that may apply lazy transitions (expiry, settlement); commits them."""
        status, document = await self.run(handler)
        return self._responder.json(status, document, sign=ctx.release.signs_responses)

    async def run(self, work: Callable[[AsyncSession, dt.datetime], Awaitable[T]]) -> T:
        """Run ``work`` under the lock in one committed transaction; then wake the webhook sender if needed."""
        async with self.lock:
            now = self._clock.now()
            try:
                async with self._db.session() as session:
                    result = await work(session, now)
                    await session.commit()
            except SQLAlchemyError as exc:
                raise database_unavailable() from exc
        self.announce()
        return result

    def announce(self) -> None:
        """After a commit: wake the webhook sender if the transaction queued any (low delivery latency)."""
        if self.webhooks_queued:
            self.webhooks_queued = False
            self.on_webhooks_queued()
