"""Fixtures: the connector's merchant side against the real reference merchant or the edge merchant, on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from contracts import KeyStore, SigningKey
from reference_merchant import ReferenceMerchant
from tests.merchants.harness import Connector, EdgeMerchant, connector_for, edge_merchant, reference_shop


@pytest.fixture
def connector_keys() -> KeyStore:
    return KeyStore(SigningKey.generate())


@dataclass
class EdgeSetup:
    merchant: EdgeMerchant
    connector: Connector


@dataclass
class ShopSetup:
    merchant: ReferenceMerchant
    connector: Connector


@pytest.fixture
async def edge(connector_keys: KeyStore) -> AsyncIterator[EdgeSetup]:
    async with edge_merchant(connector_keys) as merchant, connector_for(merchant.url, connector_keys) as connector:
        yield EdgeSetup(merchant, connector)


@pytest.fixture
async def shop(connector_keys: KeyStore) -> AsyncIterator[ShopSetup]:
    async with (
        reference_shop(connector_keys) as merchant,
        connector_for(merchant.config.base_url, connector_keys) as connector,
    ):
        yield ShopSetup(merchant, connector)
