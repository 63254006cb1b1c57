"""OVR-17: merchant checkout answers are validated against the schema composed for their active capabilities.

The edge merchant answers (signed, over loopback) with checkouts that the
connector's fixed models accept but the composition of checkout.json with the
active extensions' schemas (pinned 2026-04-08 copies) does not: on the old code
they reached the platform.
"""

from __future__ import annotations

from typing import Any

import pytest

from contracts import ErrorCode, canonical_json
from contracts.ucp import RestOperation
from contracts.ucp.composed_schema import checkout_violation, composed_checkout_validator, requirements_met
from merchants.errors import MerchantCallError
from tests.fixtures.bodies import checkout_document
from tests.fixtures.connector_stack import MERCHANT
from tests.merchants.conftest import EdgeSetup
from tests.merchants.harness import Reply

CONSENT = "dev.ucp.shopping.buyer_consent"


def _with_consent(consent: Any) -> dict[str, Any]:
    checkout = checkout_document()
    checkout["ucp"]["capabilities"][CONSENT] = [{"version": "2026-04-08"}]
    checkout["buyer"] = {"email": "jane@example.com", "consent": consent}
    return checkout


async def _get(edge: EdgeSetup, checkout: dict[str, Any]) -> Any:
    edge.merchant.reply = Reply(body=canonical_json(checkout))
    return await edge.connector.client.call(MERCHANT, RestOperation.GET, resource_id="chk_1")


async def test_an_answer_matching_its_composed_schema_passes(edge: EdgeSetup) -> None:
    assert (await _get(edge, _with_consent({"marketing": True}))).body["buyer"]["consent"] == {"marketing": True}


async def test_an_active_extensions_member_of_the_wrong_shape_is_refused(edge: EdgeSetup) -> None:
    """buyer_consent.json: consent purposes are booleans; the fixed models keep buyer open and let it through."""
    with pytest.raises(MerchantCallError) as caught:
        await _get(edge, _with_consent({"marketing": "yes"}))
    error = caught.value
    assert error.code is ErrorCode.MERCHANT_RESPONSE_INVALID and error.reason == "composed_schema"
    assert error.pointer == "/buyer/consent/marketing"


def test_the_composition_follows_the_active_set() -> None:
    """Without the extension active its definition is not composed in; with it, it is."""
    consent_off = _with_consent({"marketing": "yes"})
    del consent_off["ucp"]["capabilities"][CONSENT]
    assert checkout_violation(consent_off) is None
    assert checkout_violation(_with_consent({"marketing": "yes"})) is not None
    assert composed_checkout_validator(frozenset({CONSENT})) is composed_checkout_validator(frozenset({CONSENT}))


@pytest.mark.parametrize(
    ("requires", "met"),
    [
        (None, True),  # absent: assume compatible
        ({"protocol": {"min": "2026-01-11"}}, True),
        ({"protocol": {"min": "2026-08-25"}}, False),  # needs a newer protocol than the answer's
        ({"protocol": {"max": "2026-01-11"}}, False),
        ({"capabilities": {"dev.ucp.shopping.checkout": {"min": "2026-04-08", "max": "2026-04-08"}}}, True),
        ({"capabilities": {"dev.ucp.shopping.checkout": {"min": "2026-08-25"}}}, False),
        ({"capabilities": {"dev.ucp.shopping.cart": {"min": "2026-04-08"}}}, False),  # not negotiated at all
    ],
)
def test_extension_requirements_are_checked_inclusively(requires: Any, met: bool) -> None:
    """OVR-16: requires.protocol / requires.capabilities min..max (inclusive) against the negotiated versions."""
    assert requirements_met(requires, "2026-04-08", {"dev.ucp.shopping.checkout": "2026-04-08"}) is met
