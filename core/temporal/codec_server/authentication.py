"""Who may decode: an OIDC bearer, a trusted reverse proxy's user header, or — on loopback only — the local user.

One :class:`Authenticator` per process, chosen by ``codec_server.auth``:

* ``oidc`` — the Temporal UI's "pass access token" (``Authorization: Bearer``),
  verified by :class:`~core.temporal.codec_server.oidc.OidcVerifier`;
* ``proxy`` — a reverse proxy that authenticated the operator (oauth2-proxy,
  an identity-aware proxy) and names them in ``user_header``; believed only on
  connections from ``trusted_proxies``, so a client that reaches the codec
  server directly cannot claim to be anyone;
* ``none`` — ``dev`` on loopback: the settings refuse it on any other
  interface, and each request must come from a loopback address too.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Protocol

from pydantic import IPvAnyNetwork
from starlette.requests import Request

from core.codec_server_settings import CodecServerSettings, ReverseProxySettings
from core.temporal.codec_server.oidc import AuthenticationError, OidcVerifier, Operator

BEARER_CHALLENGE = 'Bearer realm="ucp-codec-server"'


class Authenticator(Protocol):
    async def authenticate(self, request: Request) -> Operator: ...


def _peer(request: Request) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(request.client.host) if request.client else None
    except ValueError:
        return None


class LoopbackOnly:
    async def authenticate(self, request: Request) -> Operator:
        peer = _peer(request)
        if peer is None or not peer.is_loopback:
            raise AuthenticationError("unauthenticated decoding is for loopback clients only")
        return Operator(subject="local-user", method="loopback")


class BearerToken:
    def __init__(self, verifier: OidcVerifier) -> None:
        self._verifier = verifier

    async def authenticate(self, request: Request) -> Operator:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError("no bearer token (enable 'pass access token' for the codec endpoint)")
        return await self._verifier.operator(token.strip())


class TrustedProxy:
    def __init__(self, settings: ReverseProxySettings) -> None:
        self._header = settings.user_header
        self._networks: Sequence[IPvAnyNetwork] = settings.trusted_proxies

    async def authenticate(self, request: Request) -> Operator:
        peer = _peer(request)
        if peer is None or not any(peer in network for network in self._networks):
            raise AuthenticationError("the request did not come through the trusted proxy")
        user = request.headers.get(self._header, "").strip()
        if not user:
            raise AuthenticationError(f"the proxy sent no {self._header}")
        return Operator(subject=user[:256], method="proxy")


def authenticator_for(settings: CodecServerSettings, verifier: OidcVerifier | None) -> Authenticator:
    if settings.auth == "oidc":
        if verifier is None:
            raise ValueError("auth = 'oidc' needs a verifier")
        return BearerToken(verifier)
    if settings.auth == "proxy":
        assert settings.proxy is not None  # the settings' own validator
        return TrustedProxy(settings.proxy)
    return LoopbackOnly()
