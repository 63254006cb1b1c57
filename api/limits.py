"""Backpressure per platform: a token bucket for request rate and a cap on concurrent requests.

Both are checked right after the signature proves who is calling, so one busy
platform can never starve another, and a slow merchant can never pin every
API worker on one platform's requests. Over the limit is ``429 rate_limited``
with ``Retry-After`` (TRN-10); the limits come from the platform registry.
The state is per API process: with N replicas a platform may reach N times
the configured rate (documented for operators).
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from contracts import ErrorCode, UcpError
from core.settings import RateLimit


@dataclass
class TokenBucket:
    rate: float
    burst: int
    tokens: float = field(init=False)
    updated: float = field(init=False)
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self.tokens = float(self.burst)
        self.updated = self.clock()

    def take(self) -> float | None:
        """Take one token; return ``None`` on success, else seconds until one is available."""
        now = self.clock()
        self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return None
        return (1.0 - self.tokens) / self.rate


@dataclass
class _PlatformLimits:
    bucket: TokenBucket
    max_concurrent: int
    in_flight: int = 0


class PlatformLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._limits: dict[str, _PlatformLimits] = {}

    def _for(self, platform_id: str, limit: RateLimit) -> _PlatformLimits:
        entry = self._limits.get(platform_id)
        if entry is None:
            entry = _PlatformLimits(
                TokenBucket(limit.requests_per_second, limit.burst, clock=self._clock), limit.max_concurrent
            )
            self._limits[platform_id] = entry
        return entry

    @asynccontextmanager
    async def admit(self, platform_id: str, limit: RateLimit) -> AsyncIterator[None]:
        entry = self._for(platform_id, limit)
        if entry.in_flight >= entry.max_concurrent:
            raise UcpError(
                "too many concurrent requests for this platform",
                code=ErrorCode.RATE_LIMITED,
                retry_after=1,
                detail={"reason": "concurrency", "max_concurrent": entry.max_concurrent},
            )
        wait = entry.bucket.take()
        if wait is not None:
            raise UcpError(
                "request rate limit exceeded for this platform",
                code=ErrorCode.RATE_LIMITED,
                retry_after=max(1, math.ceil(wait)),
                detail={"reason": "rate"},
            )
        entry.in_flight += 1
        try:
            yield
        finally:
            entry.in_flight -= 1
