"""Logs of a real checkout: JSON lines that carry the session, and no secret anywhere (DESIGN.md invariant 6).

The production chain (``core.logging.configure_logging``) at DEBUG,
writing into memory, while a platform drives a checkout through the real stack
(API, worker, Temporal dev server, reference merchant) whose requests carry a
payment token, the buyer's e-mail and phone number and a PAN-like card number.
Besides what the stack logs by itself, the test writes those values through
each way a line can enter the chain -- a structlog event, a library's stdlib
record with ``extra``, an exception's traceback -- from inside the request's
bound context, and checks that the redactor caught every one (PAY-01, PAY-06).
An opaque token is recognisable only by its field name (contracts/redaction.py
rule 2), so the free-text paths carry the PAN, e-mail and phone, and the token
travels as a field.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import structlog
from temporalio.testing import WorkflowEnvironment

from tests.e2e.conftest import MERCHANT, running_connector
from tests.fixtures.connector_stack import payment_body, ready_body
from tests.observability.conftest import CapturedLogs

pytestmark = pytest.mark.e2e

BASE = f"/merchants/{MERCHANT}/checkout-sessions"
TOKEN = "tok_live_Zq81xWm4SECRETvalue"
EMAIL = "jane.doe.7781@example.com"
PHONE = "+14155550199"
PAN = "4111 1111 1111 1111"
SECRETS = (TOKEN, EMAIL, PHONE, PAN, PAN.replace(" ", ""), "jane.doe.7781")


def _lines(text: str) -> list[dict[str, Any]]:
    lines = [line for line in text.splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all(isinstance(entry, dict) for entry in parsed)
    return parsed


def _emit_through_every_path(session_id: str) -> None:
    """What a careless call site could write: secrets as fields, in a library's message and extra, in a traceback."""
    with structlog.contextvars.bound_contextvars(session_id=session_id):
        structlog.get_logger("ucp_connector.activities.merchant").info(
            "careless", credential={"type": "card", "number": PAN}, token=TOKEN, buyer={"email": EMAIL}, note=PHONE
        )
        logging.getLogger("temporalio.activity").warning(
            "retrying for %s with card %s", EMAIL, PAN, extra={"token": TOKEN, "phone_number": PHONE}
        )
        try:
            raise ValueError(f"merchant said: card {PAN} of {EMAIL} ({PHONE}) declined")
        except ValueError:
            structlog.get_logger("ucp_connector.api").exception("unexpected", session_id=session_id)


async def test_a_checkout_logs_json_with_session_ids_and_no_secret(
    dev_server_env: WorkflowEnvironment, tmp_path: Path, captured_logs: CapturedLogs
) -> None:
    """JSON lines carry session_id (API access line, activity lines); token, e-mail, phone and PAN never appear.

    The PAN goes in a complete that the API refuses (raw card credentials are
    forbidden), so the refusal's own log and audit path is covered too.
    """
    body = ready_body()
    body["buyer"] = {**body["buyer"], "email": EMAIL, "phone_number": PHONE}
    payment = payment_body(token=TOKEN)
    too_much = payment_body(token=TOKEN)
    too_much["payment"]["instruments"][0]["credential"]["number"] = PAN  # a platform that sends too much
    async with running_connector(dev_server_env, tmp_path) as stack:
        created = await stack.call(stack.alpha, "POST", BASE, body)
        assert created.status_code == 201, created.text
        session_id = created.json()["id"]
        refused = await stack.call(stack.alpha, "POST", f"{BASE}/{session_id}/complete", too_much)
        assert refused.status_code == 400 and refused.json()["code"] == "payment_credential_forbidden", refused.text
        completed = await stack.call(stack.alpha, "POST", f"{BASE}/{session_id}/complete", payment)
        assert completed.status_code == 200 and completed.json()["status"] == "completed", completed.text
        _emit_through_every_path(session_id)

    text = captured_logs.text
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} reached a log line"
    lines = _lines(text)

    access = [line for line in lines if line["event"] == "http.request" and line.get("session_id") == session_id]
    assert {line["route"] for line in access} >= {
        "/merchants/{merchant_id}/checkout-sessions",
        "/merchants/{merchant_id}/checkout-sessions/{session_id}/complete",
    }
    assert all(line["platform_id"] == "alpha" and line["status"] < 500 and "duration_ms" in line for line in access)
    assert all(line["request_id"].startswith("req_") and line["method"] == "POST" for line in access)
    merchant_calls = [line for line in lines if line["event"] == "merchant.call"]
    assert {line["operation"] for line in merchant_calls} >= {"create_checkout", "complete_checkout"}
    assert all(
        line["session_id"] == session_id and line["workflow_id"].endswith(session_id) and line["attempt"] >= 1
        for line in merchant_calls
    )

    # The redactor, not luck, kept them out: each path shows its mask or hash.
    careless = next(line for line in lines if line["event"] == "careless")
    assert careless["credential"] == {"type": "card", "redacted": True} and careless["token"] == "[redacted]"
    assert careless["buyer"]["email"].startswith("email:") and careless["note"].startswith("phone:")
    library = next(line for line in lines if line["logger"] == "temporalio.activity" and "retrying" in line["event"])
    assert "[pan ****1111]" in library["event"] and library["token"] == "[redacted]"
    assert library["phone_number"].startswith("phone:")
    assert library["session_id"] == session_id
    failure = next(line for line in lines if line["event"] == "unexpected")
    assert "ValueError" in failure["exception"] and "[pan ****1111]" in failure["exception"]
