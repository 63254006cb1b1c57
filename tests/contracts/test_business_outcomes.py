"""Which merchant messages are business outcomes that refuse a request (issue 16.3; checkout.md "Messages")."""

from __future__ import annotations

from contracts.ucp.outcomes import business_outcomes


def test_error_messages_are_refusals_but_escalations_and_warnings_are_not() -> None:
    body = {
        "messages": [
            {"type": "error", "code": "payment_failed", "severity": "recoverable", "content": "Card declined"},
            {"type": "error", "code": "out_of_stock", "severity": "unrecoverable"},
            {"type": "error", "code": "high_value_review", "severity": "requires_buyer_review"},
            {"type": "error", "code": "engraving_required", "severity": "requires_buyer_input"},
            {"type": "warning", "code": "final_sale"},
            {"type": "error"},
            "not a message",
        ]
    }
    assert business_outcomes(body) == ["payment_failed", "out_of_stock", "error"]
    assert business_outcomes({}) == [] and business_outcomes({"messages": "nonsense"}) == []
