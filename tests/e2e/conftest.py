"""The whole connector over real HTTP: API + worker + Temporal dev server + reference merchant on loopback.

Platforms are played by the package's own platform client
(``ucp_connector.client.PlatformClient``: signs, verifies every answer against
the connector's published keys); the independent RFC 9421 signer stays beside
it for requests the client would never make (fuzzing, forged webhooks) and as
the cross-check of tests/api. The merchant knows the connector only by its published profile URL and fetches
the connector's keys over HTTP, exactly as a real merchant would; merchant
order webhooks travel back to the API's webhook route; platform
notifications go to a small receiver that verifies the connector's signature.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.gateway import CheckoutGateway
from contracts import JwkSet, KeyStore, SigningKey, text_headers, verify_request
from core.outbound_http import new_http_client
from core.settings import Settings
from merchants.platform_profile import profile_url
from merchants.profiles import ProfileCache
from reference_merchant import MerchantConfig, ReferenceMerchant, TrustedPlatform
from storage.repository import Repository
from tests.fixtures.http import bind_loopback, serve, url_of
from tests.fixtures.independent_signer import IndependentSigner
from tests.fixtures.storage import migrated_repository, tmp_storage
from ucp_connector.client import NO_RETRIES, PlatformClient, SignedResponse
from worker.main import build_worker

MERCHANT = "shop"
_RELAXED_2026_01_11 = {"response_signatures": "when_present", "default_currency": "USD"}


@dataclass
class PlatformInbox:
    """Where the connector delivers platform notifications; verifies every one against the connector's keys."""

    keys: JwkSet | None = None
    received: list[dict[str, Any]] = field(default_factory=list)
    rejected: int = 0

    def app(self) -> Starlette:
        async def receive(request: Request) -> JSONResponse:
            body = await request.body()
            headers = text_headers(request.headers.raw)
            try:
                assert self.keys is not None
                verify_request(method="POST", url=str(request.url), headers=headers, body=body, keys=self.keys)
            except Exception:
                self.rejected += 1
                return JSONResponse({"code": "signature_invalid", "content": "bad signature"}, status_code=401)
            self.received.append({"webhook_id": request.headers["webhook-id"], **json.loads(body)})
            return JSONResponse({"status": "ok"})

        return Starlette(routes=[Route("/inbox", receive, methods=["POST"])])


@dataclass
class Platform:
    id: str
    signer: IndependentSigner
    client: PlatformClient


@dataclass
class Connector:
    url: str
    http: httpx.AsyncClient
    keys: KeyStore
    merchant: ReferenceMerchant
    repository: Repository
    inbox: PlatformInbox
    alpha: Platform
    beta: Platform
    env: WorkflowEnvironment
    settings: Settings

    async def call(
        self,
        platform: Platform,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = None,
        raw: bytes | None = None,
    ) -> SignedResponse:
        """One signed request, no retries (tests look at every answer); SIG-21: the answer must verify."""
        content = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        return await platform.client.request(method, path, content, idempotency_key=key, retry=NO_RETRIES)


def _platform(name: str, api_url: str) -> tuple[Platform, dict[str, Any]]:
    private = ec.generate_private_key(ec.SECP256R1())
    kid = f"{name}-2026"
    profile = f"https://{name}.example/.well-known/ucp"
    key = SigningKey(private, kid=kid)
    client = PlatformClient(api_url, key, profile_url=profile)
    return Platform(name, IndependentSigner(private, kid, profile_url=profile), client), {
        "keys": [key.public_jwk.to_dict()]
    }


@contextlib.asynccontextmanager
async def running_connector(
    env: WorkflowEnvironment,
    tmp_path: Path,
    *,
    wait_seconds: float = 20.0,
    alpha_rate_limit: dict[str, Any] | None = None,
    client: Client | None = None,
    merchant_front: Callable[[ASGIApp], ASGIApp] | None = None,
    merchant_release: str = "2026-04-08",
    async_completion_seconds: float = 0,
    ap2_mandates: bool = False,
    merchant_call_timeout_seconds: int = 30,
    vendor_extensions: dict[str, Any] | None = None,
    loyalty_extension: bool = False,
) -> AsyncIterator[Connector]:
    """``client`` replaces the environment's client (e.g. one with tracing); ``merchant_front`` wraps the
    merchant's ASGI app (an observer of what reaches the merchant); ``merchant_release`` is the UCP
    release the reference merchant speaks (its 2026-01-11 mode signs no answers, like the official
    samples, so the connector is configured with ``response_signatures = "when_present"`` for it);
    ``ap2_mandates`` turns AP2 Mandates on at both ends (Settings.ap2_mandates, MerchantConfig.ap2_mandates);
    ``vendor_extensions`` is the merchant's MerchantSettings.vendor_extensions on the connector's side and
    ``loyalty_extension`` the merchant's com.example.loyalty mode (MerchantConfig.loyalty_extension)."""
    client = client or env.client
    api_sock, merchant_sock, inbox_sock = bind_loopback(), bind_loopback(), bind_loopback()
    api_url, merchant_url, inbox_url = url_of(api_sock), url_of(merchant_sock), url_of(inbox_sock)
    alpha, alpha_jwks = _platform("alpha", api_url)
    beta, beta_jwks = _platform("beta", api_url)
    storage = tmp_storage(tmp_path)
    settings = Settings(
        public_base_url=api_url,
        state_dir=tmp_path,
        merchant_call_timeout_seconds=merchant_call_timeout_seconds,
        storage=storage,
        ap2_mandates=ap2_mandates,
        api_wait_seconds=wait_seconds,
        temporal={"task_queue": f"e2e-{uuid.uuid4().hex[:8]}"},
        merchants={
            MERCHANT: {
                "profile_url": f"{merchant_url}/.well-known/ucp",
                "allow_insecure_loopback": True,
                **(_RELAXED_2026_01_11 if merchant_release == "2026-01-11" else {}),
                **({"vendor_extensions": vendor_extensions} if vendor_extensions else {}),
            }
        },
        platforms={
            "alpha": {
                "jwks": alpha_jwks,
                "profile_url": alpha.signer.profile_url,
                "allowed_merchants": [MERCHANT],
                "webhook_url": f"{inbox_url}/inbox",
                "allow_insecure_loopback": True,
                "rate_limit": alpha_rate_limit or {"requests_per_second": 200, "burst": 400, "max_concurrent": 32},
            },
            "beta": {"jwks": beta_jwks, "allowed_merchants": [MERCHANT]},
        },
    )
    keys = KeyStore(SigningKey.generate())
    merchant = ReferenceMerchant(
        MerchantConfig(
            base_url=merchant_url,
            allow_insecure_loopback=True,
            async_completion_seconds=async_completion_seconds,
            ap2_mandates=ap2_mandates,
            loyalty_extension=loyalty_extension,
            platforms=[TrustedPlatform(profile_url=profile_url(api_url, MERCHANT))],
            ucp_version=merchant_release,
            sign_webhooks_2026_01_11=True,  # the connector accepts signed webhooks only (order.md)
        )
    )
    inbox = PlatformInbox(keys=keys.jwks)
    repository = await migrated_repository(settings)
    outbound = new_http_client()
    async with httpx.AsyncClient(timeout=60) as http:
        gateway = CheckoutGateway(
            client, task_queue=settings.temporal.task_queue, wait_bound=dt.timedelta(seconds=wait_seconds)
        )
        app = create_app(
            settings,
            gateway=gateway,
            repository=repository,
            keys=lambda: keys,
            profiles=ProfileCache(outbound, settings.merchants),
        )
        async with (
            serve(inbox.app(), inbox_sock),
            serve(merchant_front(merchant.asgi) if merchant_front else merchant.asgi, merchant_sock),
            serve(app, api_sock),
            build_worker(client, settings, keys=keys, repository=repository, http=outbound),
        ):
            yield Connector(api_url, http, keys, merchant, repository, inbox, alpha, beta, env, settings)
    await alpha.client.aclose()
    await beta.client.aclose()
    await outbound.aclose()
    await repository.close()


@pytest.fixture
async def connector(dev_server_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Connector]:
    async with running_connector(dev_server_env, tmp_path) as running:
        yield running
