"""RFC 3339 timestamps as UCP bodies carry them (``expires_at``, ``occurred_at``): read leniently, never raise.

A merchant's timestamp is data we compare, not a field we validate here: a
missing or malformed one reads as ``None`` and the caller decides what that
means. A value without an offset is taken as UTC.
"""

from __future__ import annotations

import datetime as dt


def parse_instant(value: object) -> dt.datetime | None:
    """``value`` as an aware datetime, or ``None`` when it is not an RFC 3339 string."""
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


__all__ = ["parse_instant"]
