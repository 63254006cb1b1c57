"""The codec server over real HTTP: decode only, redacted, for the Temporal UI's origin, operators only, audited.

Issue 16, item 1 / DESIGN invariant 6. Payloads are encrypted with the real
codec (bound to a workflow, as the worker writes them); operators are
authenticated by a real OIDC issuer on loopback whose keys the test generates
(tests/fixtures/oidc_issuer.py), or by a real reverse proxy on 127.0.0.2 that
names them in a header. Everything here fails on the old code, which had no
codec server at all.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from google.protobuf import json_format
from joserfc.jwk import OctKey, RSAKey
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import WorkflowSerializationContext

from contracts import Redactor
from core.connector_keys import ensure_connector_keys
from core.keyfiles import load_secret
from core.outbound_http import new_http_client
from core.settings import Settings
from core.temporal.client import data_converter, load_payload_keyring
from core.temporal.codec_server import build_codec_app
from core.temporal.codec_server import oidc as oidc_module
from tests.fixtures.http import bind_loopback, serve, url_of
from tests.fixtures.oidc_issuer import AUDIENCE, LoopbackIssuer, loopback_issuer

UI_ORIGIN = "http://127.0.0.1:8233"
WORKFLOW_ID = "checkout/agent/cs_abcdefghijklmnopqrstuvwxyz"
TOKEN = "tok_live_secret_value"
INPUT = {
    "idempotency_key": "k" * 22,
    "body": {
        "buyer": {"email": "jane@example.com", "phone_number": "+14155550100", "first_name": "Jane"},
        "payment": {"instruments": [{"id": "pi_1", "credential": {"type": "token", "token": TOKEN}}]},
        "signals": {"session_token": "st_secret"},
    },
}


@dataclass
class CodecServerUnderTest:
    url: str
    http: httpx.AsyncClient
    settings: Settings

    async def encrypted(self, value: Any = None) -> dict[str, Any]:
        """A request body as the Temporal UI sends it: the payloads of a history, protobuf JSON."""
        converter = data_converter(load_payload_keyring(self.settings)).with_context(
            WorkflowSerializationContext(namespace="default", workflow_id=WORKFLOW_ID)
        )
        payloads = await converter.encode([INPUT if value is None else value])
        return json_format.MessageToDict(Payloads(payloads=payloads))

    async def decode(self, body: Any, **headers: str) -> httpx.Response:
        return await self.http.post(f"{self.url}/decode", json=body, headers={"X-Namespace": "default", **headers})

    def redactor(self) -> Redactor:
        return Redactor(load_secret(self.settings.redaction_salt_file))


def _settings(tmp_path: Path, **codec_server: Any) -> Settings:
    settings = Settings(state_dir=tmp_path, codec_server={"allowed_origins": [UI_ORIGIN], **codec_server})
    ensure_connector_keys(settings)
    return settings


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[CodecServerUnderTest]:
    sock = bind_loopback()
    outbound = new_http_client()
    async with serve(build_codec_app(settings, http=outbound), sock), httpx.AsyncClient() as http:
        yield CodecServerUnderTest(url_of(sock), http, settings)
    await outbound.aclose()


def _oidc(issuer: LoopbackIssuer) -> dict[str, Any]:
    return {"issuer": issuer.url, "audience": AUDIENCE, "allow_insecure_loopback": True}


@pytest.fixture
async def issuer() -> AsyncIterator[LoopbackIssuer]:
    async with loopback_issuer() as running_issuer:
        yield running_issuer


@pytest.fixture
async def oidc_server(tmp_path: Path, issuer: LoopbackIssuer) -> AsyncIterator[CodecServerUnderTest]:
    async with running(_settings(tmp_path, auth="oidc", oidc=_oidc(issuer))) as server:
        yield server


def _decoded(response: httpx.Response) -> list[Any]:
    assert response.status_code == 200, response.text
    return [json.loads(base64.b64decode(payload["data"])) for payload in response.json()["payloads"]]


async def test_an_operator_sees_the_input_redacted_and_the_decode_is_audited(
    oidc_server: CodecServerUnderTest, issuer: LoopbackIssuer
) -> None:
    """Credentials and tokens never leave; e-mail and phone are the audit log's salted hashes."""
    body = await oidc_server.encrypted()
    with structlog.testing.capture_logs() as logs:
        response = await oidc_server.decode(body, Authorization=f"Bearer {issuer.token()}", Origin=UI_ORIGIN)
    [shown] = _decoded(response)
    text = json.dumps(shown)
    for secret in (TOKEN, "st_secret", "jane@example.com", "4155550100"):
        assert secret not in text
    buyer = shown["body"]["buyer"]
    assert buyer["email"] == oidc_server.redactor().hash_email("jane@example.com") and buyer["first_name"] == "Jane"
    assert shown["body"]["payment"]["instruments"][0]["credential"] == {"type": "token", "redacted": True}
    assert response.headers["access-control-allow-origin"] == UI_ORIGIN
    assert response.headers["cache-control"] == "no-store"
    [line] = [entry for entry in logs if entry["event"] == "codec.decode"]
    assert line["operator"] == "operator-7" and line["auth"] == "oidc" and line["issuer"] == issuer.url
    assert line["workflow_ids"] == [WORKFLOW_ID] and line["namespace"] == "default" and line["payloads"] == 1


@pytest.mark.parametrize(
    "bad_token",
    [
        "none",
        "expired",
        "wrong_audience",
        "wrong_issuer",
        "no_subject",
        "foreign_key_same_kid",
        "hmac_with_a_published_key",
        "garbage",
    ],
)
async def test_requests_without_a_valid_operator_token_are_401(
    oidc_server: CodecServerUnderTest, issuer: LoopbackIssuer, bad_token: str
) -> None:
    stranger = RSAKey.generate_key(2048, parameters={"kid": issuer.keys[0].kid})
    tokens = {
        "expired": issuer.token(exp=1_000_000, iat=999_000),
        "wrong_audience": issuer.token(aud="another-api"),
        "wrong_issuer": issuer.token(iss="https://evil.example"),
        "no_subject": issuer.token(sub=None),
        "foreign_key_same_kid": issuer.token(stranger),
        "hmac_with_a_published_key": issuer.token(OctKey.import_key(b"x" * 32, {"kid": "rsa-1"}), alg="HS256"),
        "garbage": "not-a-jwt",
    }
    headers = {} if bad_token == "none" else {"Authorization": f"Bearer {tokens[bad_token]}"}
    with structlog.testing.capture_logs() as logs:
        response = await oidc_server.decode(await oidc_server.encrypted(), Origin=UI_ORIGIN, **headers)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert TOKEN not in response.text and "payloads" not in response.json()
    assert [entry["event"] for entry in logs] == ["codec.refused"]


async def test_a_rotated_issuer_key_is_fetched_once(
    oidc_server: CodecServerUnderTest, issuer: LoopbackIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await oidc_server.decode(await oidc_server.encrypted(), Authorization=f"Bearer {issuer.token()}")
    assert first.status_code == 200 and issuer.jwks_reads == 1
    fresh = issuer.rotate()
    stale = await oidc_server.decode(await oidc_server.encrypted(), Authorization=f"Bearer {issuer.token(fresh)}")
    assert stale.status_code == 401 and issuer.jwks_reads == 1, "keys read moments ago are not re-read"
    monkeypatch.setattr(oidc_module, "REFRESH_FLOOR_SECONDS", 0.0)  # as once the 30 s budget has passed
    second = await oidc_server.decode(await oidc_server.encrypted(), Authorization=f"Bearer {issuer.token(fresh)}")
    assert second.status_code == 200 and issuer.jwks_reads == 2


async def test_a_foreign_origin_is_refused_preflight_included(
    oidc_server: CodecServerUnderTest, issuer: LoopbackIssuer
) -> None:
    token = issuer.token()
    foreign = await oidc_server.decode(
        await oidc_server.encrypted(), Authorization=f"Bearer {token}", Origin="https://evil.example"
    )
    assert foreign.status_code == 403 and foreign.json()["error"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in foreign.headers
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    refused = await oidc_server.http.options(
        f"{oidc_server.url}/decode", headers={"Origin": "https://evil.example", **preflight}
    )
    allowed = await oidc_server.http.options(f"{oidc_server.url}/decode", headers={"Origin": UI_ORIGIN, **preflight})
    assert refused.status_code == 403
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == UI_ORIGIN


async def test_there_is_no_encode_and_the_protocol_prefix_rule_holds(
    oidc_server: CodecServerUnderTest, issuer: LoopbackIssuer
) -> None:
    auth = {"Authorization": f"Bearer {issuer.token()}"}
    plain = json_format.MessageToDict(Payloads(payloads=[Payload(metadata={"encoding": b"json/plain"}, data=b"1")]))
    encode = await oidc_server.http.post(f"{oidc_server.url}/encode", json=plain, headers=auth)
    assert encode.status_code == 404 and encode.json()["error"] == "not_offered"
    nested = await oidc_server.http.post(
        f"{oidc_server.url}/codec/default/decode", json=await oidc_server.encrypted(), headers=auth
    )
    assert nested.status_code == 200 and len(nested.json()["payloads"]) == 1


async def test_what_cannot_be_decrypted_or_redacted_is_not_shown(
    oidc_server: CodecServerUnderTest, issuer: LoopbackIssuer
) -> None:
    body = await oidc_server.encrypted(b"raw \x00 bytes")
    body["payloads"].append(dict(body["payloads"][0], data=base64.b64encode(b"x" * 40).decode()))
    with structlog.testing.capture_logs() as logs:
        response = await oidc_server.decode(body, Authorization=f"Bearer {issuer.token()}")
    withheld, tampered = response.json()["payloads"]
    assert "withheld" in json.loads(base64.b64decode(withheld["data"]))
    assert tampered == body["payloads"][1], "a payload that does not decrypt goes back as it came"
    [line] = [entry for entry in logs if entry["event"] == "codec.decode"]
    assert line["undecryptable"] == 1 and line["withheld"] == 1


def _proxy_app(target: str) -> Starlette:
    """A reverse proxy that authenticated its user: forwards from 127.0.0.2 and names them in a header."""
    transport = httpx.AsyncHTTPTransport(local_address="127.0.0.2")

    async def forward(request: Request) -> Response:
        async with httpx.AsyncClient(transport=transport) as http:
            answer = await http.post(
                f"{target}/decode",
                content=await request.body(),
                headers={"Content-Type": "application/json", "X-Forwarded-User": "alice@ops"},
            )
        return Response(answer.content, status_code=answer.status_code, media_type="application/json")

    return Starlette(routes=[Route("/decode", forward, methods=["POST"])])


async def test_behind_a_reverse_proxy_only_the_proxy_may_name_the_operator(tmp_path: Path) -> None:
    settings = _settings(tmp_path, auth="proxy", proxy={"trusted_proxies": ["127.0.0.2/32"]})
    async with running(settings) as server:
        body = await server.encrypted()
        direct = await server.decode(body, **{"X-Forwarded-User": "mallory"})
        assert direct.status_code == 401 and "trusted proxy" in direct.json()["content"]
        proxy_sock = bind_loopback()
        async with serve(_proxy_app(server.url), proxy_sock):
            with structlog.testing.capture_logs() as logs:
                proxied = await server.http.post(f"{url_of(proxy_sock)}/decode", json=body)
    [shown] = _decoded(proxied)
    assert TOKEN not in json.dumps(shown)
    [line] = [entry for entry in logs if entry["event"] == "codec.decode"]
    assert line["operator"] == "alice@ops" and line["auth"] == "proxy" and line["peer"] == "127.0.0.2"


async def test_without_authentication_it_serves_loopback_only(tmp_path: Path) -> None:
    async with running(_settings(tmp_path)) as server:
        response = await server.decode(await server.encrypted(), Origin=UI_ORIGIN)
        assert TOKEN not in json.dumps(_decoded(response))
    with pytest.raises(ValidationError, match="only allowed on loopback"):
        Settings(codec_server={"host": "0.0.0.0"})  # noqa: S104 -- the refused case
    with pytest.raises(ValidationError, match="needs an"):
        Settings(codec_server={"host": "0.0.0.0", "auth": "oidc"})  # noqa: S104
    with pytest.raises(ValidationError, match="not an origin"):
        Settings(codec_server={"allowed_origins": ["*"]})
    with pytest.raises(ValidationError, match="https"):
        Settings(codec_server={"auth": "oidc", "oidc": {"issuer": "http://idp.example", "audience": "a"}})


async def test_plain_ui_text_is_echoed_without_credentials_while_ciphertext_needs_them(
    oidc_server: CodecServerUnderTest,
) -> None:
    """The UI sends summaries through the codec too: those stay readable; an input without a token is 401."""
    converter = data_converter(load_payload_keyring(oidc_server.settings))
    summary = json_format.MessageToDict(Payloads(payloads=await converter.encode(["complete_checkout at shop"])))
    echoed = await oidc_server.decode(summary, Origin=UI_ORIGIN)
    assert echoed.status_code == 200 and echoed.json() == summary
    mixed = {"payloads": summary["payloads"] + (await oidc_server.encrypted())["payloads"]}
    assert (await oidc_server.decode(mixed, Origin=UI_ORIGIN)).status_code == 401
