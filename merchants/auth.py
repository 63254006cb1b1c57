"""Merchant authentication besides our signature: API key, OAuth 2.0 client credentials, mutual TLS (issue 15).

UCP lets a business require its own authentication (checkout-rest.md
"Security Considerations": API keys in ``X-API-Key``, OAuth 2.0 bearer tokens,
mTLS; overview "Authentication Mechanisms"). The connector still signs every
request; these come *on top*, configured per merchant (``core.settings``
``[merchants.X.auth]``) with secrets only in 0600 files:

* ``api_key`` -- the key file's first line in the configured header;
* ``oauth2_client_credentials`` -- a token from the token endpoint (RFC 6749
  §4.4; client authenticated with HTTP Basic, §2.3.1), cached in this
  process's memory until 30 s before ``expires_in`` and fetched again after;
  a merchant ``401`` drops it so the next attempt fetches a new one. Tokens
  live only here: never in Temporal history, audit rows or log lines;
* ``mtls`` -- a per-merchant HTTP client presenting the certificate.

A token endpoint that refuses the credentials is ``merchant_auth_failed``
(final); one that cannot be reached is ``merchant_unavailable`` (retried).
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote, urlencode

import httpx
import structlog

from contracts import ErrorCode, UcpError, parse_json
from core.outbound_http import ResponseTooLargeError, send_bounded
from core.settings import ApiKeyAuth, MerchantAuth, MerchantSettings, OAuth2ClientCredentials
from merchants.errors import MerchantCallError
from merchants.targets import check_address

log = structlog.get_logger("ucp_connector.merchants.auth")

EXPIRY_MARGIN: Final = 30.0
DEFAULT_TOKEN_LIFETIME: Final = 300.0


@dataclass
class _Token:
    value: str
    expires_at: float


class MerchantAuthenticator:
    """The headers a merchant's own authentication adds to a call; one instance per worker/API process."""

    def __init__(self, http: httpx.AsyncClient, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._http = http
        self._clock = clock
        self._tokens: dict[str, _Token] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.token_requests = 0  # observable for tests of caching and refresh

    async def headers(self, merchant_id: str, settings: MerchantSettings) -> list[tuple[str, str]]:
        auth = settings.auth
        if isinstance(auth, ApiKeyAuth):
            return [(auth.header, _first_line(auth.key_file.read_text(encoding="utf-8")))]
        if isinstance(auth, OAuth2ClientCredentials):
            return [("Authorization", f"Bearer {await self._token(merchant_id, settings, auth)}")]
        return []

    def rejected(self, merchant_id: str) -> None:
        """The merchant answered 401: the cached token (if any) is no good any more."""
        self._tokens.pop(merchant_id, None)

    async def _token(self, merchant_id: str, settings: MerchantSettings, auth: OAuth2ClientCredentials) -> str:
        lock = self._locks.setdefault(merchant_id, asyncio.Lock())
        async with lock:  # concurrent calls share one token request
            cached = self._tokens.get(merchant_id)
            if cached is not None and self._clock() < cached.expires_at - EXPIRY_MARGIN:
                return cached.value
            token = await self._request_token(merchant_id, settings, auth)
            self._tokens[merchant_id] = token
            return token.value

    async def _request_token(
        self, merchant_id: str, settings: MerchantSettings, auth: OAuth2ClientCredentials
    ) -> _Token:
        await check_address(auth.token_url, settings, what="token endpoint")
        form = {"grant_type": "client_credentials"}
        if auth.scopes:
            form["scope"] = " ".join(auth.scopes)
        secret = _first_line(auth.client_secret_file.read_text(encoding="utf-8"))
        # RFC 6749 §2.3.1: HTTP Basic with the form-urlencoded client id and secret.
        basic = base64.b64encode(f"{quote(auth.client_id, safe='')}:{quote(secret, safe='')}".encode()).decode()
        headers = [
            ("Accept", "application/json"),
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", f"Basic {basic}"),
        ]
        self.token_requests += 1
        try:
            response, raw = await send_bounded(
                self._http, "POST", auth.token_url, headers=headers, content=urlencode(form).encode()
            )
        except (httpx.TransportError, ResponseTooLargeError) as exc:
            log.warning("merchant.token_unreachable", merchant_id=merchant_id, error=type(exc).__name__)
            raise MerchantCallError(
                f"the merchant's token endpoint is unreachable ({type(exc).__name__})",
                code=ErrorCode.MERCHANT_UNAVAILABLE,
                retryable=True,
                reason="token_endpoint_unreachable",
            ) from exc
        document = _json_object(raw)
        value = document.get("access_token")
        if response.status_code != 200 or not isinstance(value, str) or not value:
            log.warning("merchant.token_refused", merchant_id=merchant_id, status=response.status_code)
            raise MerchantCallError(
                f"the merchant's token endpoint refused the client credentials (HTTP {response.status_code})",
                code=ErrorCode.MERCHANT_AUTH_FAILED,
                retryable=response.status_code >= 500 or response.status_code == 429,
                reason="token_refused",
                http_status=response.status_code,
                oauth_error=str(document.get("error", ""))[:100] or None,
            )
        lifetime = document.get("expires_in")
        seconds = float(lifetime) if isinstance(lifetime, int | float) and lifetime > 0 else DEFAULT_TOKEN_LIFETIME
        log.info("merchant.token_issued", merchant_id=merchant_id, expires_in=seconds)
        return _Token(value=value, expires_at=self._clock() + seconds)


def client_certificate(auth: MerchantAuth | None) -> tuple[str, str] | None:
    """The (certificate, key) files an mTLS merchant's HTTP client presents."""
    if auth is None or auth.type != "mtls":
        return None
    return str(auth.client_cert_file), str(auth.client_key_file)


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0].strip() if text.strip() else ""
    if not line:
        raise UcpError("a configured merchant secret file is empty", code=ErrorCode.MERCHANT_AUTH_FAILED)
    return line


def _json_object(raw: bytes) -> dict[str, object]:
    try:
        document = parse_json(raw)
    except UcpError:
        return {}
    return dict(document) if isinstance(document, dict) else {}
