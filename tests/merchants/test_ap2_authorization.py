"""AP2 Mandates, platform side: the business's ``merchant_authorization`` verifies before the checkout is used.

ap2-mandates.md "Activation and Session Locking": with
``dev.ucp.shopping.ap2_mandate`` active the business MUST sign every checkout
response (``ap2.merchant_authorization``, detached JWS over the JCS checkout
without ``ap2``) and the platform MUST verify it. The edge merchant answers
with checkouts signed (or not) as each test dictates; the connector side is the
real profile cache and merchant client over loopback HTTP.
"""

from __future__ import annotations

from typing import Any

import pytest

from contracts import ErrorCode, KeyStore, SigningKey, canonical_json
from contracts.ucp import RestOperation
from contracts.ucp.ap2 import sign_merchant_authorization
from merchants.errors import MerchantCallError
from merchants.platform_profile import platform_profile
from tests.fixtures.bodies import checkout_document
from tests.fixtures.connector_stack import CONNECTOR_BASE, MERCHANT
from tests.merchants.conftest import EdgeSetup
from tests.merchants.harness import Reply

AP2 = "dev.ucp.shopping.ap2_mandate"


def _ap2_checkout(key: SigningKey | None, **changes: Any) -> dict[str, Any]:
    checkout = checkout_document()
    checkout["ucp"]["capabilities"][AP2] = [{"version": "2026-04-08"}]
    if key is not None:
        checkout["ap2"] = {"merchant_authorization": sign_merchant_authorization(checkout, key)}
    checkout.update(changes)  # after signing: a change the signature does not cover
    return checkout


async def _get(edge: EdgeSetup, checkout: dict[str, Any]) -> Any:
    edge.merchant.reply = Reply(body=canonical_json(checkout))
    return await edge.connector.client.call(MERCHANT, RestOperation.GET, resource_id="chk_1")


async def test_a_checkout_signed_by_the_business_is_accepted(edge: EdgeSetup) -> None:
    response = await _get(edge, _ap2_checkout(edge.merchant.signer))
    assert response.body["ap2"]["merchant_authorization"]


@pytest.mark.parametrize(
    ("checkout_of", "signature"),
    [
        (lambda key: _ap2_checkout(None), None),  # AP2 active, no authorization
        (lambda key: _ap2_checkout(key, currency="EUR"), "mismatch"),  # the terms changed after signing
        (lambda key: _ap2_checkout(SigningKey.generate()), None),  # a key the business does not publish
    ],
)
async def test_a_checkout_without_a_valid_authorization_is_refused(
    edge: EdgeSetup, checkout_of: Any, signature: str | None
) -> None:
    """merchant_authorization_invalid (ap2-mandates.md "Error Codes"): never presented to the platform."""
    with pytest.raises(MerchantCallError) as caught:
        await _get(edge, checkout_of(edge.merchant.signer))
    error = caught.value
    assert error.code is ErrorCode.MERCHANT_RESPONSE_INVALID and error.reason == "merchant_authorization_invalid"
    assert error.pointer == "/ap2/merchant_authorization"


async def test_without_ap2_active_no_authorization_is_needed(edge: EdgeSetup) -> None:
    assert (await _get(edge, checkout_document())).body["id"] == "chk_1"


def test_the_connector_declares_ap2_only_when_configured() -> None:
    """The AP2 capability is opt-in (Settings.ap2_mandates): declaring it locks AP2-capable merchants into it."""
    keys = KeyStore(SigningKey.generate())
    assert AP2 not in platform_profile(CONNECTOR_BASE, keys, MERCHANT)["ucp"]["capabilities"]
    declared = platform_profile(CONNECTOR_BASE, keys, MERCHANT, ap2_mandates=True)["ucp"]["capabilities"][AP2]
    assert declared[0]["extends"] == "dev.ucp.shopping.checkout"
