"""UI text (summaries, details, the metadata query) stays readable; every other payload is encrypted (invariant 6).

Issue 16, item 1: summaries passed through the encrypting codec and the Temporal
UI showed "Decoding failed". These tests fail on the old converter, which
encrypted every payload alike.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Callable
from typing import Any

from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.converter import ActivitySerializationContext, WorkflowSerializationContext

from activities.audit import StorageActivities
from activities.discovery import DiscoveryActivities
from activities.merchant import MerchantActivities
from activities.notify import NotifyActivities
from activities.operation import OperationActivities
from activities.types import ActivityName
from core.temporal.client import data_converter
from core.temporal.codec import ENCODING, WORKFLOW_ID_METADATA, EncryptionCodec, PayloadDecryptionError, PayloadKeyring
from core.temporal.ui_metadata import UI_TEXT_METADATA, is_ui_text
from workflows.checkout import CheckoutSessionWorkflow
from workflows.types import OperationRequest

WORKFLOW_ID = "checkout/agent/cs_0123456789abcdef0123456789abcdef"


async def test_a_summary_is_plain_marked_json_and_data_is_encrypted() -> None:
    converter = data_converter(PayloadKeyring.generate())
    data = OperationRequest(idempotency_key="k" * 22, body_digest="sha-256=:x:", body={"buyer": {"email": "j@x.io"}})
    summary, encrypted = await converter.encode(["complete_checkout at shoes", data])
    assert summary.metadata["encoding"] == b"json/plain" and summary.metadata[UI_TEXT_METADATA] == b"plain"
    assert json.loads(summary.data) == "complete_checkout at shoes"
    assert encrypted.metadata["encoding"] == ENCODING and UI_TEXT_METADATA not in encrypted.metadata
    assert b"j@x.io" not in encrypted.SerializeToString()
    assert await converter.decode([summary, encrypted], [str, OperationRequest]) == ["complete_checkout at shoes", data]


async def test_ui_text_is_scrubbed_before_it_is_written_in_the_clear() -> None:
    """A summary is never meant to carry secrets; if one slips in, it is masked, not stored readable."""
    converter = data_converter(PayloadKeyring.generate())
    leaky = "pay 4111 1111 1111 1111 for jane@example.com (+1 415 555 0100) Bearer abcdefghijklmnop"
    [payload] = await converter.encode([leaky])
    text = json.loads(payload.data)
    for secret in ("4111 1111", "jane@example.com", "555 0100", "abcdefghijklmnop"):
        assert secret not in text
    assert "[pan ****1111]" in text and "email:" in text


async def test_the_workflow_metadata_query_answer_is_readable() -> None:
    """The UI's "current details" come from the ``__temporal_workflow_metadata`` query."""
    converter = data_converter(PayloadKeyring.generate())
    metadata = WorkflowMetadata(current_details="waiting for the merchant (attempt 3)")
    [payload] = await converter.encode([metadata])
    assert is_ui_text(payload) and payload.metadata["encoding"] == b"json/protobuf"
    assert json.loads(payload.data)["currentDetails"] == "waiting for the merchant (attempt 3)"


async def test_a_string_enum_or_a_list_of_strings_is_data_not_ui_text() -> None:
    converter = data_converter(PayloadKeyring.generate())
    payloads = await converter.encode([["tok_1"], {"token": "tok_2"}, b"raw", None])
    assert all(not is_ui_text(payload) for payload in payloads)
    assert all(payload.metadata["encoding"] == ENCODING for payload in payloads)


async def test_the_codec_ignores_a_mark_on_an_encoding_that_is_not_json() -> None:
    codec = EncryptionCodec(PayloadKeyring.generate())
    forged = Payload(metadata={"encoding": b"binary/plain", UI_TEXT_METADATA: b"plain"}, data=b"tok_live")
    [encoded] = await codec.encode([forged])
    assert encoded.metadata["encoding"] == ENCODING and b"tok_live" not in encoded.data


async def test_payloads_written_for_a_workflow_name_it_and_the_name_is_authenticated() -> None:
    """The codec server reports which workflow an operator decoded from this binding (issue 16, item 1)."""
    codec = EncryptionCodec(PayloadKeyring.generate())
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'{"a":1}')
    for context in (
        WorkflowSerializationContext(namespace="default", workflow_id=WORKFLOW_ID),
        ActivitySerializationContext(
            namespace="default",
            activity_id="1",
            activity_type="call_merchant",
            activity_task_queue="q",
            workflow_id=WORKFLOW_ID,
            workflow_type="CheckoutSession",
            is_local=False,
        ),
    ):
        [bound] = await codec.with_context(context).encode([plain])
        assert bound.metadata[WORKFLOW_ID_METADATA] == WORKFLOW_ID.encode()
        assert await codec.decode([bound]) == [plain]  # any codec instance decrypts: the id travels with it
        relabelled = Payload(metadata={**bound.metadata, WORKFLOW_ID_METADATA: b"checkout/other/cs_x"}, data=bound.data)
        try:
            await codec.decode([relabelled])
        except PayloadDecryptionError:
            pass
        else:
            raise AssertionError("a payload relabelled to another workflow decrypted")
    [unbound] = await codec.encode([plain])  # no context: the format of every earlier history
    assert WORKFLOW_ID_METADATA not in unbound.metadata and await codec.decode([unbound]) == [plain]


def _mentions_bare_str(hint: Any) -> bool:
    if hint is str:
        return True
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return any(_mentions_bare_str(arg) for arg in typing.get_args(hint))
    return False


def _bare_str_slots(fn: Callable[..., Any]) -> list[str]:
    hints = typing.get_type_hints(fn)
    return [f"{fn.__qualname__}:{name}" for name, hint in hints.items() if _mentions_bare_str(hint)]


def test_nothing_the_connector_sends_through_temporal_is_a_bare_string() -> None:
    """The converter treats a bare ``str`` as UI text; so no workflow or activity argument or result may be one."""
    definition = workflow._Definition.must_from_class(CheckoutSessionWorkflow)
    handlers: list[Callable[..., Any]] = [definition.run_fn]
    handlers += [signal.fn for signal in definition.signals.values()]
    handlers += [query.fn for query in definition.queries.values()]
    handlers += [update.fn for update in definition.updates.values()]
    activities = [
        MerchantActivities.call_merchant,
        OperationActivities.merchant_operation,
        DiscoveryActivities.discover_merchant,
        StorageActivities.write_batch,
        NotifyActivities.notify_platform,
    ]
    defined = {definition.name for fn in activities if (definition := activity._Definition.from_callable(fn))}
    assert defined == {name.value for name in ActivityName}, "a new activity: add it to this list"
    slots = [slot for fn in handlers + activities for slot in _bare_str_slots(fn)]
    assert len(handlers) > 3 and slots == [], slots
