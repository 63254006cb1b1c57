"""The thin activities: ``call_merchant`` and ``discover_merchant`` hand the workflow exactly what they used to.

Run in Temporal's ``ActivityEnvironment`` (a real activity context) against the
edge merchant on loopback. What is pinned is what crosses into history: the
``ApplicationError``'s ``type`` (frozen code), ``non_retryable``,
``next_retry_delay`` and ``details[0]`` (the error body), and the reply model.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.discovery import DiscoveryActivities
from activities.merchant import MerchantActivities
from activities.types import (
    CallMerchantInput,
    DiscoverMerchantInput,
    MerchantOperation,
    MerchantProfileSummary,
    MerchantReply,
)
from contracts import SigningKey, content_digest
from merchants.platform_profile import platform_profile
from tests.fixtures.connector_stack import CONNECTOR_BASE, MERCHANT
from tests.merchants.conftest import EdgeSetup
from tests.merchants.harness import Reply


def _activities(edge: EdgeSetup) -> MerchantActivities:
    connector = edge.connector
    return MerchantActivities(connector.http, connector.profiles, connector.keys, CONNECTOR_BASE)


async def _call(edge: EdgeSetup, operation: MerchantOperation = MerchantOperation.GET, **fields: Any) -> MerchantReply:
    request = CallMerchantInput(merchant_id=MERCHANT, operation=operation, resource_id="chk_1", **fields)
    reply: MerchantReply = await ActivityEnvironment().run(_activities(edge).call_merchant, request)
    return reply


async def _failure(edge: EdgeSetup) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        await _call(edge)
    return caught.value


async def test_a_verified_answer_becomes_the_merchant_reply(edge: EdgeSetup) -> None:
    reply = await _call(edge, MerchantOperation.UPDATE, body={"line_items": []}, idempotency_key="k-1")
    assert reply.status_code == 200 and reply.body["id"] == "chk_1"
    assert reply.response_digest == content_digest(edge.merchant.reply.body)
    assert reply.signed_by == edge.merchant.signer.kid
    assert edge.merchant.received[-1].method == "PUT"


async def test_a_retryable_failure_carries_its_code_and_the_merchants_delay(edge: EdgeSetup) -> None:
    """TRN-10: 503 + Retry-After -> retryable merchant_unavailable with next_retry_delay."""
    edge.merchant.reply = Reply(status=503, body=b"", headers={"Retry-After": "7"}, signed=False)
    failure = await _failure(edge)
    assert failure.type == "merchant_unavailable" and not failure.non_retryable
    assert failure.next_retry_delay == dt.timedelta(seconds=7)
    assert failure.details[0] == {
        "code": "merchant_unavailable",
        "content": "merchant answered HTTP 503",
        "detail": {"http_status": 503},
    }


async def test_a_final_failure_is_non_retryable_with_the_signature_detail(edge: EdgeSetup) -> None:
    edge.merchant.reply = Reply(tamper=True)
    failure = await _failure(edge)
    assert failure.type == "merchant_signature_invalid" and failure.non_retryable
    assert failure.next_retry_delay is None
    body = failure.details[0]
    assert body["code"] == "merchant_signature_invalid" and body["content"].startswith(
        "merchant response signature rejected: "
    )
    assert body["detail"] == {"reason": "mismatch", "signature_code": "digest_mismatch"}


async def test_an_unreadable_profile_is_retried_while_unreachable(edge: EdgeSetup) -> None:
    edge.merchant.profile_status = 503
    failure = await _failure(edge)
    assert failure.type == "profile_unreachable" and not failure.non_retryable
    assert failure.details[0]["detail"] == {"merchant_id": MERCHANT, "http_status": 503}


async def test_a_profile_down_during_a_key_refresh_is_a_frozen_retryable_code(edge: EdgeSetup) -> None:
    """SIG-09 + OVR-39: the refresh's failure reaches the workflow as profile_unreachable, retryable.

    (Before merchants/ the refresh's UcpError escaped the activity untyped: Temporal named it "UcpError".)
    """
    await _call(edge)
    edge.merchant.signer = SigningKey.generate()
    edge.merchant.profile_status = 503
    failure = await _failure(edge)
    assert failure.type == "profile_unreachable" and not failure.non_retryable


def _discovery(edge: EdgeSetup) -> DiscoveryActivities:
    connector = edge.connector
    return DiscoveryActivities(
        connector.profiles, lambda merchant_id: platform_profile(CONNECTOR_BASE, connector.keys, merchant_id)
    )


async def _discover(edge: EdgeSetup, merchant_id: str = MERCHANT) -> MerchantProfileSummary:
    summary: MerchantProfileSummary = await ActivityEnvironment().run(
        _discovery(edge).discover_merchant, DiscoverMerchantInput(merchant_id=merchant_id)
    )
    return summary


async def test_discovery_negotiates_version_and_capabilities(edge: EdgeSetup) -> None:
    """OVR-01, OVR-46: the summary the workflow keeps."""
    summary = await _discover(edge)
    assert summary.version == "2026-04-08" and summary.endpoint == f"{edge.merchant.url}/ucp/v1"
    assert summary.capabilities["dev.ucp.shopping.checkout"] == "2026-04-08"
    assert summary.profile_url == f"{edge.merchant.url}/.well-known/ucp"

    with pytest.raises(ApplicationError) as unknown:
        await _discover(edge, "nope")
    assert unknown.value.type == "not_found" and unknown.value.non_retryable


def _older_release(document: dict[str, Any]) -> None:
    document["ucp"]["version"] = "2026-01-11"


def _no_checkout(document: dict[str, Any]) -> None:
    capabilities = document["ucp"]["capabilities"]
    document["ucp"]["capabilities"] = {"dev.ucp.shopping.order": capabilities["dev.ucp.shopping.order"]}


@pytest.mark.parametrize(
    ("edit", "code", "detail"),
    [
        (_older_release, "version_unsupported", {"merchant_version": "2026-01-11"}),
        (_no_checkout, "capabilities_incompatible", {"rejected": []}),
    ],
)
async def test_negotiation_failures_are_final(
    edge: EdgeSetup, edit: Callable[[dict[str, Any]], None], code: str, detail: dict[str, Any]
) -> None:
    """OVR-44, OVR-46: an unsupported version or no shared checkout never improves with a retry."""
    edge.merchant.edit_profile = edit
    with pytest.raises(ApplicationError) as caught:
        await _discover(edge)
    assert caught.value.type == code and caught.value.non_retryable
    assert caught.value.details[0]["detail"] == detail


async def test_an_unreachable_profile_during_discovery_is_retried(edge: EdgeSetup) -> None:
    edge.merchant.profile_status = 502
    with pytest.raises(ApplicationError) as caught:
        await _discover(edge)
    assert caught.value.type == "profile_unreachable" and not caught.value.non_retryable
