"""Nothing sensitive reaches the audit table (DESIGN.md invariant 6; PAY-01, PAY-06).

A corpus of UCP-shaped payloads -- complete requests with card and token
credentials (schemas/shopping/payment.json, types/payment_instrument.json,
types/card_credential.json, types/token_credential.json), AP2 mandates,
buyers with e-mail and phone, and free text with cards, e-mails, phones and
bearer tokens -- is written through the repository; then the raw table is read
back as the database superuser and searched for every secret.
"""

from __future__ import annotations

import re

from sqlalchemy import text

from storage.audit import AuditOutcome
from tests.storage.backends import Backend, event, new_session_id

# Luhn-valid, as card numbers are (issue 12.12 masks only those); the last is 19 digits long.
CARDS = ["4111111111111111", "5555 5555 5555 4444", "3782-822463-10005", "6200000000000000000"]
CARD_AS_NUMBER = 6011000990139424
SECRETS = [
    "7318",  # CVC
    "gXc5UCLnM6ckD7pjM1TdPA==",  # network-token cryptogram
    "tok_SECRET_visa_4f9a2c",
    "MEUCIQD-secret-sig",
    "at_SECRET_9f8e7d",
    "eyJjaGVja291dCI6InNlY3JldCJ9",
    "SECRET-bearer-xyz",
    "jane.buyer",
    "john.doe",
]
PHONES = ["+1 415 555 0132", "+44 20 7946 0958", "+33 1 70 36 39 50"]


def corpus() -> list[dict[str, object]]:
    card_instrument = {
        "id": "pm_1",
        "handler_id": "com.example.processor_tokenizer",
        "type": "card",
        "selected": True,
        "display": {"brand": "visa", "last_digits": "1111"},
        "billing_address": {"street_address": "1 Main St", "postal_code": "94043", "phone_number": PHONES[1]},
        "credential": {
            "type": "card",
            "card_number_type": "fpan",
            "number": CARDS[0],
            "expiry_month": 12,
            "expiry_year": 2030,
            "cvc": "7318",
            "cryptogram": "gXc5UCLnM6ckD7pjM1TdPA==",
            "eci_value": "07",
        },
    }
    token_instrument = {
        "id": "pm_2",
        "handler_id": "gpay",
        "type": "card",
        "credential": {
            "type": "PAYMENT_GATEWAY",
            "token": '{"signature":"MEUCIQD-secret-sig","protocolVersion":"ECv2"}',
        },
    }
    return [
        {
            "request": {
                "payment": {"instruments": [card_instrument, token_instrument]},
                "buyer": {"email": "Jane.Buyer@example.com", "phone_number": PHONES[0], "first_name": "Jane"},
                "signals": {"dev.ucp.buyer_ip": "203.0.113.42"},
            }
        },
        {"request": {"payment": {"instruments": [{"credential": {"type": "stripe_token", "token": SECRETS[2]}}]}}},
        {"payment_identity": {"access_token": "at_SECRET_9f8e7d"}},
        {"ap2": {"checkout_mandate": "eyJhbGciOiJFUzI1NiJ9.eyJjaGVja291dCI6InNlY3JldCJ9.U0lHTkFUVVJF"}},
        {"headers": {"Authorization": "Bearer SECRET-bearer-xyz", "Content-Type": "application/json"}},
        {
            "messages": [
                {"type": "info", "content": f"buyer typed card {CARDS[1]} and {CARDS[2]} into notes"},
                {"type": "info", "content": f"reach JOHN.Doe+promo@mail.example.org or {PHONES[2]}, card {CARDS[3]}"},
                {"type": "info", "content": "Authorization: Bearer SECRET-bearer-xyz"},
            ],
            "debug": {"raw_number": CARD_AS_NUMBER, "nested": [[{"card_number": CARDS[0]}]]},
        },
    ]


async def _raw_rows(backend: Backend, session: str) -> list[dict[str, object]]:
    engine = backend.owner_engine()
    try:
        async with engine.connect() as connection:
            result = await connection.execute(
                text("SELECT * FROM audit_events WHERE session_id = :s ORDER BY seq"), {"s": session}
            )
            return [dict(row._mapping) for row in result]
    finally:
        await engine.dispose()


async def test_no_credential_token_card_email_or_phone_reaches_the_table(backend: Backend) -> None:
    repo = backend.repository()
    session = new_session_id()
    try:
        for seq, payload in enumerate(corpus(), start=1):
            await repo.append_audit_event(event(session, seq, payload=payload, outcome=AuditOutcome.ACCEPTED))
    finally:
        await repo.close()
    rows = await _raw_rows(backend, session)
    assert len(rows) == len(corpus())
    stored = " | ".join(str(value) for row in rows for key, value in row.items() if key not in {"hash", "prev_hash"})
    payloads = [str(row["payload"]) for row in rows]
    lowered = stored.lower()
    for secret in SECRETS:
        assert secret.lower() not in lowered, secret
    joined_digits = re.sub(r"(?<=\d)[ ().-]+(?=\d)", "", stored)
    for number in [*CARDS, str(CARD_AS_NUMBER), *PHONES]:
        assert re.sub(r"\D", "", number) not in joined_digits, number
    assert not any(re.search(r"\d(?:[ -]?\d){12,}", payload) for payload in payloads), "no PAN-like digit run"
    assert "@" not in stored
    assert "email:" in stored and "phone:" in stored and "[pan ****4444]" in stored  # hashed/masked, not dropped
    assert '"redacted": true' in stored.lower() or "'redacted': true" in lowered
