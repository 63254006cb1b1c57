"""The API served on loopback with a real SQLite store, its gateway scripted or on a dead Temporal.

``api`` replaces the gateway dependency with ``ScriptedGateway``: the tests
exercise everything the API decides before and after the workflow —
verification, limits, validation, idempotency headers, listing, and how a
gateway answer becomes an HTTP response. ``api_on_dead_temporal`` keeps the
real gateway for fail-closed behaviour when Temporal is down. Full checkouts
through the API run in tests/e2e against the real worker and reference merchant.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from temporalio.client import Client

from api.app import create_app
from api.dependencies import checkout_gateway, readiness_gateway, services_of
from api.front_door import FrontDoorLimits, server_options
from api.gateway import CheckoutGateway
from api.services import ApiServices
from contracts import KeyStore, SigningKey, verify_response
from core.settings import Settings, StorageSettings
from core.temporal.client import data_converter
from core.temporal.codec import PayloadKeyring
from merchants.profiles import ProfileCache
from storage.repository import Repository
from tests.api.gateway_double import ScriptedGateway
from tests.fixtures.http import bind_loopback, serve, url_of
from tests.fixtures.independent_signer import IndependentSigner
from tests.fixtures.storage import migrated_repository, tmp_storage

MERCHANT = "shop"
OTHER_MERCHANT = "market"


@dataclass
class ApiUnderTest:
    url: str
    http: httpx.AsyncClient
    connector_keys: KeyStore
    alpha: IndependentSigner
    beta: IndependentSigner
    repository: Repository
    settings: Settings
    services: ApiServices

    async def send(
        self,
        method: str,
        path: str,
        *,
        signer: IndependentSigner | None = None,
        body: bytes | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        url = self.url + path
        signed = {} if signer is None else signer.sign(method, url, body=body, idempotency_key=idempotency_key)
        return await self.http.request(method, url, content=body, headers={**signed, **(headers or {})})

    def assert_signed(self, response: httpx.Response) -> None:
        """SIG-21: every response is signed with the connector's key (@status, content-digest, content-type)."""
        verify_response(
            status=response.status_code,
            headers=list(response.headers.multi_items()),
            body=response.content or None,
            keys=self.connector_keys,
        )


def _signer(platform: str) -> tuple[IndependentSigner, dict[str, object]]:
    private = ec.generate_private_key(ec.SECP256R1())
    public = SigningKey(private, kid=f"{platform}-key-1").public_jwk.to_dict()
    return IndependentSigner(private, kid=f"{platform}-key-1"), {"keys": [public]}


@contextlib.asynccontextmanager
async def running_api(
    tmp_path: Path,
    *,
    gateway: CheckoutGateway | None,
    scripted: ScriptedGateway | None = None,
    limits: FrontDoorLimits | None = None,
    extra_platforms: dict[str, dict[str, object]] | None = None,
    storage: StorageSettings | None = None,
) -> AsyncIterator[ApiUnderTest]:
    """The API on loopback, served as ``ucp-connector api`` serves it (``api.front_door``).

    ``scripted`` replaces the gateway dependency (``app.dependency_overrides``);
    ``limits`` the front door's bounds; ``extra_platforms`` are registered next to alpha and beta;
    ``storage`` replaces the private SQLite store (an already migrated database).
    """
    sock = bind_loopback()
    base = url_of(sock)
    alpha, alpha_jwks = _signer("alpha")
    beta, beta_jwks = _signer("beta")
    storage = storage or tmp_storage(tmp_path)
    unreachable_merchant = {"profile_url": "http://127.0.0.1:9/.well-known/ucp", "allow_insecure_loopback": True}
    settings = Settings(
        public_base_url=base,
        state_dir=tmp_path,
        storage=storage,
        api_wait_seconds=2,
        merchants={merchant: unreachable_merchant for merchant in (MERCHANT, OTHER_MERCHANT)},
        platforms={
            "alpha": {
                "jwks": alpha_jwks,
                "allowed_merchants": [MERCHANT, OTHER_MERCHANT],
                "rate_limit": {"burst": 30},
                "webhook_url": "https://platform.example/webhooks",
                "policy": {"max_total": 9000, "merchants": {MERCHANT: {"allowed_currencies": ["EUR"]}}},
            },
            "beta": {"jwks": beta_jwks, "allowed_merchants": [MERCHANT]},
            **(extra_platforms or {}),
        },
    )
    repository = await migrated_repository(settings)
    keys = KeyStore(SigningKey.generate())
    async with httpx.AsyncClient(timeout=30) as http:
        app = create_app(
            settings,
            gateway=gateway,
            repository=repository,
            keys=lambda: keys,
            profiles=ProfileCache(http, settings.merchants),
            max_body_bytes=4096,
        )
        if scripted is not None:

            async def scripted_gateway() -> ScriptedGateway:
                return scripted

            app.dependency_overrides[checkout_gateway] = scripted_gateway
            app.dependency_overrides[readiness_gateway] = scripted_gateway
        async with serve(app, sock, **server_options(lambda: keys, limits)):
            yield ApiUnderTest(base, http, keys, alpha, beta, repository, settings, services_of(app))
        await services_of(app).rejections.close()
    await repository.close()


@pytest.fixture
def scripted() -> ScriptedGateway:
    return ScriptedGateway()


@pytest.fixture
async def api(tmp_path: Path, scripted: ScriptedGateway) -> AsyncIterator[ApiUnderTest]:
    """The API with a scripted gateway: a request the test did not expect to reach it fails the test."""
    async with running_api(tmp_path, gateway=None, scripted=scripted) as running:
        yield running
    assert not scripted.unscripted, f"requests reached the gateway unexpectedly: {scripted.unscripted}"


@pytest.fixture
async def api_on_dead_temporal(tmp_path: Path) -> AsyncIterator[ApiUnderTest]:
    """The API with the real gateway, its Temporal client pointing at a port nobody listens on."""
    dead_temporal = await Client.connect(
        "127.0.0.1:9", lazy=True, data_converter=data_converter(PayloadKeyring.generate())
    )
    gateway = CheckoutGateway(dead_temporal, task_queue="t", wait_bound=dt.timedelta(seconds=2))
    async with running_api(tmp_path, gateway=gateway) as running:
        yield running
