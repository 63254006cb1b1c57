"""A platform's client for the connector: signed requests, verified answers, safe retries.

What a platform must do to talk to the connector (README "Using the API"), in
one place that ``demo``, the benchmarks and the end-to-end tests share:

* **sign** every request with RFC 9421 — :class:`contracts.httpx_auth.RequestSigner`
  as the ``httpx`` auth, so nothing leaves unsigned (SIG-16..19), with
  ``UCP-Agent`` naming the platform's profile (SIG-32);
* **verify** every answer's signature (SIG-21) against the keys the connector
  publishes at ``/.well-known/ucp``, read once and re-read once when an answer
  names an unknown ``kid`` (the connector rotated, SIG-11:
  :func:`contracts.verify_with_key_refresh`). An answer that does not verify is
  an error, never data;
* **retry** what can be retried — a connection or read failure, ``202
  operation_pending``, ``429``, ``502``/``503``/``504`` — with the *same*
  ``Idempotency-Key`` and the same bytes, honouring ``Retry-After``, so the
  connector answers the first operation's result instead of doing it twice
  (DESIGN invariant 2). A key is generated per operation unless the caller
  brings one.

Depends on ``contracts`` and ``httpx`` only (checked by
``tests/ucp_connector/test_platform_client.py``), so a platform can copy or
vendor it without the rest of the connector.

Example (the README's runnable version)::

    async with PlatformClient("https://connector.example", key, profile_url=PROFILE) as client:
        checkout = await client.create_checkout("shoes", {"line_items": [...]})
        checkout = await client.complete_checkout("shoes", checkout.id, {"payment": {...}})
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, Self
from urllib.parse import quote, urlencode

import httpx
from pydantic import BaseModel

from contracts import JwkSet, SigningKey, VerifiedSignature, verify_response, verify_with_key_refresh
from contracts.httpx_auth import RequestSigner
from contracts.ucp import Checkout

RETRIED_STATUSES: Final = frozenset({202, 429, 502, 503, 504})
UNSIGNED_RETRIABLE: Final = frozenset({502, 503, 504})
PROFILE_PATH: Final = "/.well-known/ucp"
Body = BaseModel | Mapping[str, Any]


@dataclass(frozen=True)
class RetryPolicy:
    """How long one operation may keep trying: attempts, exponential backoff with jitter, a total budget."""

    attempts: int = 6
    first_delay: float = 0.25
    max_delay: float = 5.0
    total_seconds: float = 90.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        backoff: float = min(self.first_delay * 2.0 ** (attempt - 1), self.max_delay)
        return backoff * (0.5 + random.random() / 2)  # noqa: S311 -- jitter, not a secret


NO_RETRIES: Final = RetryPolicy(attempts=1)


@dataclass(frozen=True)
class SignedResponse:
    """An answer whose signature verified against the connector's published keys (named like ``httpx``'s)."""

    status_code: int
    headers: httpx.Headers
    content: bytes
    signature: VerifiedSignature
    attempts: int
    idempotency_key: str | None = None

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.content) if self.content else None


class ConnectorError(RuntimeError):
    """The connector answered (signed) with an error: ``code`` is a frozen code from contracts/error_codes.json."""

    def __init__(self, response: SignedResponse) -> None:
        document = response.json() if response.content else {}
        document = document if isinstance(document, dict) else {}
        self.response = response
        self.status = response.status_code
        self.code = str(document.get("code", "unknown"))
        self.content = str(document.get("content", ""))
        self.detail: dict[str, Any] = dict(document.get("detail") or {})
        super().__init__(f"HTTP {self.status} {self.code}: {self.content}")


class ResponseNotSignedError(RuntimeError):
    """An answer that did not verify against the connector's keys; its content must not be used."""


class MisdirectedRequestError(ResponseNotSignedError):
    """421: the connector answers for another authority, refused before routing.

    The answer cannot be verified: the profile holding the keys sits behind
    the same refusal.

    ``expected_authority`` is read from the unsigned body: a hint for the
    developer who configured the client with another spelling of the host
    (``localhost`` for ``127.0.0.1``), never data.
    """

    def __init__(self, response: httpx.Response) -> None:
        try:
            detail = response.json().get("detail") or {}
        except ValueError:
            detail = {}
        self.expected_authority = str(detail.get("expected_authority", ""))[:255] if isinstance(detail, dict) else ""
        super().__init__(
            f"the connector at {response.request.url.host}:{response.request.url.port} answered 421 "
            "misdirected_request: it answers (and verifies signatures) for "
            f"{self.expected_authority or 'another authority'} only; use that in the client's base_url"
            " (an unverified hint)"
        )


@dataclass
class PlatformClient:
    """The connector's routes for one platform (one signing key); use as ``async with``."""

    base_url: str
    key: SigningKey
    profile_url: str | None = None
    connector_keys: JwkSet | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float = 60.0
    transport: httpx.AsyncBaseTransport | None = None
    _http: httpx.AsyncClient = field(init=False, repr=False)
    _keys_read_at: float = field(default=float("-inf"), init=False, repr=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            auth=RequestSigner(self.key, profile_url=self.profile_url),
            timeout=self.timeout,
            transport=self.transport,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- the checkout routes (UCP-shaped, per merchant) --------------------------------------------------

    async def create_checkout(self, merchant_id: str, body: Body, *, idempotency_key: str | None = None) -> Checkout:
        return _checkout(await self._ok("POST", _sessions(merchant_id), body, idempotency_key))

    async def get_checkout(self, merchant_id: str, session_id: str) -> Checkout:
        return _checkout(await self._ok("GET", _session(merchant_id, session_id)))

    async def update_checkout(
        self, merchant_id: str, session_id: str, body: Body, *, idempotency_key: str | None = None
    ) -> Checkout:
        return _checkout(await self._ok("PUT", _session(merchant_id, session_id), body, idempotency_key))

    async def complete_checkout(
        self, merchant_id: str, session_id: str, body: Body, *, idempotency_key: str | None = None
    ) -> Checkout:
        path = f"{_session(merchant_id, session_id)}/complete"
        return _checkout(await self._ok("POST", path, body, idempotency_key))

    async def cancel_checkout(
        self, merchant_id: str, session_id: str, *, idempotency_key: str | None = None
    ) -> Checkout:
        path = f"{_session(merchant_id, session_id)}/cancel"
        return _checkout(await self._ok("POST", path, {}, idempotency_key))

    async def get_order(self, merchant_id: str, order_id: str) -> dict[str, Any]:
        return dict((await self._ok("GET", f"/merchants/{_segment(merchant_id)}/orders/{_segment(order_id)}")).json())

    # -- connector extras ----------------------------------------------------------------------------------

    async def list_sessions(self, **query: str | int | None) -> dict[str, Any]:
        """``GET /checkout-sessions`` (``status``, ``merchant_id``, ``cursor``, ``limit``): one page."""
        return dict((await self._ok("GET", _with_query("/checkout-sessions", query))).json())

    async def session_events(self, session_id: str, **query: str | int | None) -> dict[str, Any]:
        """``GET /checkout-sessions/{id}/events``: one page of the session's audit trail."""
        path = _with_query(f"/checkout-sessions/{_segment(session_id)}/events", query)
        return dict((await self._ok("GET", path)).json())

    # -- the exchange --------------------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        body: Body | bytes | None = None,
        *,
        idempotency_key: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> SignedResponse:
        """One operation: signed, retried with the same key and bytes, answered only when the answer verifies.

        Returns the last answer, whatever its status (an error status is signed too);
        raises :class:`ResponseNotSignedError` for an answer that does not verify and
        ``httpx.TransportError`` when the connector stays unreachable.
        """
        method = method.upper()
        content = _encode(body)
        headers = {"Content-Type": "application/json"} if content is not None else {}
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            idempotency_key = idempotency_key or str(uuid.uuid4())
            headers["Idempotency-Key"] = idempotency_key
        policy = retry or self.retry
        deadline = time.monotonic() + policy.total_seconds
        attempt = 0
        while True:
            attempt += 1
            last_try = attempt >= policy.attempts or time.monotonic() >= deadline
            try:
                response = await self._http.request(method, self.base_url + path, content=content, headers=headers)
            except httpx.TransportError:
                if last_try:
                    raise
                await asyncio.sleep(policy.delay(attempt, None))
                continue
            if response.status_code in UNSIGNED_RETRIABLE and not last_try and not _is_signed(response):
                # A load balancer's 502/503/504 carries no signature and no data: the operation may be
                # retried with the same key, but its answer is never returned as the connector's.
                await asyncio.sleep(policy.delay(attempt, _retry_after(response)))
                continue
            signed = await self._verified(response, attempt, idempotency_key)
            if signed.status_code not in RETRIED_STATUSES or last_try:
                return signed
            await asyncio.sleep(min(policy.delay(attempt, _retry_after(response)), max(deadline - time.monotonic(), 0)))

    async def published_keys(self) -> JwkSet:
        """The connector's signing keys from its profile (``signing_keys``), read once and cached."""
        if self.connector_keys is None:
            self.connector_keys = await self._read_profile_keys()
        return self.connector_keys

    async def _ok(
        self, method: str, path: str, body: Body | None = None, idempotency_key: str | None = None
    ) -> SignedResponse:
        response = await self.request(method, path, body, idempotency_key=idempotency_key)
        if response.status_code >= 300:
            raise ConnectorError(response)
        return response

    async def _verified(self, response: httpx.Response, attempt: int, idempotency_key: str | None) -> SignedResponse:
        body = response.content or None
        headers = list(response.headers.multi_items())

        def check(keys: JwkSet) -> VerifiedSignature:
            return verify_response(status=response.status_code, headers=headers, body=body, keys=keys)

        try:
            signature = await verify_with_key_refresh(check, await self.published_keys(), refresh=self._refresh_keys)
        except Exception as error:  # a SignatureError or a malformed answer: never data
            if response.status_code == 421:  # the profile's keys are behind the same refusal
                raise MisdirectedRequestError(response) from error
            raise ResponseNotSignedError(
                f"the answer to {response.request.method} {response.request.url.path} (HTTP {response.status_code}) "
                f"does not verify against the connector's published keys: {error}"
            ) from error
        return SignedResponse(
            response.status_code, response.headers, response.content, signature, attempt, idempotency_key
        )

    async def _refresh_keys(self) -> JwkSet | None:
        """Re-read the profile after an unknown ``kid`` — at most once a minute (SIG-09), then the failure stands."""
        if time.monotonic() - self._keys_read_at < 60:
            return None
        self.connector_keys = await self._read_profile_keys()
        return self.connector_keys

    async def _read_profile_keys(self) -> JwkSet:
        response = await self._http.get(self.base_url + PROFILE_PATH, auth=None)
        response.raise_for_status()
        self._keys_read_at = time.monotonic()
        return JwkSet.from_list(response.json()["signing_keys"])


def _encode(body: Body | bytes | None) -> bytes | None:
    if body is None or isinstance(body, bytes):
        return body
    if isinstance(body, BaseModel):
        return body.model_dump_json(exclude_none=True).encode()
    return json.dumps(dict(body), separators=(",", ":")).encode()


def _checkout(response: SignedResponse) -> Checkout:
    return Checkout.model_validate(response.json())


def _is_signed(response: httpx.Response) -> bool:
    return "signature" in response.headers and "signature-input" in response.headers


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.strip().isdigit() else None


def _segment(value: str) -> str:
    return quote(value, safe="")


def _sessions(merchant_id: str) -> str:
    return f"/merchants/{_segment(merchant_id)}/checkout-sessions"


def _session(merchant_id: str, session_id: str) -> str:
    return f"{_sessions(merchant_id)}/{_segment(session_id)}"


def _with_query(path: str, query: Mapping[str, str | int | None]) -> str:
    given = {name: value for name, value in query.items() if value is not None}
    return f"{path}?{urlencode(given)}" if given else path
