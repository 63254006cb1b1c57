"""Redaction of payloads and log events before they are stored or logged (DESIGN.md invariant 6).

One home for the rules, so the audit store, the API's and the worker's log
processors redact the same way (PAY-01, PAY-06; overview.md "Credential Flow &
PCI Scope": the platform side must never keep raw credentials). The functions
are pure: the only input besides the value is the salt, which the caller loads
from a 0600 key file or configuration; nothing here is hard-coded.

Rules, applied to every JSON value recursively (objects, arrays, scalars):

1. **Payment credentials**: the value of a ``credential``/``credentials`` member
   (``payment_instrument.credential``, types/payment_credential.json,
   card_credential.json, token_credential.json) is replaced by
   ``{"type": <its type>, "redacted": true}`` -- the credential *type* is kept
   for the audit trail, every other member (PAN, CVC, cryptogram, token, ...)
   is dropped, whatever handler-specific fields it carries.
2. **Secrets by name**: members whose (case-insensitive, ``-`` = ``_``) name is
   a known secret (``token``, ``access_token``, ``cvc``, ``authorization``,
   ``cookie``, ``password``, ``checkout_mandate``, ...) or ends with a secret
   suffix (``_token``, ``_secret``, ...) become ``"[redacted]"``; so do the
   private members (``d``, ``p``, ``q``, ...) of anything that looks like a JWK.
3. **Buyer e-mail and phone** (types/buyer.json ``email``/``phone_number``,
   postal_address.json ``phone_number``): members named like an e-mail or a
   phone are replaced by a salted hash (HMAC-SHA256 keyed with the salt over the
   normalised value), e.g. ``"email:k3v..."``, so the same buyer still
   correlates across events without the address being readable.
4. **Free text** (every string, and every object key): JWT-like tokens and
   ``Bearer`` credentials are removed; *card numbers* -- 13 to 19 digits,
   optionally grouped by single spaces or hyphens, that pass the Luhn check and
   stand alone (not inside a longer token: a UUID, ``ord_...``, a hex id) --
   are masked to ``"[pan ****1234]"`` (the last four, which PCI DSS allows to
   display); e-mail addresses and ``+``-prefixed international phone numbers
   are replaced by their salted hashes. Integers that are card numbers are
   masked too (a PAN sent as a number).
5. **Identifiers** (members named ``id``, ``*_id``, ``kid``, ``*_key`` of an
   idempotency or request key ...) cannot hold a card number: they keep their
   digits (tokens and e-mail addresses are still scrubbed), so a merchant key,
   a webhook id, an order id or a request id is never mangled (issue 12.12).

Assumptions (the spec is silent on what a platform may keep): names and
postal addresses are kept, because the audit trail must show *what* was
ordered and shipped where; only Luhn-valid runs are masked, because masking
every long digit run mangled real identifiers (523 of 44,385 audit rows, 731
log lines) -- a mistyped card number that fails Luhn cannot be charged, and
card data must in any case arrive tokenised (payment credentials are redacted
by name, rule 2). The output of
:meth:`Redactor.redact` is stable under a second pass (redacting twice changes
nothing), and deterministic for a given salt, so a retried audit write
produces the same bytes and the same hash.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping, MutableMapping
from typing import Any, Final

JsonValue = Any

REDACTED: Final = "[redacted]"
MIN_SALT_BYTES: Final = 16
MAX_DEPTH: Final = 64
PAN_MIN_DIGITS: Final = 13

_CREDENTIAL_KEYS: Final = frozenset({"credential", "credentials", "payment_credential"})
_SECRET_KEYS: Final = frozenset(
    {
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "session_token",
        "auth_token",
        "bearer_token",
        "api_key",
        "apikey",
        "x_api_key",
        "secret",
        "client_secret",
        "password",
        "passwd",
        "passphrase",
        "private_key",
        "authorization",
        "proxy_authorization",
        "cookie",
        "set_cookie",
        "cvc",
        "cvv",
        "cvv2",
        "cvn",
        "csc",
        "security_code",
        "pin",
        "cryptogram",
        "card_number",
        "pan",
        "account_number",
        "iban",
        "checkout_mandate",
        "payment_mandate",
        "mandate",
    }
)
_SECRET_SUFFIXES: Final = ("_token", "_secret", "_password", "_api_key", "_private_key", "_mandate", "_cvc")
_EMAIL_KEYS: Final = frozenset({"email", "email_address", "e_mail"})
_PHONE_KEYS: Final = frozenset({"phone", "phone_number", "mobile", "mobile_number", "telephone", "tel"})
_JWK_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})

_JWT: Final = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
_BEARER: Final = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
_PAN: Final = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
PAN_MAX_DIGITS: Final = 19
_IDENTIFIER_KEYS: Final = frozenset(
    {"id", "kid", "idempotency_key", "request_id", "trace_id", "span_id", "event_id", "webhook_id", "sequence"}
)
_EMAIL: Final = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_HASHED: Final = re.compile(r"(?:email|phone):[a-z2-7]{26}")
_PHONE: Final = re.compile(r"(?<![\w+])\+\d(?:[ ().-]{0,2}\d){6,14}(?!\d)")
# What every text rule needs (a digit for a PAN or a phone, ``@``, a JWT's ``eyJ``, an auth scheme): a text
# without any of it is returned as it is, without the five passes (issue 13: most keys and values are such).
_MAY_MATCH: Final = re.compile(r"(?i)[\d@]|eyj|bearer|basic")


def _normalise_key(key: str) -> str:
    return key.strip().lower().replace("-", "_")


def _is_secret_key(name: str) -> bool:
    return name in _SECRET_KEYS or name.endswith(_SECRET_SUFFIXES)


def _is_email_key(name: str) -> bool:
    return name in _EMAIL_KEYS or name.endswith("_email")


def _is_phone_key(name: str) -> bool:
    return name in _PHONE_KEYS or name.endswith(("_phone", "_phone_number"))


def _is_identifier_key(name: str) -> bool:
    return name in _IDENTIFIER_KEYS or name.endswith(("_id", "_ids", "_kid", "_idempotency_key"))


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check every payment card number passes (ISO/IEC 7812-1)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def is_card_number(digits: str) -> bool:
    return digits.isdigit() and PAN_MIN_DIGITS <= len(digits) <= PAN_MAX_DIGITS and luhn_valid(digits)


def _mask_digits(text: str) -> str:
    digits = re.sub(r"\D", "", text)
    return f"[pan ****{digits[-4:]}]"


def _mask_pan(match: re.Match[str]) -> str:
    text = match.group(0)
    return _mask_digits(text) if is_card_number(re.sub(r"\D", "", text)) else text


class Redactor:
    """Applies the module's rules with one salt; use one instance per process."""

    def __init__(self, salt: bytes) -> None:
        if not isinstance(salt, bytes) or len(salt) < MIN_SALT_BYTES:
            raise ValueError(f"redaction salt must be at least {MIN_SALT_BYTES} bytes")
        self._salt = salt

    def _digest(self, kind: str, normalised: str) -> str:
        if _HASHED.fullmatch(normalised):
            return normalised  # already one of our hashes: a second pass must not change it
        mac = hmac.new(self._salt, f"{kind}\x00{normalised}".encode(), hashlib.sha256).digest()
        # base32 (a-z, 2-7) so a hash can never look like a PAN, an e-mail or a phone itself.
        return f"{kind}:{base64.b32encode(mac).decode('ascii').lower()[:26]}"

    def hash_email(self, email: str) -> str:
        """Salted hash of an e-mail address (trimmed, case-folded)."""
        return self._digest("email", email.strip().lower())

    def hash_phone(self, phone: str) -> str:
        """Salted hash of a phone number (digits and a leading ``+`` only)."""
        if _HASHED.fullmatch(phone.strip()):
            return phone.strip()
        digits = re.sub(r"\D", "", phone)
        return self._digest("phone", ("+" if phone.strip().startswith("+") else "") + digits)

    def redact_text(self, text: str, *, cards: bool = True) -> str:
        """Scrub free text: tokens, card numbers (unless ``cards=False``: an identifier), e-mails and phones."""
        if _MAY_MATCH.search(text) is None:
            return text
        return self._scrub(text, cards=cards)

    def _scrub(self, text: str, *, cards: bool) -> str:
        text = _JWT.sub(REDACTED, text)
        text = _BEARER.sub(lambda match: f"{match.group(1)} {REDACTED}", text)
        if cards:
            text = _PAN.sub(_mask_pan, text)
        text = _EMAIL.sub(lambda match: self.hash_email(match.group(0)), text)
        return _PHONE.sub(lambda match: self.hash_phone(match.group(0)), text)

    def redact(self, value: JsonValue) -> JsonValue:
        """A redacted copy of a JSON value (dict/list/str/int/float/bool/None); the input is not modified."""
        return self._value(value, 0)

    def _value(self, value: JsonValue, depth: int) -> JsonValue:
        if depth > MAX_DEPTH:
            return REDACTED
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int):
            return self._number(value)
        if isinstance(value, float):
            if value.is_integer() and abs(value) >= 10 ** (PAN_MIN_DIGITS - 1):
                return self._number(int(value))
            return value
        if isinstance(value, Mapping):
            return self._object(value, depth)
        if isinstance(value, list | tuple):
            return [self._value(item, depth + 1) for item in value]
        # Not JSON (a log event may carry any object): keep only its scrubbed text.
        return self.redact_text(str(value))

    def _number(self, value: int) -> JsonValue:
        if is_card_number(str(abs(value))):
            return _mask_digits(str(abs(value)))
        return value

    def _object(self, value: Mapping[Any, Any], depth: int) -> dict[str, JsonValue]:
        looks_like_jwk = "kty" in value
        result: dict[str, JsonValue] = {}
        for raw_key in sorted(value, key=str):
            item = value[raw_key]
            key = self.redact_text(str(raw_key))
            name = _normalise_key(str(raw_key))
            redacted: JsonValue
            if name in _CREDENTIAL_KEYS:
                redacted = self._credential(item)
            elif _is_secret_key(name) or (looks_like_jwk and name in _JWK_PRIVATE_MEMBERS):
                redacted = REDACTED if item is not None else None
            elif _is_email_key(name) and isinstance(item, str):
                redacted = self.hash_email(item)
            elif _is_phone_key(name) and isinstance(item, str | int):
                redacted = self.hash_phone(str(item))
            elif _is_identifier_key(name) and isinstance(item, str):
                redacted = self.redact_text(item, cards=False)
            elif _is_identifier_key(name) and isinstance(item, int) and not isinstance(item, bool):
                redacted = item
            else:
                redacted = self._value(item, depth + 1)
            while key in result:  # two keys that scrub to the same text: keep both, deterministically
                key += "~"
            result[key] = redacted
        return result

    def _credential(self, item: JsonValue) -> JsonValue:
        if isinstance(item, list):
            return [self._credential(entry) for entry in item]
        if isinstance(item, Mapping):
            kind = item.get("type")
            return {"type": self.redact_text(kind) if isinstance(kind, str) else None, "redacted": True}
        return REDACTED if item is not None else None

    def __call__(
        self, logger: object, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        """A structlog processor: put it after ``format_exc_info`` so tracebacks are scrubbed too."""
        redacted: dict[str, Any] = self._object(event_dict, 0)
        return redacted
