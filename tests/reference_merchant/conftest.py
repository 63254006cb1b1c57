"""Fixtures: a platform site on loopback (session), and a fresh reference merchant per test.

Each merchant gets its own in-memory SQLite database, a ManualClock (time moves
only when a test says so) and its background task off, so every transition a
test sees is one it caused; tests that need the background loop turn it on.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from contracts import SigningKey
from reference_merchant import ManualClock, MerchantConfig, ReferenceMerchant, TrustedPlatform
from tests.reference_merchant.harness import PlatformSite, UcpClient, bind_loopback, platform_profile, serve

PLATFORM = "agent"


@pytest.fixture(scope="session")
async def platform_site() -> AsyncIterator[PlatformSite]:
    site = PlatformSite()
    async with httpx.AsyncClient() as http:
        site.http = http
        async with serve(site.app(), bind_loopback()) as url:
            site.url = url
            yield site


@pytest.fixture(scope="session")
def platform_key() -> SigningKey:
    return SigningKey.generate()


@dataclass
class MerchantUnderTest:
    merchant: ReferenceMerchant
    url: str
    client: UcpClient
    clock: ManualClock
    site: PlatformSite

    @property
    def config(self) -> MerchantConfig:
        return self.merchant.config


StartMerchant = Callable[..., Awaitable[MerchantUnderTest]]


@pytest.fixture
async def start_merchant(platform_site: PlatformSite, platform_key: SigningKey) -> AsyncIterator[StartMerchant]:
    """Start merchants with config overrides; all are stopped at the end of the test."""
    stack = contextlib.AsyncExitStack()
    http = httpx.AsyncClient()
    platform_site.profiles[PLATFORM] = platform_profile(platform_site.webhook_url(PLATFORM), platform_key)
    platform_site.webhooks.pop(PLATFORM, None)
    platform_site.fail_next.pop(PLATFORM, None)

    async def start(
        *,
        clock: ManualClock | None = None,
        platforms: list[TrustedPlatform] | None = None,
        key: SigningKey | None = None,
        profile_url: str | None = None,
        sock: Any = None,
        **overrides: Any,
    ) -> MerchantUnderTest:
        sock = sock or bind_loopback()
        base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        settings: dict[str, Any] = {
            "base_url": base_url,
            "allow_insecure_loopback": True,
            "run_background_tasks": False,
            "platforms": platforms
            if platforms is not None
            else [TrustedPlatform(profile_url=platform_site.profile_url(PLATFORM))],
        }
        settings.update(overrides)
        config = MerchantConfig.model_validate(settings)
        clock = clock or ManualClock()
        merchant = ReferenceMerchant(config, clock=clock)
        url = await stack.enter_async_context(serve(merchant.asgi, sock))
        client = UcpClient(
            http,
            merchant_url=url,
            endpoint=config.endpoint,
            key=key or platform_key,
            profile_url=profile_url or platform_site.profile_url(PLATFORM),
        )
        return MerchantUnderTest(merchant=merchant, url=url, client=client, clock=clock, site=platform_site)

    yield start
    await http.aclose()  # close keep-alive connections first, so the servers stop without waiting for them
    await stack.aclose()


@pytest.fixture
async def shop(start_merchant: StartMerchant) -> MerchantUnderTest:
    """The default merchant: trusts the test platform, whose profile is fetched over loopback."""
    return await start_merchant()
