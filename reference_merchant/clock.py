"""Business time for the merchant: expiry, asynchronous completion, order progression, retries, caches.

Everything time-dependent reads an injected :class:`Clock`, so tests move time
with :class:`ManualClock` instead of sleeping (no timing assertions). The one
exception is the RFC 9421 ``created`` parameter of signatures, which is wall
time on purpose: counterparties check it against their own clocks.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class ManualClock:
    """A clock that only moves when told to; starts at a fixed, readable instant by default."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._now = start or dt.datetime(2026, 4, 8, 12, 0, tzinfo=dt.UTC)
        if self._now.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start")

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, seconds: float = 0.0, **delta: float) -> dt.datetime:
        """Move forward by ``seconds`` (and/or ``hours=``, ``minutes=`` ... as for :class:`datetime.timedelta`)."""
        step = dt.timedelta(seconds=seconds, **delta)
        if step < dt.timedelta(0):
            raise ValueError("time only moves forward")
        self._now += step
        return self._now

    def set(self, instant: dt.datetime) -> None:
        if instant < self._now:
            raise ValueError("time only moves forward")
        self._now = instant


def isoformat(instant: dt.datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` suffix and whole seconds, as every timestamp on the wire."""
    return instant.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
