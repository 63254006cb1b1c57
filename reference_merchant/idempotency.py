"""Idempotency of mutations (signatures.md "Idempotency Key Requirements"; DESIGN.md invariant 2).

A key belongs to one platform (the verified profile URL). Its record holds the
request *fingerprint* and the exact response (status + body bytes):

* same key, same fingerprint -> the stored response, byte-identical body, and
  nothing is executed again (IDM-05, IDM-08);
* same key, another fingerprint -> ``409 idempotency_key_reused`` (IDM-07);
* the record cannot be read or written -> ``503 idempotency_unavailable``,
  and the operation is not executed or not committed (fail closed, IDM-06).

The fingerprint is sha-256 over (method, path, sha-256 of the raw body): the
same key reused for another operation or another session is a conflict too
(IDM-03), and a retry must resend byte-identical bytes (IDM-12).

The record is written in the *same database transaction* as the business
change, so either both commit or neither does: a response lost after commit
(a crash, or the ``drop_after_commit`` fault) is replayed to the retry.
Records are kept ``idempotency_ttl_seconds`` (48 h by default, >= 24 h,
IDM-04) and purged after that.

Replays are re-signed (the signature's ``created`` is fresh); the body bytes
are the stored ones. Responses with a 5xx status are never stored, so a
request that failed for a transient reason can be retried with the same key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import ErrorCode, UcpError
from reference_merchant.store import IdempotencyRow, epoch


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: bytes


def fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), hashlib.sha256(body).digest()):
        digest.update(len(part).to_bytes(4, "big") + part)
    return digest.hexdigest()


def unavailable(reason: str) -> UcpError:
    return UcpError(
        "idempotency state is unavailable; the request was not executed",
        code=ErrorCode.IDEMPOTENCY_UNAVAILABLE,
        detail={"reason": reason},
        retry_after=1,
    )


class IdempotencyLedger:
    def __init__(self, ttl: dt.timedelta, *, failing: Callable[[], bool] = lambda: False) -> None:
        self.ttl = ttl
        self._failing = failing

    def _check_available(self) -> None:
        if self._failing():
            raise unavailable("store_failing")

    async def lookup(
        self, session: AsyncSession, platform: str, key: str, request_fingerprint: str, now: dt.datetime
    ) -> StoredResponse | None:
        """The stored response for a replay, ``None`` for a new key; 409 on a different request."""
        self._check_available()
        try:
            row = await session.scalar(
                select(IdempotencyRow).where(IdempotencyRow.platform == platform, IdempotencyRow.key == key)
            )
        except SQLAlchemyError as exc:
            raise unavailable("read_failed") from exc
        if row is None or row.created_at <= epoch(now - self.ttl):
            return None
        if row.fingerprint != request_fingerprint:
            raise UcpError(
                "this Idempotency-Key was already used with a different request",
                code=ErrorCode.IDEMPOTENCY_KEY_REUSED,
            )
        return StoredResponse(status=row.status_code, body=row.body)

    async def record(
        self,
        session: AsyncSession,
        platform: str,
        key: str,
        request_fingerprint: str,
        response: StoredResponse,
        now: dt.datetime,
    ) -> None:
        """Store the response in the caller's transaction (replacing an expired record of the same key)."""
        self._check_available()
        try:
            await session.execute(
                delete(IdempotencyRow).where(IdempotencyRow.platform == platform, IdempotencyRow.key == key)
            )
            session.add(
                IdempotencyRow(
                    platform=platform,
                    key=key,
                    fingerprint=request_fingerprint,
                    status_code=response.status,
                    body=response.body,
                    created_at=epoch(now),
                )
            )
            await session.flush()
        except SQLAlchemyError as exc:
            raise unavailable("write_failed") from exc

    async def purge(self, session: AsyncSession, now: dt.datetime) -> int:
        result = await session.execute(delete(IdempotencyRow).where(IdempotencyRow.created_at <= epoch(now - self.ttl)))
        return int(getattr(result, "rowcount", 0) or 0)
