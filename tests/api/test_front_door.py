"""The API's front door: every request verified (GET too), every response signed, bad input never a 500.

Requests are signed by an independent RFC 9421 implementation (http-message-signatures
used directly). Covers DESIGN invariants 1, 2, 8 and SIG-16..SIG-25, SIG-32, IDM-01,
IDM-02, TRN-08, TRN-10, OVR-31..33.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from api.app import PUBLIC_PATHS
from tests.api.conftest import MERCHANT, ApiUnderTest, _signer, running_api
from tests.api.gateway_double import ScriptedGateway
from tests.fixtures.bodies import payment_body
from tests.fixtures.independent_signer import IndependentSigner, json_bytes, new_key

CREATE_BODY = {"line_items": [{"item": {"id": "sku_tee"}, "quantity": 1}]}


def _code(response: httpx.Response) -> str:
    return str(response.json()["code"])


async def test_unsigned_get_is_refused_and_the_refusal_is_signed(api: ApiUnderTest) -> None:
    response = await api.send("GET", "/checkout-sessions")
    assert response.status_code == 401 and _code(response) == "signature_missing"
    api.assert_signed(response)


async def test_signed_get_passes_verification(api: ApiUnderTest) -> None:
    response = await api.send("GET", "/checkout-sessions?limit=5", signer=api.alpha)
    assert response.status_code == 200, response.text
    assert response.json() == {"sessions": [], "next_cursor": None}
    api.assert_signed(response)


@pytest.mark.parametrize(
    ("method", "path", "mutate"),
    [
        ("GET", "/checkout-sessions?limit=5", lambda url: url.replace("limit=5", "limit=6")),
        ("GET", "/checkout-sessions?limit=5", lambda url: url.replace("/checkout-sessions", "/checkout-sessionz")),
    ],
)
async def test_tampered_request_line_is_refused(api: ApiUnderTest, method: str, path: str, mutate: Any) -> None:
    headers = api.alpha.sign(method, api.url + path)
    response = await api.http.request(method, mutate(api.url + path), headers=headers)
    assert response.status_code in (401, 404)
    if response.status_code == 401:
        assert _code(response) == "signature_invalid"
    api.assert_signed(response)


async def test_signature_made_for_another_host_is_refused(api: ApiUnderTest) -> None:
    """@authority is rebuilt from our public origin, so a request signed for another host fails here."""
    signed_for = api.url.replace("127.0.0.1", "merchant.example") + "/checkout-sessions"
    response = await api.http.get(api.url + "/checkout-sessions", headers=api.alpha.sign("GET", signed_for))
    assert response.status_code == 401 and _code(response) == "signature_invalid"


async def test_signature_made_for_another_method_is_refused(api: ApiUnderTest) -> None:
    body = json_bytes(CREATE_BODY)
    headers = api.alpha.sign(
        "PUT", api.url + f"/merchants/{MERCHANT}/checkout-sessions", body=body, idempotency_key=new_key()
    )
    response = await api.http.post(api.url + f"/merchants/{MERCHANT}/checkout-sessions", content=body, headers=headers)
    assert response.status_code == 401 and _code(response) == "signature_invalid"


async def test_tampered_body_is_a_digest_mismatch(api: ApiUnderTest) -> None:
    body = json_bytes(CREATE_BODY)
    url = api.url + f"/merchants/{MERCHANT}/checkout-sessions"
    headers = api.alpha.sign("POST", url, body=body, idempotency_key=new_key())
    response = await api.http.post(url, content=body.replace(b"1}", b"9}"), headers=headers)
    assert response.status_code == 400 and _code(response) == "digest_mismatch"


async def test_der_encoded_signature_is_refused(api: ApiUnderTest) -> None:
    """SIG-20."""
    url = api.url + "/checkout-sessions"
    headers = api.alpha.sign("GET", url)
    raw = base64.b64decode(headers["Signature"].split(":")[1])
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    headers["Signature"] = f"sig1=:{base64.b64encode(der).decode()}:"
    response = await api.http.get(url, headers=headers)
    assert response.status_code == 401 and _code(response) == "signature_invalid"
    assert response.json()["detail"]["reason"] == "signature_encoding"


async def test_unknown_kid_and_foreign_key_are_refused(api: ApiUnderTest) -> None:
    """SIG-08: the keyid must name a key of the signer's (configured) keys, else 401 key_not_found."""
    url = api.url + "/checkout-sessions"
    stranger = IndependentSigner(ec.generate_private_key(ec.SECP256R1()), kid="nobody")
    response = await api.http.get(url, headers=stranger.sign("GET", url))
    assert response.status_code == 401 and _code(response) == "key_not_found"
    impostor = IndependentSigner(api.beta.private_key, kid=api.alpha.kid)  # beta's key, alpha's kid
    response = await api.http.get(url, headers=impostor.sign("GET", url))
    assert response.status_code == 401 and _code(response) == "signature_invalid"


async def test_signature_must_cover_the_idempotency_key(api: ApiUnderTest) -> None:
    """SIG-18 / IDM-01: the key must be a signed component of a mutation."""
    body = json_bytes(CREATE_BODY)
    url = api.url + f"/merchants/{MERCHANT}/checkout-sessions"
    headers = api.alpha.sign(
        "POST", url, body=body, cover=("@method", "@authority", "@path", "ucp-agent", "content-type")
    )
    headers["Idempotency-Key"] = new_key()
    response = await api.http.post(url, content=body, headers=headers)
    assert response.status_code == 401 and response.json()["detail"]["missing_components"] == ["idempotency-key"]


async def test_oversized_bodies_are_refused_before_anything_else(api: ApiUnderTest) -> None:
    """A body over the limit is refused before the signature is checked, declared or chunked; the 413
    names the limit it enforced (``detail.max_bytes``), so a platform can size its retry."""
    url = api.url + f"/merchants/{MERCHANT}/checkout-sessions"
    big = b'{"x":"' + b"a" * 5000 + b'"}'
    response = await api.http.post(url, content=big, headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and _code(response) == "payload_too_large"
    refusal = response.json()
    limit = refusal["detail"]["max_bytes"]
    assert refusal["detail"] == {"max_bytes": limit} and 0 < limit < len(big)
    assert str(limit) in refusal["content"]
    api.assert_signed(response)

    async def chunks() -> Any:
        for _ in range(10):
            yield b"a" * 1000

    response = await api.http.post(url, content=chunks(), headers=api.alpha.sign("POST", url))
    assert response.status_code == 413 and _code(response) == "payload_too_large"


@pytest.mark.parametrize(
    ("key", "code"),
    [(None, "idempotency_key_missing"), ("too-short", "idempotency_key_invalid")],
)
async def test_mutations_need_a_valid_idempotency_key(api: ApiUnderTest, key: str | None, code: str) -> None:
    body = json_bytes(CREATE_BODY)
    response = await api.send(
        "POST", f"/merchants/{MERCHANT}/checkout-sessions", signer=api.alpha, body=body, idempotency_key=key
    )
    assert response.status_code == 400 and _code(response) == code


@pytest.mark.parametrize(
    ("document", "pointer"),
    [
        ({"line_items": [{"item": {"id": "sku_tee", "bogus": 1}, "quantity": 1}]}, "/line_items/0/item/bogus"),
        ({"line_items": [{"item": {"id": "sku_tee"}, "quantity": -1}]}, "/line_items/0/quantity"),
        ({"line_items": [], "unknown": True}, "/line_items"),
        ({"line_items": [{"item": {"id": "sku_tee"}, "quantity": 1}], "buyer": {"email": 5}}, "/buyer/email"),
    ],
)
async def test_invalid_bodies_name_the_offending_field(api: ApiUnderTest, document: Any, pointer: str) -> None:
    """DESIGN invariant 8: 400 validation_failed with an RFC 6901 pointer, never a 500."""
    response = await api.send(
        "POST",
        f"/merchants/{MERCHANT}/checkout-sessions",
        signer=api.alpha,
        body=json_bytes(document),
        idempotency_key=new_key(),
    )
    assert response.status_code == 400 and _code(response) == "validation_failed", response.text
    assert response.json()["pointer"] == pointer


@pytest.mark.parametrize("raw", [b"{", b'{"a":1,"a":2}', b"[1, NaN]", b"\xff"])
async def test_malformed_json_is_refused(api: ApiUnderTest, raw: bytes) -> None:
    response = await api.send(
        "POST", f"/merchants/{MERCHANT}/checkout-sessions", signer=api.alpha, body=raw, idempotency_key=new_key()
    )
    assert response.status_code == 400 and _code(response) == "malformed_json"


async def test_wrong_media_type_is_refused(api: ApiUnderTest) -> None:
    url = api.url + f"/merchants/{MERCHANT}/checkout-sessions"
    body = json_bytes(CREATE_BODY)
    headers = api.alpha.sign("POST", url, body=body, idempotency_key=new_key(), content_type="text/plain")
    response = await api.http.post(url, content=body, headers=headers)
    assert response.status_code == 415 and _code(response) == "unsupported_media_type"


async def test_temporal_unreachable_fails_closed_with_retry_after(api_on_dead_temporal: ApiUnderTest) -> None:
    """DESIGN invariant 2, IDM-06, TRN-10: no idempotency state -> 503 with Retry-After, nothing executed.

    The real gateway on a Temporal nobody answers: the start (Update-With-Start),
    an update and a query each fail closed.
    """
    api = api_on_dead_temporal
    session = f"/merchants/{MERCHANT}/checkout-sessions/cs_{'a' * 26}"
    for method, path, body in (
        ("POST", f"/merchants/{MERCHANT}/checkout-sessions", CREATE_BODY),
        ("POST", f"{session}/complete", payment_body()),
        ("GET", session, None),
    ):
        response = await api.send(
            method,
            path,
            signer=api.alpha,
            body=json_bytes(body) if body is not None else None,
            idempotency_key=new_key() if body is not None else None,
        )
        assert response.status_code == 503 and _code(response) == "service_unavailable", (path, response.text)
        assert int(response.headers["Retry-After"]) >= 1
        api.assert_signed(response)


async def test_merchant_scope_is_enforced(api: ApiUnderTest) -> None:
    for merchant, code in (("elsewhere", "not_found"),):
        response = await api.send(
            "POST",
            f"/merchants/{merchant}/checkout-sessions",
            signer=api.alpha,
            body=json_bytes(CREATE_BODY),
            idempotency_key=new_key(),
        )
        assert response.status_code == 404 and _code(response) == code


async def test_malformed_session_ids_are_not_found(api: ApiUnderTest) -> None:
    response = await api.send("GET", f"/merchants/{MERCHANT}/checkout-sessions/../../etc", signer=api.alpha)
    assert response.status_code == 404
    response = await api.send("GET", f"/merchants/{MERCHANT}/checkout-sessions/chk_not_ours", signer=api.alpha)
    assert response.status_code == 404 and _code(response) == "not_found"


async def test_unknown_query_parameters_and_cursors_are_refused(api: ApiUnderTest) -> None:
    response = await api.send("GET", "/checkout-sessions?statuss=completed", signer=api.alpha)
    assert response.status_code == 400 and response.json()["pointer"] == "?statuss"
    response = await api.send("GET", "/checkout-sessions?cursor=forged.cursor", signer=api.alpha)
    assert response.status_code == 400 and _code(response) == "cursor_invalid"


async def test_rate_limit_answers_429_with_retry_after(tmp_path: Path, scripted: ScriptedGateway) -> None:
    """TRN-10; a platform with a burst of 5 refilled once a minute: the sixth request is refused.

    The refill is slow on purpose: with the default 20 req/s a loaded machine
    refills the bucket as fast as the requests drain it and no 429 comes.
    """
    throttled, jwks = _signer("throttled")
    limit = {"burst": 5, "requests_per_second": 1 / 60}
    platforms = {"throttled": {"jwks": jwks, "allowed_merchants": [MERCHANT], "rate_limit": limit}}
    async with running_api(tmp_path, gateway=None, scripted=scripted, extra_platforms=platforms) as api:
        statuses = [(await api.send("GET", "/checkout-sessions", signer=throttled)).status_code for _ in range(5)]
        assert statuses == [200] * 5
        refused = await api.send("GET", "/checkout-sessions", signer=throttled)
        assert refused.status_code == 429 and _code(refused) == "rate_limited", refused.text
        assert int(refused.headers["Retry-After"]) >= 1
        other = await api.send("GET", "/checkout-sessions", signer=api.beta)
        assert other.status_code == 200  # one platform's burst never limits another


async def test_every_route_but_the_public_ones_refuses_unsigned_requests(api: ApiUnderTest) -> None:
    """DESIGN invariant 1: no unsigned route except /healthz and the two profiles (public data)."""
    from api.app import create_app  # noqa: F401 - the app under test was built by the fixture

    routes = [route for route in api_routes() if route[1] not in PUBLIC_PATHS]
    assert routes, "the app exposes signed routes"
    for method, path in routes:
        concrete = (
            path.replace("{merchant_id}", MERCHANT)
            .replace("{session_id}", "cs_" + "a" * 26)
            .replace("{order_id}", "ord_1")
        )
        response = await api.send(
            method,
            concrete,
            body=b"{}" if method in ("POST", "PUT") else None,
            headers={"Content-Type": "application/json"},
        )
        # webhooks too: no signature of any UCP release -> 401 signature_missing, before any profile is read
        assert response.status_code == 401, (method, path, response.text)


def api_routes() -> list[tuple[str, str]]:
    from fastapi.routing import APIRoute

    from api.routes import checkout, public, sessions, webhooks

    found = []
    for router in (public.router, checkout.router, sessions.router, webhooks.router):
        for route in router.routes:
            if isinstance(route, APIRoute):
                found.extend((method, route.path) for method in sorted(route.methods))
    return found


async def test_public_profile_is_cacheable_and_publishes_our_keys(api: ApiUnderTest) -> None:
    """OVR-31..33, SIG-07: public, max-age >= 60, no auth; signing_keys hold the connector's key."""
    response = await api.http.get(api.url + "/.well-known/ucp")
    assert response.status_code == 200
    cache = response.headers["Cache-Control"]
    assert "public" in cache and int(cache.split("max-age=")[1]) >= 60
    document = response.json()
    assert document["signing_keys"][0]["kid"] == api.connector_keys.active.kid
    assert "d" not in document["signing_keys"][0]
    per_merchant = (await api.http.get(api.url + f"/.well-known/ucp?merchant={MERCHANT}")).json()
    order = per_merchant["ucp"]["capabilities"]["dev.ucp.shopping.order"][0]
    assert order["config"]["webhook_url"] == f"{api.url}/webhooks/merchants/{MERCHANT}"
    assert (await api.http.get(api.url + "/.well-known/ucp?merchant=nope")).status_code == 404
    health = await api.http.get(api.url + "/healthz")
    assert health.json() == {"status": "ok"}
    api.assert_signed(health)


async def test_unknown_route_and_method_get_frozen_codes(api: ApiUnderTest) -> None:
    response = await api.http.get(api.url + "/admin")
    assert response.status_code == 404 and _code(response) == "not_found"
    response = await api.http.delete(api.url + "/healthz")
    assert response.status_code == 405 and _code(response) == "method_not_allowed"
    api.assert_signed(response)


def test_error_bodies_are_json_objects_with_code_and_content() -> None:
    from contracts import ErrorBody

    assert set(ErrorBody.model_json_schema()["required"]) == {"code", "content"}
    assert json.loads(ErrorBody(code="x", content="y").model_dump_json()) == {
        "code": "x",
        "content": "y",
        "pointer": None,
        "detail": None,
        "continue_url": None,
    }


def test_committed_openapi_matches_the_code() -> None:
    """The published contract (contracts/openapi.json) is regenerated, never hand-edited: python -m api.openapi."""
    from importlib import resources

    from api.openapi import reference_document, render

    committed = resources.files("contracts").joinpath("openapi.json").read_text(encoding="utf-8")
    assert committed == render(reference_document()), "run: python -m api.openapi"


def test_no_route_outside_the_document() -> None:
    from api.openapi import reference_document

    documented_routes = {
        (method.upper(), path) for path, item in reference_document()["paths"].items() for method in item
    }
    assert set(api_routes()) == documented_routes
    error_codes = reference_document()["components"]["schemas"]["ErrorBody"]
    assert error_codes["required"] == ["code", "content"]


async def test_rejected_requests_are_audited_per_platform(api: ApiUnderTest) -> None:
    """DESIGN invariant 7: rejected requests write audit events too, in a per-platform chain."""
    await api.send("GET", "/checkout-sessions")  # unsigned
    await api.send(
        "POST",
        f"/merchants/{MERCHANT}/checkout-sessions",
        signer=api.alpha,
        body=json_bytes({"line_items": []}),
        idempotency_key=new_key(),
    )
    await api.services.rejections.spool.drained()  # refusals reach the store through the spool
    anonymous = await api.repository.list_session_events("api:unauthenticated", "unauthenticated")
    alpha = await api.repository.list_session_events("api:alpha", "alpha")
    assert [event.error_code for event in anonymous.items] == ["signature_missing"]
    assert [event.error_code for event in alpha.items] == ["validation_failed"]
    assert alpha.items[0].payload["route"] == "/merchants/{merchant_id}/checkout-sessions"
    assert alpha.items[0].request_digest is not None and alpha.items[0].outcome == "rejected"
    assert (await api.repository.verify_chains()).ok
