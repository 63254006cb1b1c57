"""The package's platform client against the real connector (API + worker + Temporal dev server + merchant).

Issue 16.6: a platform developer gets a client that signs, verifies every
answer against the connector's published keys and retries safely. A response
lost on the way back (the connector did the work) is retried with the same
Idempotency-Key and answered from the first operation: one checkout, one
order (DESIGN invariant 2, IDM-01/02, SIG-21). Signing for ``localhost``
when the connector's public origin is ``127.0.0.1`` is refused with the
authority the connector expected (SIG-16).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from contracts import SigningKey
from tests.e2e.conftest import MERCHANT, Connector
from tests.fixtures.bodies import payment_body, ready_body
from ucp_connector.client import MisdirectedRequestError, PlatformClient, RetryPolicy

pytestmark = pytest.mark.e2e

FAST = RetryPolicy(attempts=4, first_delay=0.05, max_delay=0.5, total_seconds=60)


class LoseFirstAnswer(httpx.AsyncBaseTransport):
    """Delivers each matching request to the connector, then drops its first answer (a read timeout)."""

    def __init__(self, path_suffix: str) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._suffix = path_suffix
        self.lost: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if request.url.path.endswith(self._suffix) and not self.lost:
            await response.aread()
            self.lost.append(request.headers["idempotency-key"])
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def _alpha_key(connector: Connector) -> SigningKey:
    return SigningKey(connector.alpha.signer.private_key, kid=connector.alpha.signer.kid)


async def test_a_lost_answer_is_retried_with_the_same_key_and_places_one_order(connector: Connector) -> None:
    transport = LoseFirstAnswer("/complete")
    async with PlatformClient(
        connector.url,
        _alpha_key(connector),
        profile_url=connector.alpha.signer.profile_url,
        retry=FAST,
        transport=transport,
    ) as platform:
        created = await platform.create_checkout(MERCHANT, ready_body())
        assert created.status == "ready_for_complete" and created.id.startswith("cs_")
        completed = await platform.complete_checkout(MERCHANT, created.id, payment_body())
        again = await platform.get_checkout(MERCHANT, created.id)
    assert transport.lost, "the first complete's answer was dropped after the connector received it"
    assert completed.status == "completed" and completed.order is not None
    assert again.status == "completed" and again.order is not None and again.order.id == completed.order.id
    assert await connector.merchant.count_orders() == 1


async def test_signing_for_another_spelling_of_the_host_names_the_expected_authority(connector: Connector) -> None:
    """A client configured with ``localhost`` for ``127.0.0.1``: the front door refuses it before routing
    (421, unsigned: issue 12.2) and the client says which authority the connector expects (issue 16.6)."""
    port = urlsplit(connector.url).port
    async with PlatformClient(
        f"http://localhost:{port}", _alpha_key(connector), profile_url=connector.alpha.signer.profile_url
    ) as platform:
        with pytest.raises(MisdirectedRequestError) as failure:
            await platform.list_sessions(limit=5)
    assert failure.value.expected_authority == f"127.0.0.1:{port}"
    assert f"127.0.0.1:{port}" in str(failure.value) and f"localhost:{port}" in str(failure.value)
