# ruff: noqa: E501  (the attack table keeps one attack per line)
"""Signatures, authorization, idempotency and input attacks on the signed API, one table row each.

Each row builds one hostile request against the loopback API (scripted
gateway: an attack that reached it would fail the test as unscripted) and
names the frozen code it must be refused with; every answer is signed
(SIG-21). The control is the same create, done right, answered 201.
SIG-13..SIG-25, SIG-32, IDM-01, IDM-02, TRN-08, TRN-10, DESIGN invariants 1, 2, 8.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from tests.api.conftest import MERCHANT, OTHER_MERCHANT, ApiUnderTest
from tests.api.gateway_double import ScriptedGateway
from tests.fixtures.independent_signer import IndependentSigner, json_bytes, new_key
from tests.security.catalogue import attack, control
from workflows.types import Operation, OperationResult

for name in ("input", "idempotency", "authorization", "signatures"):
    control(name)

CREATE = {"line_items": [{"item": {"id": "sku_tee"}, "quantity": 1}]}
CHECKOUTS = f"/merchants/{MERCHANT}/checkout-sessions"


@dataclass(frozen=True)
class Hostile:
    """How to send it: method, path, body, and a mutation of the signed headers (or of the signer)."""

    method: str = "POST"
    path: str = CHECKOUTS
    body: bytes | None = json_bytes(CREATE)
    key: str | None = "fresh"
    mutate: Callable[[dict[str, str]], dict[str, str]] = lambda headers: headers
    signer: str = "alpha"
    send_body: bytes | None = None  # what goes on the wire instead of the signed body


def _der(headers: dict[str, str]) -> dict[str, str]:
    raw = base64.b64decode(headers["Signature"].split(":")[1])
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    return {**headers, "Signature": f"sig1=:{base64.b64encode(der).decode()}:"}


def _flip(headers: dict[str, str]) -> dict[str, str]:
    raw = bytearray(base64.b64decode(headers["Signature"].split(":")[1]))
    raw[5] ^= 0xFF
    return {**headers, "Signature": f"sig1=:{base64.b64encode(bytes(raw)).decode()}:"}


def _param(name: str, value: str) -> Callable[[dict[str, str]], dict[str, str]]:
    return lambda headers: {**headers, "Signature-Input": headers["Signature-Input"] + f";{name}={value}"}


def _drop(name: str) -> Callable[[dict[str, str]], dict[str, str]]:
    return lambda headers: {key: value for key, value in headers.items() if key.lower() != name.lower()}


def _set(name: str, value: str) -> Callable[[dict[str, str]], dict[str, str]]:
    return lambda headers: {**_drop(name)(headers), name: value}


HOUR_AHEAD = int((dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).timestamp())
HOUR_AGO = int((dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).timestamp())

ATTACKS = [
    # -- signatures ------------------------------------------------------------------------
    attack("signatures", "unsigned_mutation", "signature_missing", Hostile(signer="none")),
    attack("signatures", "signature_header_only", "signature_missing", Hostile(mutate=_drop("Signature-Input"))),
    attack("signatures", "tampered_body", "digest_mismatch", Hostile(send_body=json_bytes({**CREATE, "x": 1}))),
    attack("signatures", "der_encoded_signature", "signature_invalid", Hostile(mutate=_der)),
    attack("signatures", "flipped_signature_bit", "signature_invalid", Hostile(mutate=_flip)),
    attack("signatures", "garbage_signature_input", "signature_invalid", Hostile(mutate=_set("Signature-Input", "(("))),
    attack("signatures", "unknown_kid", "key_not_found", Hostile(signer="stranger")),
    attack("signatures", "foreign_key_known_kid", "signature_invalid", Hostile(signer="impostor")),
    attack("signatures", "declared_alg_mismatch", "algorithm_unsupported", Hostile(mutate=_param("alg", '"rsa-v1_5-sha256"'))),
    attack("signatures", "expired_signature", "signature_invalid", Hostile(mutate=_param("expires", str(HOUR_AGO)))),
    attack("signatures", "digest_header_dropped", "digest_mismatch", Hostile(mutate=_drop("Content-Digest"))),
    attack("signatures", "body_swapped_same_length", "digest_mismatch", Hostile(send_body=json_bytes(CREATE).replace(b"1", b"2"))),
    # -- authorization ---------------------------------------------------------------------
    attack("authorization", "merchant_not_allowed", "policy_denied", Hostile(signer="beta", path=f"/merchants/{OTHER_MERCHANT}/checkout-sessions")),
    attack("authorization", "unknown_merchant", "not_found", Hostile(path="/merchants/nobody/checkout-sessions")),
    attack("authorization", "not_a_session_id", "not_found", Hostile(method="GET", path=f"{CHECKOUTS}/chk_123", body=None, key=None)),
    attack("authorization", "path_traversal_session", "not_found", Hostile(method="GET", path=f"{CHECKOUTS}/..%2f..%2fhealthz", body=None, key=None)),
    # -- idempotency -----------------------------------------------------------------------
    attack("idempotency", "key_missing", "idempotency_key_missing", Hostile(key=None)),
    attack("idempotency", "key_too_short", "idempotency_key_invalid", Hostile(key="short")),
    attack("idempotency", "key_with_spaces", "idempotency_key_invalid", Hostile(key="a key with spaces ok?")),
    attack("idempotency", "key_too_long", "idempotency_key_invalid", Hostile(key="k" * 300)),
    # -- input ------------------------------------------------------------------------------
    attack("input", "malformed_json", "malformed_json", Hostile(body=b'{"line_items": [')),
    attack("input", "json_not_an_object", "validation_failed", Hostile(body=b"[1,2,3]")),
    attack("input", "duplicate_json_members", "malformed_json", Hostile(body=b'{"line_items":[],"line_items":[]}')),
    attack("input", "negative_quantity", "validation_failed", Hostile(body=json_bytes({"line_items": [{"item": {"id": "x"}, "quantity": -1}]}))),
    attack("input", "wrong_type_line_items", "validation_failed", Hostile(body=json_bytes({"line_items": "all"}))),
    attack("input", "oversized_body", "payload_too_large", Hostile(body=json_bytes({"note": "a" * 5000}))),
    attack("input", "nan_number", "malformed_json", Hostile(body=b'{"line_items":[{"item":{"id":"x"},"quantity":NaN}]}')),
    attack("input", "deeply_nested", "malformed_json", Hostile(body=b'{"a":' * 200 + b"1" + b"}" * 200)),
    attack("input", "bad_cursor", "cursor_invalid", Hostile(method="GET", path="/checkout-sessions?cursor=not-a-cursor", body=None, key=None)),
    attack("input", "limit_out_of_range", "validation_failed", Hostile(method="GET", path="/checkout-sessions?limit=100000", body=None, key=None)),
]  # fmt: skip


def _signer(api: ApiUnderTest, name: str) -> IndependentSigner | None:
    if name == "stranger":
        return IndependentSigner(ec.generate_private_key(ec.SECP256R1()), kid="nobody")
    if name == "impostor":
        return IndependentSigner(api.beta.private_key, kid=api.alpha.kid)
    return {"alpha": api.alpha, "beta": api.beta, "none": None}[name]


async def _send(api: ApiUnderTest, hostile: Hostile) -> httpx.Response:
    url = api.url + hostile.path
    key = new_key() if hostile.key == "fresh" else hostile.key
    signer = _signer(api, hostile.signer)
    headers: dict[str, str] = {}
    if signer is not None:
        headers = signer.sign(hostile.method, url, body=hostile.body, idempotency_key=key)
    elif hostile.body:
        headers = {"Content-Type": "application/json"}
    if key and "Idempotency-Key" not in headers:
        headers["Idempotency-Key"] = key
    content = hostile.send_body if hostile.send_body is not None else hostile.body
    return await api.http.request(hostile.method, url, content=content, headers=hostile.mutate(headers))


async def test_control_a_well_formed_signed_create_is_answered(api: ApiUnderTest, scripted: ScriptedGateway) -> None:
    scripted.script("create", OperationResult(operation=Operation.CREATE, http_status=201, body={}, request_digest=""))
    response = await _send(api, Hostile())
    assert response.status_code in (201, 409), response.text  # 409: the scripted digest differs; it got through
    api.assert_signed(response)


@pytest.mark.parametrize(("hostile", "code"), ATTACKS)
async def test_hostile_request_is_refused_with_its_frozen_code(api: ApiUnderTest, hostile: Hostile, code: str) -> None:
    response = await _send(api, hostile)
    assert response.status_code >= 400, response.text
    assert response.json()["code"] == code, response.text
    api.assert_signed(response)
