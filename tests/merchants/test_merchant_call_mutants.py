"""``call_merchant``'s wiring that mutation testing showed untested (docs/spec-coverage.md "Mutation testing").

Same set-up as tests/merchants/test_activity_mapping.py: Temporal's
``ActivityEnvironment`` against the edge merchant on loopback.
"""

from __future__ import annotations

import json

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.merchant import MerchantActivities
from activities.types import CallMerchantInput, MerchantOperation
from contracts import Redactor
from tests.fixtures.connector_stack import CONNECTOR_BASE, MERCHANT
from tests.merchants.conftest import EdgeSetup
from tests.merchants.harness import Reply

SALT = b"s" * 32
SECRET = "refused for jane@example.com"


async def test_the_merchants_refusal_text_is_redacted_with_the_configured_salt(edge: EdgeSetup) -> None:
    """DESIGN invariant 6 (no secrets in logs, audit or history): the activity hands the merchant call the
    operator's redactor, so the merchant's own words in a refusal are redacted with the configured salt (the
    same email hashes the same across processes, and never appears in the clear)."""
    connector = edge.connector
    activities = MerchantActivities(
        connector.http, connector.profiles, connector.keys, CONNECTOR_BASE, redactor=Redactor(SALT)
    )
    body = json.dumps({"code": "invalid", "content": SECRET}).encode()
    edge.merchant.reply = Reply(status=409, body=body)
    request = CallMerchantInput(merchant_id=MERCHANT, operation=MerchantOperation.GET, resource_id="chk_1")
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(activities.call_merchant, request)
    detail = caught.value.details[0]["detail"]
    assert "jane@example.com" not in json.dumps(detail)
    assert detail["merchant_content"] == Redactor(SALT).redact_text(SECRET)


async def test_a_refusal_with_ucp_messages_keeps_no_merchant_words_in_the_clear(edge: EdgeSetup) -> None:
    """DESIGN invariant 6, CHK-07: a 4xx carrying UCP ``messages`` keeps the merchant's first message as
    ``merchant_content`` for the operator; it is redacted like the ``merchant_messages`` beside it, so an e-mail
    the merchant echoes back never reaches the audit trail or the history in the clear."""
    connector = edge.connector
    activities = MerchantActivities(
        connector.http, connector.profiles, connector.keys, CONNECTOR_BASE, redactor=Redactor(SALT)
    )
    message = {"type": "error", "code": "invalid", "content": SECRET, "severity": "recoverable"}
    body = json.dumps({"ucp": {"version": "2026-04-08", "status": "error"}, "messages": [message]}).encode()
    edge.merchant.reply = Reply(status=400, body=body)
    request = CallMerchantInput(merchant_id=MERCHANT, operation=MerchantOperation.GET, resource_id="chk_1")
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(activities.call_merchant, request)
    detail = caught.value.details[0]["detail"]
    assert detail["merchant_code"] == "invalid"
    assert detail["merchant_content"] == Redactor(SALT).redact_text(SECRET)
    assert "jane@example.com" not in json.dumps(detail)
