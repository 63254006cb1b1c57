"""Regenerate the published contract files.

    python -m contracts.vectors.regenerate            # contracts/error_codes.json
    python -m contracts.vectors.regenerate --vectors  # also re-sign contracts/vectors/signatures.json

The error-code registry is derived from :mod:`contracts.error_codes`; tests fail
when the committed file and the code disagree, so a new code is always a
deliberate, reviewed change. Vectors are re-signed only on request: ECDSA
signatures are randomised, so re-signing changes the file even when nothing
else did. The vector key (``test_key.json``) is created once and kept; it is a
published *test-only* key and :mod:`contracts.jwk` users must never load it as
a real identity (its kid says so).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path
from typing import Any, Final

from contracts.error_codes import render_registry
from contracts.http_signatures import sign_request, sign_response, signature_base
from contracts.jwk import SigningKey
from contracts.ucp_agent import format_ucp_agent

HERE: Final = Path(__file__).resolve().parent
TEST_KEY_FILE: Final = HERE / "test_key.json"
VECTORS_FILE: Final = HERE / "signatures.json"
TEST_KID: Final = "ucp-connector-test-vector-key-not-secret"
CREATED: Final = dt.datetime(2026, 4, 8, tzinfo=dt.UTC)

PLATFORM_AGENT: Final = format_ucp_agent("https://platform.example/.well-known/ucp")
MERCHANT_AGENT: Final = format_ucp_agent("https://merchant.example/.well-known/ucp")

_REQUESTS: Final[list[dict[str, Any]]] = [
    {
        "name": "get_with_query",
        "method": "GET",
        "url": "https://merchant.example/checkout-sessions/chk_123?include=totals&note=a%20b",
        "headers": [["UCP-Agent", PLATFORM_AGENT]],
        "body": None,
    },
    {
        "name": "get_minimal",
        "method": "GET",
        "url": "https://merchant.example/orders/ord_456",
        "headers": [],
        "body": None,
    },
    {
        "name": "post_create_checkout",
        "method": "POST",
        "url": "https://merchant.example/checkout-sessions",
        "headers": [
            ["Content-Type", "application/json"],
            ["UCP-Agent", PLATFORM_AGENT],
            ["Idempotency-Key", "550e8400-e29b-41d4-a716-446655440000"],
        ],
        "body": '{"line_items":[{"item":{"id":"item_123"},"quantity":2}]}',
    },
    {
        "name": "put_update_checkout_non_default_port",
        "method": "PUT",
        "url": "https://merchant.example:8443/ucp/v1/checkout-sessions/chk_123",
        "headers": [
            ["Content-Type", "application/json"],
            ["UCP-Agent", PLATFORM_AGENT],
            ["Idempotency-Key", "b3f1c2d4e5a6978812345678abcdefAB"],
        ],
        "body": '{"buyer":{"email":"jane@example.com"},"line_items":[{"id":"li_1","item":{"id":"item_123"},'
        '"quantity":2}]}',
    },
    {
        "name": "post_webhook_from_merchant",
        "method": "POST",
        "url": "https://platform.example/webhooks/ucp/orders",
        "headers": [
            ["Content-Type", "application/json"],
            ["UCP-Agent", MERCHANT_AGENT],
            ["Idempotency-Key", "wh_0123456789abcdefghijklmnop"],
        ],
        "body": '{"id":"ord_456","checkout_id":"chk_123","permalink_url":"https://merchant.example/o/456"}',
    },
]

_RESPONSES: Final[list[dict[str, Any]]] = [
    {
        "name": "response_201_created",
        "status": 201,
        "headers": [["Content-Type", "application/json"]],
        "body": '{"id":"chk_123","status":"incomplete"}',
    },
    {
        "name": "response_200_completed",
        "status": 200,
        "headers": [["Content-Type", "application/json"]],
        "body": '{"id":"chk_123","status":"completed","order":{"id":"ord_456"}}',
    },
    {
        "name": "response_204_no_body",
        "status": 204,
        "headers": [],
        "body": None,
    },
]


def load_test_key() -> SigningKey:
    return SigningKey.from_private_jwk(json.loads(TEST_KEY_FILE.read_text()))


def _ensure_test_key() -> SigningKey:
    if TEST_KEY_FILE.exists():
        return load_test_key()
    key = SigningKey.generate(kid=TEST_KID)
    document = {"_comment": "TEST-ONLY key for contract vectors; published on purpose, never a real identity."}
    document.update(key.to_private_jwk())
    TEST_KEY_FILE.write_text(json.dumps(document, indent=2) + "\n")
    return key


def _body_bytes(case: dict[str, Any]) -> bytes | None:
    body = case["body"]
    return None if body is None else str(body).encode()


def build_vectors(key: SigningKey) -> dict[str, Any]:
    cases: list[dict[str, Any]] = []
    for case in _REQUESTS:
        headers = [(str(name), str(value)) for name, value in case["headers"]]
        added = sign_request(
            method=case["method"], url=case["url"], headers=headers, body=_body_bytes(case), key=key, created=CREATED
        )
        sent = [*headers, *added.items()]
        base = signature_base(
            method=case["method"], url=case["url"], headers=sent, signature_input=added["Signature-Input"]
        )
        cases.append(
            {"kind": "request", **case, "headers": [list(pair) for pair in sent], "signature_base": base.decode()}
        )
    for case in _RESPONSES:
        headers = [(str(name), str(value)) for name, value in case["headers"]]
        added = sign_response(status=case["status"], headers=headers, body=_body_bytes(case), key=key, created=CREATED)
        sent = [*headers, *added.items()]
        base = signature_base(status=case["status"], headers=sent, signature_input=added["Signature-Input"])
        cases.append(
            {"kind": "response", **case, "headers": [list(pair) for pair in sent], "signature_base": base.decode()}
        )
    return {
        "description": "UCP RFC 9421 vectors: each case holds the message as sent, the exact signature base "
        "and an ES256 (raw r||s) signature made with the test key.",
        "created": int(CREATED.timestamp()),
        "public_key": key.public_jwk.to_dict(),
        "cases": cases,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vectors", action="store_true", help="also re-sign the signature vectors")
    args = parser.parse_args()
    (HERE.parent / "error_codes.json").write_text(render_registry())
    if args.vectors:
        VECTORS_FILE.write_text(json.dumps(build_vectors(_ensure_test_key()), indent=2) + "\n")


if __name__ == "__main__":
    main()
