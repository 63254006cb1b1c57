"""``MerchantClient``: one signed UCP REST call to a merchant, in the merchant's release, verified and classified.

Per call:

1. resolve the merchant's profile from the cache: its REST endpoint, keys and
   *release* -- the adapter (:mod:`merchants.releases`) that knows that
   release's shapes and headers;
2. translate the canonical body into the release's (a field the release
   cannot carry is ``request_untranslatable``, never dropped), and serialise
   it once as canonical JSON -- a retry sends byte-identical bytes with the
   same outbound ``Idempotency-Key`` (IDM-12), which satisfies every release's
   idempotency rule, so the merchant's cache answers instead of placing a
   second order;
3. add the release's headers (``Request-Id`` ...) and the merchant's own
   authentication (:mod:`merchants.auth`), sign with the release's signer
   (RFC 9421, or 2026-01-11's detached JWS: there is no unsigned path), check
   the target address again (:mod:`merchants.targets`), and send with
   explicit timeouts, no redirects and a bounded body (``core.outbound_http``),
   over the merchant's mTLS client when it has one;
4. read the answer (:mod:`merchants.responses`) into the canonical model.

**No orphans** (issue 15): when a create reached the merchant -- it answered
2xx with a checkout id -- but the connector cannot accept the answer (a bad
signature, an untranslatable body), the connector cancels that checkout at
once, with an ``Idempotency-Key`` derived from the create's. The failure
then says so (``orphan_checkout_id``, ``orphan_cancel = canceled``), and the
workflow audits it. If the cancel itself cannot get through, the failure is
*retryable*: Temporal runs the activity again, the create is answered from
the merchant's idempotency cache (same key, same bytes, no second checkout)
and the cancel is tried again, until it succeeds or the attempt budget ends
(``orphan_cancel = pending`` is then what the audit trail shows, for
reconciliation).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import structlog

from contracts import ErrorCode, KeyStore, Redactor, UcpError, canonical_json, format_ucp_agent, parse_json
from contracts.ucp import RestOperation
from core.outbound_http import ResponseTooLargeError, new_http_client, send_bounded
from merchants.auth import MerchantAuthenticator, client_certificate
from merchants.errors import MerchantCallError
from merchants.platform_profile import profile_url
from merchants.profiles import CachedProfile, ProfileCache
from merchants.responses import MerchantResponse, read_response
from merchants.targets import check_address

# Lines carry workflow_id/session_id/attempt from the caller's log context; never headers or bodies.
log = structlog.get_logger("ucp_connector.merchants.client")

_ORPHAN_NAMESPACE = uuid.UUID("9f1c1f7e-6a43-4d8e-9d5e-2b0f9f4a7c11")


class MerchantClient:
    """Calls registered merchants as the connector (its profile in ``UCP-Agent``, its key on every request)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        profiles: ProfileCache,
        keys: KeyStore,
        public_base_url: str,
        *,
        redactor: Redactor | None = None,
        authenticator: MerchantAuthenticator | None = None,
        ca_file: Path | None = None,
    ) -> None:
        self._http = http
        self._profiles = profiles
        self._keys = keys
        self._public_base_url = public_base_url
        self._redactor = redactor or Redactor(uuid.uuid4().bytes)
        self._auth = authenticator or MerchantAuthenticator(http)
        self._ca_file = ca_file
        self._mtls_clients: dict[str, httpx.AsyncClient] = {}

    async def aclose(self) -> None:
        for client in self._mtls_clients.values():
            await client.aclose()

    async def call(
        self,
        merchant_id: str,
        operation: RestOperation,
        *,
        resource_id: str | None = None,
        body: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> MerchantResponse:
        profile = await self._profiles.get(merchant_id)
        current = None
        if profile.adapter.needs_current_checkout(operation):
            current = (await self._send(profile, RestOperation.GET, resource_id, None, None)).body
        try:
            response = await self._send(profile, operation, resource_id, body, idempotency_key, current=current)
        except MerchantCallError as error:
            if operation is RestOperation.CREATE and error.orphan_checkout_id is not None:
                await self._cancel_orphan(profile, error, idempotency_key)
            raise
        return response

    async def _send(
        self,
        profile: CachedProfile,
        operation: RestOperation,
        resource_id: str | None,
        body: Mapping[str, Any] | None,
        idempotency_key: str | None,
        *,
        current: Mapping[str, Any] | None = None,
    ) -> MerchantResponse:
        merchant_id = profile.merchant_id
        settings = self._profiles.merchant(merchant_id)
        adapter = profile.adapter
        try:
            wire = adapter.encode_request(
                operation,
                body,
                merchant_checkout_id=resource_id,
                current=current,
                default_currency=settings.default_currency,
            )
        except UcpError as error:
            raise MerchantCallError.final(error) from error
        url = profile.endpoint + operation.path(resource_id)
        content = None if wire is None else canonical_json(wire)
        request_id = str(uuid.uuid4())
        headers = [
            ("UCP-Agent", format_ucp_agent(profile_url(self._public_base_url, merchant_id))),
            ("Accept", "application/json"),
            *adapter.request_headers(request_id),
        ]
        if content is not None:
            headers.append(("Content-Type", "application/json"))
        if idempotency_key is not None:
            headers.append(("Idempotency-Key", idempotency_key))
        headers += await self._auth.headers(merchant_id, settings)
        await check_address(url, settings, what="REST endpoint")
        call = log.bind(
            operation=operation.value,
            merchant_id=merchant_id,
            url=url,
            merchant_request_id=request_id,
            release=profile.release,
        )
        started = time.perf_counter()
        try:
            response, raw = await send_bounded(
                self._client_for(merchant_id),
                operation.method,
                url,
                headers=headers,
                content=content,
                auth=adapter.request_signer(self._keys),
            )
        except (httpx.TransportError, ResponseTooLargeError) as exc:  # TimeoutException is a TransportError
            call.warning("merchant.call_failed", error=type(exc).__name__, duration_ms=_since(started))
            raise _transport_failure(exc) from exc
        call.info("merchant.call", status=response.status_code, duration_ms=_since(started))
        if response.status_code == 401 and settings.auth is not None:
            self._auth.rejected(merchant_id)
        try:
            return await read_response(self._profiles, profile, operation, response, raw, redactor=self._redactor)
        except MerchantCallError as error:
            if operation is RestOperation.CREATE and 200 <= response.status_code < 300:
                error.orphan_checkout_id = _checkout_id(raw)
            raise

    async def _cancel_orphan(self, profile: CachedProfile, error: MerchantCallError, create_key: str | None) -> None:
        """Cancel the checkout a refused create left at the merchant; say in ``error`` how it went."""
        checkout_id = error.orphan_checkout_id
        assert checkout_id is not None
        key = str(uuid.uuid5(_ORPHAN_NAMESPACE, f"{create_key or checkout_id}:cancel"))
        error.detail["orphan_checkout_id"] = checkout_id
        try:
            await self._send(profile, RestOperation.CANCEL, checkout_id, {}, key)
        except MerchantCallError as cancel_error:
            if cancel_error.code is ErrorCode.MERCHANT_SIGNATURE_INVALID or cancel_error.code is (
                ErrorCode.MERCHANT_RESPONSE_INVALID
            ):
                error.detail["orphan_cancel"] = "canceled"  # the merchant answered 2xx; its answer is not ours to use
            elif cancel_error.retryable:
                error.detail["orphan_cancel"] = "pending"
                error.retryable = True  # the next attempt replays the create (same key) and cancels again
            else:
                error.detail["orphan_cancel"] = f"refused:{cancel_error.code.value}"
            log.warning(
                "merchant.orphan_cancel",
                merchant_id=profile.merchant_id,
                checkout_id=checkout_id,
                outcome=error.detail["orphan_cancel"],
            )
            return
        error.detail["orphan_cancel"] = "canceled"
        log.info("merchant.orphan_cancel", merchant_id=profile.merchant_id, checkout_id=checkout_id, outcome="canceled")

    def _client_for(self, merchant_id: str) -> httpx.AsyncClient:
        certificate = client_certificate(self._profiles.merchant(merchant_id).auth)
        if certificate is None:
            return self._http
        client = self._mtls_clients.get(merchant_id)
        if client is None:
            client = self._mtls_clients[merchant_id] = new_http_client(ca_file=self._ca_file, client_cert=certificate)
        return client


def _checkout_id(raw: bytes) -> str | None:
    """The merchant's checkout id in an answer the connector could not accept (for the orphan cancel)."""
    try:
        document = parse_json(raw)
    except UcpError:
        return None
    value = document.get("id") if isinstance(document, dict) else None
    return value if isinstance(value, str) and 0 < len(value) <= 256 else None


def _transport_failure(exc: Exception) -> MerchantCallError:
    if isinstance(exc, httpx.TimeoutException):
        return MerchantCallError(
            f"merchant timed out ({type(exc).__name__})", code=ErrorCode.MERCHANT_TIMEOUT, retryable=True
        )
    if isinstance(exc, ResponseTooLargeError):
        return MerchantCallError(str(exc), code=ErrorCode.MERCHANT_RESPONSE_INVALID, retryable=False)
    return MerchantCallError(
        f"merchant connection failed ({type(exc).__name__})", code=ErrorCode.MERCHANT_UNAVAILABLE, retryable=True
    )


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
