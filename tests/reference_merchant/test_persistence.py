"""The merchant survives its own restart when its state is a file (sessions, idempotency, pending webhooks).

Covers IDM-04/05 across restarts, ORD-25 (undelivered webhooks are not lost), CMP-03.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from contracts import KeyStore, SigningKey
from reference_merchant import ManualClock, MerchantConfig, ReferenceMerchant, TrustedPlatform
from tests.reference_merchant.conftest import PLATFORM
from tests.reference_merchant.harness import PlatformSite, UcpClient, bind_loopback, payment_body, ready_body, serve


def _rebind(port: int) -> object:
    import socket

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def test_state_survives_a_restart(tmp_path: Path, platform_site: PlatformSite, platform_key: SigningKey) -> None:
    from tests.reference_merchant.harness import platform_profile

    platform_site.profiles[PLATFORM] = platform_profile(platform_site.webhook_url(PLATFORM), platform_key)
    platform_site.webhooks.pop(PLATFORM, None)
    sock = bind_loopback()
    port = sock.getsockname()[1]
    config = MerchantConfig(
        base_url=f"http://127.0.0.1:{port}",
        allow_insecure_loopback=True,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'merchant.db'}",
        run_background_tasks=False,
        platforms=[TrustedPlatform(profile_url=platform_site.profile_url(PLATFORM))],
    )
    keys = KeyStore(SigningKey.generate())  # the key file of a real deployment
    clock = ManualClock()
    key = str(uuid.uuid4())
    async with httpx.AsyncClient() as http:
        client = UcpClient(
            http,
            merchant_url=config.base_url,
            endpoint=config.endpoint,
            key=platform_key,
            profile_url=platform_site.profile_url(PLATFORM),
        )
        first = ReferenceMerchant(config, clock=clock, keys=keys)
        async with serve(first.asgi, sock):
            created = await client.create(ready_body(), idempotency_key=key)
            paying = (await client.create(ready_body())).json["id"]
            await client.complete(paying, payment_body("async_restart"))
            done = (await client.create(ready_body())).json["id"]
            platform_site.fail_next[PLATFORM] = 1
            await client.complete(done, payment_body())
            assert await first.deliver_webhooks() == 0  # the platform was down: the event stays queued
            await http.aclose()

    async with httpx.AsyncClient() as http:
        client.http = http
        second = ReferenceMerchant(config, clock=clock, keys=keys)
        async with serve(second.asgi, _rebind(port)):
            again = await client.create(ready_body(), idempotency_key=key)
            assert again.body == created.body  # idempotency records were persisted
            assert (await client.get(created.json["id"])).json["status"] == "ready_for_complete"
            assert (await client.get(paying)).json["status"] == "complete_in_progress"
            clock.advance(seconds=config.async_completion_seconds)
            assert (await client.get(paying)).json["status"] == "completed"
            clock.advance(seconds=5)
            assert await second.deliver_webhooks() == 2  # the old queued event and the new one
            assert await second.count_orders() == 2
            await http.aclose()
    ids = [hook.document["checkout_id"] for hook in platform_site.webhooks[PLATFORM] if hook.error is None]
    assert sorted(ids[-2:]) == sorted([done, paying])
