"""Order webhook snapshots: signed identity, Webhook-Timestamp, which snapshot is older (ORD-18, ORD-24, ORD-25)."""

from __future__ import annotations

from typing import Any

import pytest

from contracts import UcpError
from contracts.ucp.order_snapshots import event_identity, is_older_snapshot, webhook_timestamp


def _order(*events: str, adjustments: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "id": "ord_1",
        "fulfillment": {
            "events": [{"id": f"e{i}", "occurred_at": at, "type": "shipped"} for i, at in enumerate(events)]
        },
        "adjustments": [{"id": f"a{i}", "occurred_at": at, "status": "pending"} for i, at in enumerate(adjustments)],
    }


def test_fewer_events_or_an_earlier_latest_event_is_older_whatever_the_timestamp() -> None:
    """ORD-25: the append-only logs (signed) decide first; an unsigned timestamp cannot promote a stale body."""
    shipped = _order("2026-04-09T10:00:00Z")
    assert is_older_snapshot(_order(), 2_000, shipped, 1_000)
    assert not is_older_snapshot(shipped, 1_000, _order(), 2_000)
    assert is_older_snapshot(_order("2026-04-09T09:00:00Z"), 2_000, shipped, 1_000)
    assert is_older_snapshot(_order(), None, _order(adjustments=("2026-04-09T10:00:00Z",)), None)


def test_equal_logs_are_ordered_by_webhook_timestamp() -> None:
    """An adjustment updated in place (ORD-02) leaves the logs equal: the event's time decides."""
    assert is_older_snapshot(_order(), 1_000, _order(), 2_000)
    assert not is_older_snapshot(_order(), 2_000, _order(), 1_000)
    assert not is_older_snapshot(_order(), None, _order(), 2_000)
    assert not is_older_snapshot(_order(), 1_000, None, None)
    assert not is_older_snapshot({"id": "ord_2"}, 1, _order("2026-04-09T10:00:00Z"), 2)


def test_identity_is_the_body_digest() -> None:
    assert event_identity(b"{}") == event_identity(b"{}") != event_identity(b"{ }")


@pytest.mark.parametrize(
    ("value", "reason"), [(None, "missing"), ("1.5", "malformed"), ("-1", "malformed"), ("9999", "future")]
)
def test_bad_webhook_timestamps_are_refused(value: str | None, reason: str) -> None:
    with pytest.raises(UcpError) as caught:
        webhook_timestamp(value, now=1_000, required=True)
    assert caught.value.reason == reason


def test_an_old_timestamp_is_kept_and_an_absent_one_is_allowed_where_not_required() -> None:
    """A retry carries the event's original time (rest.openapi.json: occurrence timestamp)."""
    assert webhook_timestamp("10", now=1_000_000, required=True) == 10
    assert webhook_timestamp("1100", now=1_000, required=True) == 1100  # within the skew tolerance
    assert webhook_timestamp(None, now=1_000, required=False) is None
