"""``merchant_operation``: call the merchant for a platform operation and store its audit trail, in one activity.

Issue 13: an operation used to be three workflow tasks, a merchant activity and
a storage activity in series. The workflow now runs this activity first as a
*local* activity (no server round trip) and answers the platform in the same
workflow task; the records it stores before returning are those the workflow
decides (``activities/records.py``), in one transaction (``storage/batch.py``),
so an answer is still never ahead of its audit trail (DESIGN.md invariant 7).

* A retryable failure (5xx, 429, timeout, a storage outage) is raised: nothing
  was stored, and the workflow falls back to this same activity as a regular
  one with the operation's long retry policy — a complete keeps retrying for
  24 h with the *same* outbound ``Idempotency-Key`` (invariant 4: the input
  carries it).
* A final failure (a 4xx, a bad signature, an invalid answer) is an outcome:
  its records are stored and it is returned as a value.
* A retry after the records were stored (a worker killed before the workflow
  task completed) writes nothing twice: the write is idempotent on
  (session, seq, action), and when the merchant's replayed answer to the same
  call differs slightly from the first, the stored rows stay the record
  (``keep_stored``).
* Records offered where a lost workflow task's rows stand (another operation
  than the lost one) go after them (``adopt_orphans``, ``storage/orphans.py``);
  the result's ``written`` says how far, and the workflow numbers on from there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import records
from activities.audit import batch_written
from activities.errors import decode_failure
from activities.types import (
    ActivityName,
    AuditRecord,
    CallMerchantInput,
    MerchantOperationInput,
    MerchantOperationResult,
    MerchantReply,
    OperationFailure,
    StorageWrite,
)
from contracts import canonical_json, content_digest
from storage.audit import AuditEvent

Call = Callable[[CallMerchantInput], Awaitable[MerchantReply]]
Write = Callable[[Sequence[StorageWrite]], Awaitable[Sequence[AuditEvent]]]


class OperationActivities:
    def __init__(self, call: Call, write: Write) -> None:
        self._call = call
        self._write = write

    @activity.defn(name=ActivityName.MERCHANT_OPERATION)
    async def merchant_operation(self, request: MerchantOperationInput) -> MerchantOperationResult:
        call, context = request.call, request.context
        digest = None if call.body is None else content_digest(canonical_json(call.body))
        outcome: MerchantReply | OperationFailure
        try:
            outcome = await self._call(call)
        except ApplicationError as error:
            failure = decode_failure(error)
            if not error.non_retryable or failure is None:
                raise  # nothing stored: retried here or by the workflow's fallback
            outcome = records.from_error(failure)
        derived = records.operation_records(context, call.operation.value, call.idempotency_key, digest, outcome)
        items = [*context.prelude, *derived]
        stored = await self._write(items)
        audits = [item.seq for item in items if isinstance(item, AuditRecord)]
        written = batch_written(items, stored)
        return MerchantOperationResult(
            reply=outcome if isinstance(outcome, MerchantReply) else None,
            failure=outcome if isinstance(outcome, OperationFailure) else None,
            request_digest=digest,
            written_through=max(audits, default=context.next_seq - 1) + (written.shift if written else 0),
            written=written,
        )
