"""Merchant authentication on top of our signature: API key, OAuth 2.0 client credentials, mutual TLS (issue 15).

Everything on real loopback HTTP: a real OAuth token endpoint (a small
Starlette app that checks the client's Basic credentials and issues short-lived
tokens), a real TLS server that requires a client certificate from a private
CA, and the edge merchant recording what the connector sent.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import ssl
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from contracts import ErrorCode, KeyStore
from contracts.ucp import RestOperation
from core.outbound_http import new_http_client
from core.settings import MerchantSettings
from merchants.auth import MerchantAuthenticator
from merchants.client import MerchantClient
from merchants.errors import MerchantCallError
from merchants.profiles import ProfileCache
from tests.fixtures.connector_stack import CONNECTOR_BASE, MERCHANT
from tests.fixtures.http import bind_loopback, serve, url_of
from tests.merchants.harness import Clock, EdgeMerchant, Reply, connector_for, edge_merchant
from ucp_connector.tls import issue_server_certificates


def _secret_file(directory: Path, name: str, value: str, mode: int = 0o600) -> Path:
    path = directory / name
    path.write_text(value + "\n", encoding="utf-8")
    path.chmod(mode)
    return path


@contextlib.asynccontextmanager
async def _client(
    merchant: EdgeMerchant, keys: KeyStore, clock: Clock | None = None, ca_file: Path | None = None, **policy: Any
) -> AsyncIterator[tuple[MerchantClient, MerchantAuthenticator]]:
    http = new_http_client(ca_file=ca_file)
    settings = {
        MERCHANT: MerchantSettings(
            profile_url=f"{merchant.url}/.well-known/ucp", allow_insecure_loopback=True, **policy
        )
    }
    authenticator = MerchantAuthenticator(http, clock=clock or Clock())
    client = MerchantClient(
        http, ProfileCache(http, settings), keys, CONNECTOR_BASE, authenticator=authenticator, ca_file=ca_file
    )
    try:
        yield client, authenticator
    finally:
        await client.aclose()
        await http.aclose()


async def _get(client: MerchantClient) -> Any:
    return await client.call(MERCHANT, RestOperation.GET, resource_id="chk_1")


# --- API key ------------------------------------------------------------------------------------------------------


async def test_an_api_key_travels_in_its_header_from_a_private_file(connector_keys: KeyStore, tmp_path: Path) -> None:
    key_file = _secret_file(tmp_path, "shop.key", "k-123")
    auth = {"type": "api_key", "header": "X-Shop-Key", "key_file": key_file}
    async with edge_merchant(connector_keys) as merchant, _client(merchant, connector_keys, auth=auth) as (client, _):
        answer = await _get(client)
    sent = merchant.received[-1]
    assert sent.headers["x-shop-key"] == "k-123" and sent.verified is not None  # still signed by us
    assert answer.auth == "api_key"  # audited with the call (merchant_auth), never the key


# --- OAuth 2.0 client credentials ----------------------------------------------------------------------------------


@dataclass
class TokenEndpoint:
    """RFC 6749 §4.4 at its simplest: Basic client credentials in, a bearer token with expires_in out."""

    client_id: str
    secret: str
    lifetime: int = 120
    issued: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    url: str = ""

    def app(self) -> Starlette:
        async def token(request: Request) -> Response:
            expected = base64.b64encode(f"{self.client_id}:{self.secret}".encode()).decode()
            form = {name: values[0] for name, values in parse_qs((await request.body()).decode()).items()}
            if request.headers.get("authorization") != f"Basic {expected}" or form.get("grant_type") != (
                "client_credentials"
            ):
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            self.scopes.append(str(form.get("scope", "")))
            self.issued.append(f"tok-{len(self.issued) + 1}-{uuid.uuid4().hex[:6]}")
            return JSONResponse({"access_token": self.issued[-1], "token_type": "Bearer", "expires_in": self.lifetime})

        return Starlette(routes=[Route("/oauth/token", token, methods=["POST"])])


@contextlib.asynccontextmanager
async def token_endpoint(secret: str) -> AsyncIterator[TokenEndpoint]:
    endpoint = TokenEndpoint(client_id="connector", secret=secret)
    sock = bind_loopback()
    endpoint.url = f"{url_of(sock)}/oauth/token"
    async with serve(endpoint.app(), sock):
        yield endpoint


def _oauth(tokens: TokenEndpoint, secret_file: Path, scopes: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "oauth2_client_credentials",
        "token_url": tokens.url,
        "client_id": "connector",
        "client_secret_file": secret_file,
        "scopes": scopes or [],
    }


async def test_oauth_tokens_are_cached_refreshed_before_expiry_and_after_a_401(
    connector_keys: KeyStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 15: tokens cached and refreshed, never logged (a real loopback token endpoint)."""
    secret_file = _secret_file(tmp_path, "client.secret", "s3cr3t")
    clock = Clock()
    async with token_endpoint("s3cr3t") as tokens, edge_merchant(connector_keys) as merchant:
        auth = _oauth(tokens, secret_file, scopes=["ucp:checkout", "ucp:orders"])
        async with _client(merchant, connector_keys, clock, auth=auth) as (client, authenticator):
            await _get(client)
            await _get(client)
            assert authenticator.token_requests == 1  # cached
            assert merchant.received[-1].headers["authorization"] == f"Bearer {tokens.issued[0]}"
            clock.now += tokens.lifetime - 10  # within the 30 s margin of expiry: refreshed before it lapses
            await _get(client)
            assert len(tokens.issued) == 2
            assert merchant.received[-1].headers["authorization"] == f"Bearer {tokens.issued[1]}"
            merchant.replies = [Reply(status=401, body=b"", signed=False)]
            with pytest.raises(MerchantCallError):
                await _get(client)
            await _get(client)  # the rejected token was dropped: a new one is fetched
            assert len(tokens.issued) == 3
            assert merchant.received[-1].headers["authorization"] == f"Bearer {tokens.issued[2]}"
        assert tokens.scopes[0] == "ucp:checkout ucp:orders"
    output = capsys.readouterr()
    assert not any(token in output.out + output.err for token in tokens.issued) and "s3cr3t" not in output.out


async def test_the_clients_own_authenticator_fetches_tokens_over_its_http_client(
    connector_keys: KeyStore, tmp_path: Path
) -> None:
    """Issue 15: built as activities/merchant.py builds it (no authenticator given), the client still gets an
    OAuth token over its own HTTP client and sends it (a mutant building the authenticator without one survived)."""
    secret_file = _secret_file(tmp_path, "client.secret", "s3cr3t")
    async with (
        token_endpoint("s3cr3t") as tokens,
        edge_merchant(connector_keys) as merchant,
        connector_for(merchant.url, connector_keys, auth=_oauth(tokens, secret_file)) as connector,
    ):
        await connector.client.call(MERCHANT, RestOperation.GET, resource_id="chk_1")
    assert merchant.received[-1].headers["authorization"] == f"Bearer {tokens.issued[0]}"


async def test_a_token_endpoint_that_refuses_the_credentials_is_merchant_auth_failed(
    connector_keys: KeyStore, tmp_path: Path
) -> None:
    secret_file = _secret_file(tmp_path, "client.secret", "wrong")
    async with (
        token_endpoint("s3cr3t") as tokens,
        edge_merchant(connector_keys) as merchant,
        _client(merchant, connector_keys, auth=_oauth(tokens, secret_file)) as (client, _),
    ):
        with pytest.raises(MerchantCallError) as caught:
            await _get(client)
    error = caught.value
    assert (error.code, error.retryable, error.detail["oauth_error"]) == (
        ErrorCode.MERCHANT_AUTH_FAILED,
        False,
        "invalid_client",
    )
    assert merchant.received == []  # nothing reached the merchant without its credentials


# --- mutual TLS ----------------------------------------------------------------------------------------------------


def _client_certificate(directory: Path) -> tuple[Path, Path]:
    """A client certificate (clientAuth) from the private CA that ucp_connector.tls made."""
    ca_cert = x509.load_pem_x509_certificate((directory / "ca.pem").read_bytes())
    ca_key = serialization.load_pem_private_key((directory / "ca-key.pem").read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ucp-connector")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_file = directory / "client.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file = _secret_file(directory, "client-key.pem", "")
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


async def test_mutual_tls_presents_the_configured_client_certificate(connector_keys: KeyStore, tmp_path: Path) -> None:
    """checkout-rest.md "Authentication": mTLS. The REST endpoint requires a client certificate of our CA."""
    tls_dir = tmp_path / "tls"
    [server] = issue_server_certificates(tls_dir, ["127.0.0.1"])
    cert_file, key_file = _client_certificate(tls_dir)
    async with edge_merchant(connector_keys) as merchant:
        secure = bind_loopback()
        origin = url_of(secure).replace("http://", "https://")
        merchant.endpoint = f"{origin}/ucp/v1"
        options = {
            "ssl_certfile": str(server.cert_file),
            "ssl_keyfile": str(server.key_file),
            "ssl_ca_certs": str(tls_dir / "ca.pem"),
            "ssl_cert_reqs": ssl.CERT_REQUIRED,
        }
        async with serve(merchant.app(), secure, **options):
            policy: dict[str, Any] = {"allowed_origins": [origin]}
            async with _client(merchant, connector_keys, ca_file=tls_dir / "ca.pem", **policy) as (client, _):
                with pytest.raises(MerchantCallError) as refused:
                    await _get(client)
                assert refused.value.code is ErrorCode.MERCHANT_UNAVAILABLE  # no certificate: the handshake fails
            mtls = {"type": "mtls", "client_cert_file": cert_file, "client_key_file": key_file}
            async with _client(merchant, connector_keys, ca_file=tls_dir / "ca.pem", auth=mtls, **policy) as (
                client,
                _,
            ):
                answer = await _get(client)
    assert answer.status_code == 200 and merchant.received[-1].path == "/ucp/v1/checkout-sessions/chk_1"
    assert "signature" in merchant.received[-1].headers  # still signed by us, over the TLS authority
