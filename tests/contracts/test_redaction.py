"""Redaction rules (contracts/redaction.py; DESIGN.md invariant 6; PAY-01, PAY-06)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts import Redactor
from contracts.redaction import REDACTED, luhn_valid

SALT = b"tests-only-redaction-salt-000000"
redactor = Redactor(SALT)
LONG_DIGITS = re.compile(r"\d(?:[ -]?\d){12,}")


def test_card_credential_keeps_only_its_type() -> None:
    """types/card_credential.json: number, cvc, cryptogram, expiry, name all gone; type kept for the audit."""
    instrument = {
        "id": "pm_1",
        "handler_id": "h1",
        "type": "card",
        "display": {"brand": "visa", "last_digits": "4242"},
        "credential": {
            "type": "card",
            "card_number_type": "fpan",
            "number": "4111111111111111",
            "expiry_month": 12,
            "expiry_year": 2030,
            "name": "Jane Doe",
            "cvc": "737",
            "cryptogram": "gXc5UCLnM6ckD7pjM1TdPA==",
            "eci_value": "07",
        },
    }
    redacted = redactor.redact(instrument)
    assert redacted["credential"] == {"type": "card", "redacted": True}
    assert redacted["display"] == {"brand": "visa", "last_digits": "4242"}
    assert instrument["credential"]["number"] == "4111111111111111", "the input is not modified"


def test_token_credentials_and_secrets_by_name_are_removed() -> None:
    document = {
        "credential": {"type": "PAYMENT_GATEWAY", "token": '{"signature":"abc","protocolVersion":"ECv2"}'},
        "credentials": [{"type": "stripe_token", "token": "tok_visa_123"}],
        "payment_identity": {"access_token": "at_secret_value"},
        "headers": {"Authorization": "Bearer abc.def.ghi", "Cookie": "sid=1", "Idempotency-Key": "k" * 22},
        "ap2": {"checkout_mandate": "eyJhbGciOiJFUzI1NiJ9.eyJ4IjoxfQ.sig", "merchant_authorization": "a..b"},
        "refresh_token": "rt",
        "webhook_secret": "ws",
        "jwk": {"kty": "EC", "crv": "P-256", "x": "X", "y": "Y", "d": "PRIVATE"},
    }
    redacted = redactor.redact(document)
    assert redacted["credential"] == {"type": "PAYMENT_GATEWAY", "redacted": True}
    assert redacted["credentials"] == [{"type": "stripe_token", "redacted": True}]
    assert redacted["payment_identity"] == {"access_token": REDACTED}
    assert redacted["headers"]["Authorization"] == REDACTED and redacted["headers"]["Cookie"] == REDACTED
    assert redacted["headers"]["Idempotency-Key"] == "k" * 22
    assert redacted["ap2"] == {"checkout_mandate": REDACTED, "merchant_authorization": "a..b"}
    assert redacted["refresh_token"] == redacted["webhook_secret"] == REDACTED
    assert redacted["jwk"] == {"kty": "EC", "crv": "P-256", "x": "X", "y": "Y", "d": REDACTED}


def test_buyer_email_and_phone_become_salted_hashes() -> None:
    """types/buyer.json and postal_address.json: the same buyer correlates, the address is unreadable."""
    buyer = {"email": " Jane@Example.COM ", "phone_number": "+1 (555) 010-9999", "first_name": "Jane"}
    redacted = redactor.redact({"buyer": buyer, "billing_address": {"phone_number": "+15550109999"}})
    assert redacted["buyer"]["email"] == redactor.hash_email("jane@example.com")
    assert redacted["buyer"]["email"].startswith("email:") and "@" not in redacted["buyer"]["email"]
    assert redacted["buyer"]["phone_number"] == redacted["billing_address"]["phone_number"]
    assert redacted["buyer"]["first_name"] == "Jane"
    other_salt = Redactor(b"another-salt-for-the-same-buyer!")
    assert other_salt.hash_email("jane@example.com") != redactor.hash_email("jane@example.com")


@pytest.mark.parametrize(
    "card",
    [
        "4111111111111111",
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "378282246310005",  # Amex, 15 digits
        "3782 822463 10005",
        "6011000990139424",
        "6200000000000000000",  # 19 digits
    ],
)
def test_pan_like_digit_runs_are_masked_in_free_text(card: str) -> None:
    text = redactor.redact_text(f"buyer said: my card is {card}, expires 12/30")
    digits = re.sub(r"\D", "", card)
    assert digits not in re.sub(r"[ -]", "", text)
    assert f"[pan ****{digits[-4:]}]" in text


def test_numbers_and_keys_are_scrubbed_too() -> None:
    redacted = redactor.redact({"note": 4111111111111111, "jane@example.com": 1, "amount": 4599, "ratio": 0.5})
    assert redacted["note"] == "[pan ****1111]"
    assert redactor.hash_email("jane@example.com") in redacted
    assert redacted["amount"] == 4599 and redacted["ratio"] == 0.5


def test_free_text_emails_phones_and_tokens() -> None:
    text = redactor.redact_text(
        "contact jane.doe+shop@mail.example.org or +44 20 7946 0958; auth Bearer sk_live_abcdefgh123; "
        "jwt eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    )
    assert "jane.doe" not in text and "7946" not in text and "sk_live" not in text and "eyJ" not in text
    assert redactor.hash_email("jane.doe+shop@mail.example.org") in text


def test_ordinary_checkout_data_is_untouched() -> None:
    checkout = {
        "id": "chk_123",
        "status": "ready_for_complete",
        "currency": "USD",
        "totals": [{"type": "subtotal", "amount": 2599}, {"type": "total", "amount": 3098}],
        "line_items": [{"id": "li_1", "item": {"id": "item_123", "title": "Blue shirt"}, "quantity": 2}],
        "expires_at": "2026-04-08T18:00:00Z",
        "links": [{"type": "terms_of_service", "url": "https://merchant.example/terms"}],
    }
    assert redactor.redact(checkout) == checkout


def test_log_processor_redacts_event_dicts() -> None:
    event = {"event": "paid with 4111 1111 1111 1111", "headers": {"authorization": "x"}, "email": "a@b.example"}
    redacted = redactor(None, "info", event)
    assert redacted["event"] == "paid with [pan ****1111]"
    assert redacted["headers"] == {"authorization": REDACTED}
    assert redacted["email"] == redactor.hash_email("a@b.example")


def test_a_second_pass_changes_nothing() -> None:
    document = {"buyer": {"email": "a@b.example", "phone_number": "+15550109999"}, "credential": {"type": "card"}}
    once = redactor.redact(document)
    assert redactor.redact(once) == once


def test_short_salts_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        Redactor(b"short")


def _with_check_digit(body: str) -> str:
    return next(body + digit for digit in "0123456789" if luhn_valid(body + digit))


@st.composite
def text_with_a_card(draw: st.DrawFn) -> tuple[str, str]:
    length = draw(st.integers(min_value=13, max_value=19))
    digits = _with_check_digit(draw(st.text(alphabet="0123456789", min_size=length - 1, max_size=length - 1)))
    separator = draw(st.sampled_from(["", " ", "-"]))
    group = draw(st.sampled_from([4, 5, 6, length]))
    card = separator.join(digits[i : i + group] for i in range(0, length, group))
    filler = st.text(alphabet=st.characters(blacklist_categories=("Nd", "Cs")), max_size=20)
    return draw(filler) + " " + card + " " + draw(filler), digits


@given(text_with_a_card())
def test_no_card_number_survives_in_any_text(case: tuple[str, str]) -> None:
    """Property: whatever text surrounds it, a card number never survives, and a second pass changes nothing."""
    text, digits = case
    once = redactor.redact_text(text)
    assert digits not in re.sub(r"(?<=\d)[ -](?=\d)", "", once)
    assert not LONG_DIGITS.search(once)
    assert redactor.redact_text(once) == once


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda children: st.lists(children) | st.dictionaries(st.text(), children),
        max_leaves=30,
    )
)
def test_redaction_is_deterministic_and_stable(value: object) -> None:
    once = redactor.redact(value)
    assert redactor.redact(value) == once
    assert redactor.redact(once) == once


# What the rules look for, so generated texts reach every pattern: digits (also non-ASCII ones), '@', '+',
# a JWT's start, the auth schemes in any case, separators and other letters.
_RULE_ALPHABET = st.sampled_from(
    [
        "4",
        "1",
        "0",
        "٣",
        " ",
        "-",
        ".",
        "@",
        "+",
        "(",
        ")",
        "eyJ",
        "EYJ",
        "Bearer ",
        "basic ",
        "ba\u017fic ",
        "a",
        "Z",
        "_",
        "é",
    ]
)


@given(st.lists(_RULE_ALPHABET, max_size=40).map("".join), st.booleans())
def test_the_quick_path_answers_as_the_full_scrub(text: str, cards: bool) -> None:
    """Issue 13: a text no rule can match skips the five passes; whatever the text, the answer is the scrub's."""
    assert redactor.redact_text(text, cards=cards) == redactor._scrub(text, cards=cards)


@given(st.text(max_size=60), st.booleans())
def test_the_quick_path_answers_as_the_full_scrub_on_any_text(text: str, cards: bool) -> None:
    assert redactor.redact_text(text, cards=cards) == redactor._scrub(text, cards=cards)
