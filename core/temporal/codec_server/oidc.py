"""The Temporal UI's "pass access token": an OIDC access token (a JWT) verified against its issuer's keys.

With ``codec.passAccessToken`` the Temporal UI sends the signed-in operator's
access token as ``Authorization: Bearer ...`` on every codec request (and the
ID token as ``Authorization-Extras``, which we do not need). The token is
trusted only as far as these checks go, with ``joserfc``:

* the keys come from the configured issuer only: ``{issuer}/.well-known/openid-configuration``
  must name that same ``issuer`` and an https ``jwks_uri`` (no redirect is
  followed); the JWK Set is cached for five minutes and re-read at most once
  every 30 seconds when a token names an unknown ``kid`` (the issuer rotated);
* the signature uses one of the configured *asymmetric* algorithms — ``none``
  and HMAC are never accepted, so a key published for verification cannot be
  used to forge;
* ``iss`` is the issuer, ``aud`` contains the configured audience, ``exp`` is
  in the future and ``nbf``/``iat`` are not (within the leeway); ``sub`` names
  the operator.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import httpx
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from core.codec_server_settings import OidcSettings, require_https

DISCOVERY_PATH: Final = "/.well-known/openid-configuration"
KEYS_TTL_SECONDS: Final = 300.0
REFRESH_FLOOR_SECONDS: Final = 30.0


class AuthenticationError(Exception):
    """The request does not prove who the operator is; ``reason`` is logged, never the token."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Operator:
    """Who is decoding: ``subject`` as the identity provider (or the proxy) names them."""

    subject: str
    method: str
    issuer: str | None = None


class IssuerUnavailableError(RuntimeError):
    """The issuer's discovery document or keys could not be read (a 503, not the operator's fault)."""


class OidcVerifier:
    def __init__(self, settings: OidcSettings, http: httpx.AsyncClient, *, clock: Callable[[], float] = time.time):
        self._settings = settings
        self._http = http
        self._clock = clock
        self._keys: KeySet | None = None
        self._read_at = float("-inf")

    async def operator(self, token: str) -> Operator:
        try:
            decoded = await self._decode(token)
        except InvalidKeyIdError:
            if self._clock() - self._read_at < REFRESH_FLOOR_SECONDS:
                raise AuthenticationError("token signed with an unknown key") from None
            self._keys = None
            try:
                decoded = await self._decode(token)
            except JoseError as error:
                raise AuthenticationError(f"invalid token ({error.error})") from error
        except JoseError as error:
            raise AuthenticationError(f"invalid token ({error.error})") from error
        claims = decoded.claims
        registry = jwt.JWTClaimsRegistry(
            now=int(self._clock()),
            leeway=self._settings.leeway_seconds,
            iss={"essential": True, "value": self._settings.issuer},
            aud={"essential": True, "value": self._settings.audience},
            exp={"essential": True},
            sub={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as error:
            raise AuthenticationError(f"token refused ({error.error}: {error.description})") from error
        return Operator(subject=str(claims["sub"]), method="oidc", issuer=self._settings.issuer)

    async def _decode(self, token: str) -> jwt.Token:
        return jwt.decode(token, await self._key_set(), algorithms=list(self._settings.algorithms))

    async def _key_set(self) -> KeySet:
        if self._keys is None or self._clock() - self._read_at > KEYS_TTL_SECONDS:
            self._keys = await self._read_keys()
            self._read_at = self._clock()
        return self._keys

    async def _read_keys(self) -> KeySet:
        issuer = self._settings.issuer
        discovery = await self._json(issuer.rstrip("/") + DISCOVERY_PATH)
        if discovery.get("issuer") != issuer:
            raise IssuerUnavailableError(f"{issuer}{DISCOVERY_PATH} names another issuer")
        jwks_uri = discovery.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise IssuerUnavailableError(f"{issuer}{DISCOVERY_PATH} has no jwks_uri")
        try:
            require_https(jwks_uri, allow_insecure_loopback=self._settings.allow_insecure_loopback)
            return KeySet.import_key_set(_public_only(await self._json(jwks_uri)))
        except (ValueError, JoseError) as error:
            raise IssuerUnavailableError(f"the issuer's keys at {jwks_uri} are unusable: {error}") from error

    async def _json(self, url: str) -> dict[str, Any]:
        try:
            response = await self._http.get(url)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise IssuerUnavailableError(f"cannot read {url}: {error}") from error
        if not isinstance(document, dict):
            raise IssuerUnavailableError(f"{url} is not a JSON object")
        return document


def _public_only(document: dict[str, Any]) -> Any:
    """The issuer's JWK Set without symmetric keys: a published ``oct`` key would let anyone sign."""
    keys = document.get("keys")
    if not isinstance(keys, list):
        raise ValueError("a JWK Set needs a 'keys' array")
    return {"keys": [key for key in keys if isinstance(key, dict) and key.get("kty") in ("RSA", "EC", "OKP")]}
