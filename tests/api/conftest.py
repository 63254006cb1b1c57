"""An API served on loopback with a real (but, here, unreachable) Temporal and a real SQLite store.

These tests exercise everything the API decides *before* it reaches a
workflow — verification, limits, validation, idempotency headers, listing —
and fail-closed behaviour when Temporal is down. Full checkouts through the
API run in tests/e2e against the real worker and reference merchant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from temporalio.client import Client

from api.app import create_app
from api.gateway import CheckoutGateway
from contracts import KeyStore, SigningKey
from core.settings import Settings
from core.temporal.client import data_converter
from core.temporal.codec import PayloadKeyring
from merchants.profiles import ProfileCache
from storage.repository import Repository
from tests.fixtures.http import bind_loopback, serve, url_of
from tests.fixtures.independent_signer import IndependentSigner
from tests.fixtures.storage import migrated_repository, tmp_storage

MERCHANT = "shop"


@dataclass
class ApiUnderTest:
    url: str
    http: httpx.AsyncClient
    connector_keys: KeyStore
    alpha: IndependentSigner
    beta: IndependentSigner
    repository: Repository
    settings: Settings

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


def _signer(platform: str) -> tuple[IndependentSigner, dict[str, object]]:
    private = ec.generate_private_key(ec.SECP256R1())
    public = SigningKey(private, kid=f"{platform}-key-1").public_jwk.to_dict()
    return IndependentSigner(private, kid=f"{platform}-key-1"), {"keys": [public]}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[ApiUnderTest]:
    sock = bind_loopback()
    base = url_of(sock)
    alpha, alpha_jwks = _signer("alpha")
    beta, beta_jwks = _signer("beta")
    storage = tmp_storage(tmp_path)
    settings = Settings(
        public_base_url=base,
        storage=storage,
        api_wait_seconds=2,
        merchants={MERCHANT: {"profile_url": "http://127.0.0.1:9/.well-known/ucp", "allow_insecure_loopback": True}},
        platforms={
            "alpha": {"jwks": alpha_jwks, "allowed_merchants": [MERCHANT], "rate_limit": {"burst": 30}},
            "beta": {"jwks": beta_jwks, "allowed_merchants": [MERCHANT]},
        },
    )
    repository = await migrated_repository(settings)
    keys = KeyStore(SigningKey.generate())
    dead_temporal = await Client.connect(
        "127.0.0.1:9", lazy=True, data_converter=data_converter(PayloadKeyring.generate())
    )
    gateway = CheckoutGateway(dead_temporal, task_queue="t", wait_bound=dt.timedelta(seconds=2))
    async with httpx.AsyncClient(timeout=30) as http:
        app = create_app(
            settings,
            gateway=gateway,
            repository=repository,
            keys=lambda: keys,
            profiles=ProfileCache(http, settings.merchants),
            max_body_bytes=4096,
        )
        async with serve(app, sock):
            yield ApiUnderTest(base, http, keys, alpha, beta, repository, settings)
    await repository.close()
