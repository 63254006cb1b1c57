"""The negotiation matrix: platform 2026-04-08 x merchant release, through the real profile cache over HTTP (issue 15).

The platform always speaks UCP 2026-04-08 to the connector; the connector
picks, per merchant, the highest release both it and the merchant speak
(overview "Initial Service and Capability Discovery"), follows
``supported_versions`` to the version-specific profile when that is the one,
and intersects capabilities at that release. Each row names the chosen
release or the exact refusal code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.discovery import DiscoveryActivities
from activities.types import DiscoverMerchantInput, MerchantProfileSummary
from contracts import ErrorCode, UcpError
from merchants.platform_profile import platform_profile
from tests.fixtures.connector_stack import CONNECTOR_BASE, MERCHANT
from tests.merchants.harness import EdgeMerchant, connector_for, edge_merchant
from tests.merchants.releases.documents import as_2026_01_11, as_2026_04_08, as_2026_08_25

VERSIONED = "/.well-known/ucp/2026-04-08"


def _only(release: str) -> Callable[[EdgeMerchant], dict[str, Any]]:
    shape = {"2026-01-11": as_2026_01_11, "2026-04-08": as_2026_04_08, "2026-08-25": as_2026_08_25}[release]
    return lambda merchant: shape(merchant.profile())


def _current_mapping_older(merchant: EdgeMerchant) -> dict[str, Any]:
    base = merchant.profile()
    merchant.documents[VERSIONED] = as_2026_04_08(base)
    return as_2026_08_25(base, supported={"2026-04-08": merchant.url + VERSIONED})


def _mapping_a_mislabelled_profile(merchant: EdgeMerchant) -> dict[str, Any]:
    document = _current_mapping_older(merchant)
    merchant.documents[VERSIONED] = as_2026_01_11(merchant.profile())  # says 2026-01-11 where 2026-04-08 was promised
    return document


def _future_only(merchant: EdgeMerchant) -> dict[str, Any]:
    document = as_2026_04_08(merchant.profile())
    document["ucp"]["version"] = "2027-03-01"
    return document


MATRIX = [
    # merchant profile, connector's ucp_versions, chosen release or refusal
    ("2026-01-11", _only("2026-01-11"), None, "2026-01-11"),
    ("2026-04-08", _only("2026-04-08"), None, "2026-04-08"),
    ("2026-08-25 + supported_versions->2026-04-08", _current_mapping_older, None, "2026-08-25"),
    (
        "2026-08-25 + supported_versions->2026-04-08, connector 04-08",
        _current_mapping_older,
        ["2026-04-08"],
        "2026-04-08",
    ),
    ("2026-08-25 only", _only("2026-08-25"), None, "2026-08-25"),
    ("2026-08-25 only, connector 04-08", _only("2026-08-25"), ["2026-04-08"], ErrorCode.VERSION_UNSUPPORTED),
    ("2027-03-01 only", _future_only, None, ErrorCode.VERSION_UNSUPPORTED),
    ("versioned profile mislabelled", _mapping_a_mislabelled_profile, ["2026-04-08"], ErrorCode.PROFILE_MALFORMED),
]


@pytest.mark.parametrize(
    ("merchant_speaks", "profile", "connector_speaks", "expected"), MATRIX, ids=[row[0] for row in MATRIX]
)
async def test_platform_2026_04_08_x_merchant_release(
    connector_keys: Any,
    merchant_speaks: str,
    profile: Callable[[EdgeMerchant], dict[str, Any]],
    connector_speaks: list[str] | None,
    expected: str | ErrorCode,
) -> None:
    """OVR-53: capability versions negotiated like the protocol version.
    Issue 15 negotiation matrix: the chosen release, or the exact refusal code."""
    async with edge_merchant(connector_keys) as merchant:
        document = profile(merchant)
        merchant.edit_profile = lambda served: (served.clear(), served.update(document))  # type: ignore[func-returns-value]
        async with connector_for(merchant.url, connector_keys, ucp_versions=connector_speaks) as connector:
            discovery = DiscoveryActivities(
                connector.profiles, lambda merchant_id: platform_profile(CONNECTOR_BASE, connector_keys, merchant_id)
            )
            if isinstance(expected, ErrorCode):
                with pytest.raises(ApplicationError) as caught:
                    await ActivityEnvironment().run(
                        discovery.discover_merchant, DiscoverMerchantInput(merchant_id=MERCHANT)
                    )
                assert caught.value.type == expected.value and caught.value.non_retryable
                return
            summary: MerchantProfileSummary = await ActivityEnvironment().run(
                discovery.discover_merchant, DiscoverMerchantInput(merchant_id=MERCHANT)
            )
            assert summary.version == expected
            assert summary.capabilities["dev.ucp.shopping.checkout"] == expected  # intersected at that release
            assert summary.endpoint == f"{merchant.url}/ucp/v1"
            fetched = (await connector.profiles.get(MERCHANT)).profile_url
            assert fetched.endswith(
                VERSIONED if expected == "2026-04-08" and VERSIONED in merchant.documents else "/.well-known/ucp"
            )


async def test_a_version_specific_profile_may_not_map_further_versions(connector_keys: Any) -> None:
    """overview "Protocol Version": version-specific profiles are leaf documents without supported_versions."""
    async with edge_merchant(connector_keys) as merchant:
        document = _current_mapping_older(merchant)
        merchant.documents[VERSIONED]["ucp"]["supported_versions"] = {"2026-01-11": merchant.url + "/x"}
        merchant.edit_profile = lambda served: (served.clear(), served.update(document))  # type: ignore[func-returns-value]
        async with connector_for(merchant.url, connector_keys, ucp_versions=["2026-04-08"]) as connector:
            with pytest.raises(UcpError) as caught:
                await connector.profiles.get(MERCHANT)
    assert caught.value.code is ErrorCode.PROFILE_MALFORMED
    assert caught.value.detail["reason"] == "versioned_profile_mismatch"
