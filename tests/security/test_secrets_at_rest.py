"""Secrets at rest: card numbers masked wherever they can be, identifiers never damaged (issue 12.12).

The PAN pattern matched any 13+ digit run, across UUID hyphens too: 523 of
44,385 audit rows had a masked merchant key, webhook id or order id, and 731
log lines a mangled request id. A card number is now a Luhn-valid 13-19 digit
run standing alone, in a member that can hold one (contracts/redaction.py).
The attacks put a card number where a careless platform or merchant might;
the control is every real identifier shape this system produces, untouched.
DESIGN invariant 6 (no plaintext card data at rest).
"""

from __future__ import annotations

import json
import uuid

import pytest

from contracts import Redactor, checkout_session_id, outbound_idempotency_key
from tests.security.catalogue import attack, control

control("secrets_at_rest")

redactor = Redactor(b"s" * 32)
CARD = "4111111111111111"


@pytest.mark.parametrize(
    "identifier",
    [
        "12345678-1234-5678-9012-345678901234",  # a UUID whose groups are all digits (the old mask took 24 of them)
        "3f2b1c4e-4111-4111-9111-111111111111",
        "c0a80101-0000-4000-8000-000000000001",
        outbound_idempotency_key("checkout/agent/cs_x", 7),
        "ord_4111111111111111",
        "wh_20261202011502123456",
        "req_20261202-0115-0212-3456-789012345678",
        "1733101502123-4111111111111111",
        checkout_session_id("agent", str(uuid.uuid4())),
    ],
)
def test_control_real_identifiers_survive_in_text_and_in_id_members(identifier: str) -> None:
    assert redactor.redact_text(f"id={identifier} done") == f"id={identifier} done"
    event = {"request_id": identifier, "webhook_id": identifier, "order_id": identifier, "id": identifier}
    assert redactor.redact(event) == event


def test_control_random_uuids_are_never_touched() -> None:
    for _ in range(2000):
        text = str(uuid.uuid4())
        assert redactor.redact_text(text) == text


@pytest.mark.parametrize(
    ("document", "code"),
    [
        attack("secrets_at_rest", "pan_in_free_text", None, {"note": f"my card is {CARD}"}),
        attack("secrets_at_rest", "pan_grouped_spaces", None, {"note": "card 4111 1111 1111 1111."}),
        attack("secrets_at_rest", "pan_grouped_hyphens", None, {"note": "card: 4111-1111-1111-1111"}),
        attack("secrets_at_rest", "pan_as_integer", None, {"reference": int(CARD)}),
        attack("secrets_at_rest", "pan_in_member_name", None, {CARD: "x"}),
        attack("secrets_at_rest", "pan_in_card_number_member", None, {"card_number": "4111 1111 1111 1111"}),
        attack("secrets_at_rest", "amex_in_message", None, {"messages": [{"content": "amex 378282246310005"}]}),
        attack("secrets_at_rest", "pan_in_log_event", None, {"event": f"paid with {CARD}", "request_id": "r1"}),
    ],
)
def test_a_card_number_never_reaches_the_audit_or_the_log(document: dict[str, object], code: None) -> None:
    text = json.dumps(redactor.redact(document))
    assert "4111111111111111" not in text.replace(" ", "").replace("-", "")
    assert "378282246310005" not in text


def test_a_non_luhn_run_is_not_a_card() -> None:
    """A millisecond timestamp or an order number that fails Luhn is data, not a card."""
    assert redactor.redact_text("at 1733101502124 ok") == "at 1733101502124 ok"
    assert redactor.redact({"amount_minor": 4111111111111112}) == {"amount_minor": 4111111111111112}
