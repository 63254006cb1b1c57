"""The connector's platform profile declares its platforms' payment handlers (payment-handler-guide.md).

A business resolves ``available_instruments`` by intersecting the platform's
declared handlers with its own ("Resolving available_instruments"): with
``payment_handlers: {}`` a business that intersects offers nothing. Each
platform configures its handlers; the profile a merchant reads declares those
of the platforms allowed at that merchant.
"""

from __future__ import annotations

from typing import Any

from contracts import KeyStore, SigningKey
from core.settings import Settings
from merchants.platform_profile import platform_profile
from tests.spec_schemas import platform_profile_validator, requires_spec

GOOGLE, EXAMPLE = "com.google.pay", "com.example.tokenizer"
JWKS = {"keys": [SigningKey.generate().public_jwk.to_dict()]}
GPAY = {
    "id": "gpay",
    "version": "2026-04-08",
    "spec": "https://pay.google.com/ucp/spec",
    "schema": "https://pay.google.com/ucp/schema.json",
    "available_instruments": [{"type": "card", "constraints": {"brands": ["visa"]}}],
}
TOKENIZER = {
    "id": "tok",
    "version": "2026-04-08",
    "spec": "https://example.com/ucp/handlers/tokenizer",
    "schema": "https://example.com/ucp/handlers/tokenizer/config.json",
}


def _settings() -> Settings:
    shop = {"profile_url": "https://shop.example/.well-known/ucp"}
    flowers = {"profile_url": "https://flowers.example/.well-known/ucp"}
    platform: dict[str, Any] = {"jwks": JWKS}
    return Settings(
        public_base_url="https://connector.example",
        merchants={"shop": shop, "flowers": flowers},
        platforms={
            "alpha": {
                **platform,
                "allowed_merchants": ["shop", "flowers"],
                "payment_handlers": {"com.google.pay": [GPAY]},
            },
            "beta": {
                **platform,
                "allowed_merchants": ["shop"],
                "payment_handlers": {"com.example.tokenizer": [TOKENIZER]},
            },
        },
    )


def test_a_merchant_reads_the_handlers_of_the_platforms_allowed_there() -> None:
    settings = _settings()
    assert settings.payment_handlers_for("shop") == {"com.google.pay": [GPAY], "com.example.tokenizer": [TOKENIZER]}
    assert settings.payment_handlers_for("flowers") == {"com.google.pay": [GPAY]}


@requires_spec
def test_the_profile_with_handlers_is_a_valid_platform_profile() -> None:
    settings = _settings()
    keys = KeyStore(SigningKey.generate())
    document = platform_profile("https://connector.example", keys, "shop", settings.payment_handlers_for("shop"))
    assert document["ucp"]["payment_handlers"]["com.google.pay"] == [GPAY]
    platform_profile_validator().validate(document)
