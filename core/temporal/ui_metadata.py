"""The text the Temporal UI shows without a codec server: summaries, details, the workflow metadata query.

Why this exists
---------------
Temporal sends a workflow's static summary and details, every activity's and
timer's summary, and the answer of the built-in ``__temporal_workflow_metadata``
query (its *current details*) through the same data converter as inputs and
results — payload converter first, then the payload codec (temporalio 1.35:
``client._helpers._encode_user_metadata`` calls ``DataConverter.encode``; in a
workflow ``_WorkflowInstanceImpl`` calls ``payload_converter.to_payload(summary)``
and ``bridge.worker.encode_completion`` then visits ``UserMetadata`` with the
codec). Under the encrypting codec they were stored ``binary/encrypted`` and the
UI showed "Decoding failed".

The codec receives bare payloads with no hint of what they are, so the one
place that can tell UI text from data is the payload converter, which still
sees the Python value:

* a value whose type is exactly ``str`` is UI text. Nothing else the connector
  sends through Temporal is a bare string: every workflow, update, signal,
  query and activity takes and returns a model (``workflows/types.py``,
  ``activities/types.py``), and errors carry a dict
  (``activities/errors.py``) — ``tests/core/test_ui_metadata.py`` checks those
  signatures, so a bare-string argument cannot slip in unnoticed;
* a ``WorkflowMetadata`` message is the metadata query's answer (names of the
  workflow's handlers and its current details).

Both are written as ordinary ``json/plain`` / ``json/protobuf`` payloads with
one extra metadata entry, :data:`UI_TEXT_METADATA`, which the codec
(``core.temporal.codec``) honours by leaving the payload as it is; every other
payload is still encrypted. Summaries never carry secrets by construction
(operation names, merchant and session ids); as a second line of defence the
text is scrubbed with ``contracts.Redactor`` — PAN-like digit runs masked,
e-mail addresses and phone numbers replaced by hashes, bearer tokens and JWTs
removed — before it is written.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any, Final

from temporalio.api.common.v1 import Payload
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.contrib.pydantic import PydanticPayloadConverter

from contracts import Redactor

UI_TEXT_METADATA: Final = "ucp-ui-text"
UI_TEXT_MARK: Final = b"plain"
UI_TEXT_ENCODINGS: Final = frozenset({b"json/plain", b"json/protobuf"})

# Salt of the hashes an e-mail or phone number would become in UI text. Random per process on purpose:
# such a hash in a summary is a bug being contained, not data anyone should correlate. Made at import
# time, outside any workflow sandbox.
_SCRUB: Final = Redactor(secrets.token_bytes(32))


def is_ui_text(payload: Payload) -> bool:
    """Whether ``payload`` is UI text the converter marked (and so stays readable in Temporal)."""
    return (
        payload.metadata.get(UI_TEXT_METADATA) == UI_TEXT_MARK and payload.metadata.get("encoding") in UI_TEXT_ENCODINGS
    )


def scrub(text: str) -> str:
    """UI text with anything that looks like a secret or a buyer's contact data taken out."""
    return _SCRUB.redact_text(text)


class ConnectorPayloadConverter(PydanticPayloadConverter):
    """Pydantic JSON for data (encrypted by the codec); marked, scrubbed plain JSON for UI text.

    A nullary subclass, as ``DataConverter.payload_converter_class`` requires.
    """

    def to_payloads(self, values: Sequence[Any]) -> list[Payload]:
        payloads = super().to_payloads([_scrubbed(value) for value in values])
        for value, payload in zip(values, payloads, strict=True):
            if type(value) is str or isinstance(value, WorkflowMetadata):
                payload.metadata[UI_TEXT_METADATA] = UI_TEXT_MARK
        return payloads


def _scrubbed(value: Any) -> Any:
    if type(value) is str:
        return scrub(value)
    if isinstance(value, WorkflowMetadata) and value.current_details:
        copy = WorkflowMetadata()
        copy.CopyFrom(value)
        copy.current_details = scrub(value.current_details)
        return copy
    return value
