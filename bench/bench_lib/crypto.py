"""The crypto bound: one RFC 9421 sign and one verify of a UCP request, as contracts/ does them.

Every platform operation through the connector signs and verifies four
messages (platform request, connector answer, connector's merchant request,
merchant answer), so ``4 * (sign + verify)`` is the signing work on an
operation's critical path; the report divides that by the operation's p50.
GET is answered from the workflow (no merchant call): two messages.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

from contracts import KeyStore, SigningKey, format_ucp_agent, sign_request, verify_request
from tests.fixtures.bodies import ready_body

URL = "https://merchant.example/checkout-sessions/chk_123"
SIGNED_MESSAGES = {"create": 4, "update": 4, "complete": 4, "cancel": 4, "get": 2}


def measure(iterations: int) -> dict[str, Any]:
    body = json.dumps(ready_body()).encode()
    headers = [
        ("Content-Type", "application/json"),
        ("UCP-Agent", format_ucp_agent("https://platform.example/.well-known/ucp")),
        ("Idempotency-Key", "550e8400-e29b-41d4-a716-446655440000"),
    ]
    key = SigningKey.generate()
    keys = KeyStore(key)
    signed = headers + list(sign_request(method="PUT", url=URL, headers=headers, body=body, key=key).items())
    sign_us: list[float] = []
    verify_us: list[float] = []
    for _ in range(iterations):
        start = time.perf_counter_ns()
        sign_request(method="PUT", url=URL, headers=headers, body=body, key=key)
        middle = time.perf_counter_ns()
        verify_request(method="PUT", url=URL, headers=signed, body=body, keys=keys)
        sign_us.append((middle - start) / 1000)
        verify_us.append((time.perf_counter_ns() - middle) / 1000)
    sign_p50, verify_p50 = statistics.median(sign_us), statistics.median(verify_us)
    return {
        "iterations": iterations,
        "body_bytes": len(body),
        "sign_p50_us": round(sign_p50, 1),
        "verify_p50_us": round(verify_p50, 1),
        "sign_plus_verify_ms": round((sign_p50 + verify_p50) / 1000, 4),
        "signed_messages_per_operation": SIGNED_MESSAGES,
    }
