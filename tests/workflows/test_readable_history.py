"""What Temporal stores of a checkout: readable summaries, ciphertext for everything else (invariant 6, issue 16.1).

A checkout with a buyer e-mail, a shipping address and a payment token runs on
real Temporal with the real worker and merchant; then every payload in its
history is located. The summaries and details the UI shows are plain, marked
JSON that names operations, merchant and session — and none of the buyer's
data or the credential; every other payload (inputs, results, update
arguments, query answers) is ``binary/encrypted``. On the old converter the
summaries were encrypted too (the UI's "Decoding failed").
"""

from __future__ import annotations

import json

from temporalio.api.common.v1 import Payload

from core.temporal.codec import ENCODING, WORKFLOW_ID_METADATA
from core.temporal.ui_metadata import is_ui_text
from tests.fixtures.connector_stack import ConnectorStack, payment_body, ready_body
from tests.fixtures.history_payloads import payloads_in
from workflows.types import Operation

TOKEN = "tok_visa_ok"
CORE_MARKER_DATA = (
    "marker_recorded_event_attributes.details.data.",
    "marker_recorded_event_attributes.details.patch-data.",
)
SECRETS = (TOKEN, "jane@example.com", "123 Main St", "Springfield")


def _text(payload: Payload) -> str:
    return payload.data.decode(errors="replace")


async def test_summaries_are_readable_and_carry_no_secret_while_data_stays_encrypted(stack: ConnectorStack) -> None:
    session_id, created = await stack.create(ready_body())
    assert created.body["status"] == "ready_for_complete", created.body
    completed = await stack.operate(session_id, Operation.COMPLETE, payment_body(TOKEN))
    assert completed.body["status"] == "completed", completed.body
    handle = stack.handle(session_id)
    await handle.query("view")  # a query answer is data too: it must be encrypted like the rest
    history = await handle.fetch_history()

    # The SDK core's own marker bookkeeping (a patch id; a local activity's seq, attempt and times) is
    # written beside the codec; the local activity's *result* in the same marker goes through it.
    located = [
        found for event in history.events for found in payloads_in(event) if not found.path.startswith(CORE_MARKER_DATA)
    ]
    shown = [found for found in located if found.in_user_metadata]
    data = [found for found in located if not found.in_user_metadata and not found.in_search_attributes]
    summaries = [json.loads(found.payload.data) for found in shown]
    assert any(text.startswith(f"Checkout {session_id}") for text in summaries), summaries
    assert any("complete_checkout at shop" in text for text in summaries), summaries
    assert all(is_ui_text(found.payload) for found in shown), [found.path for found in shown]
    for text in summaries:
        assert not any(secret in text for secret in SECRETS), text

    assert len(data) > 5, "inputs, results and update arguments are in the history"
    plain = [found.path for found in data if found.payload.metadata.get("encoding") != ENCODING]
    assert plain == [], f"payloads stored in the clear outside the UI metadata: {plain}"
    for found in data:
        assert not any(secret in _text(found.payload) for secret in SECRETS), found.path
        assert found.payload.metadata[WORKFLOW_ID_METADATA] == handle.id.encode(), found.path
