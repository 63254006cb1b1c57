"""How long each activity may take and how it is retried: one table, used by every activity the workflow runs.

An activity's options are part of the commands the workflow writes to history,
so a change here is a workflow change (README "Changing the workflow"). Why the
figures (DESIGN.md invariants 4-5, README "Failure modes"):

* a merchant call may keep retrying 5xx/429/timeouts for as long as the
  platform can wait for that operation, except ``complete``, which keeps
  trying for a day: its outcome must be learned, never guessed (invariant 4).
  One attempt lasts the session's ``merchant_call_timeout_seconds`` (a crash
  is retried after it); 30 s below is the default a session starts with;
* discovery runs as a local activity: the profile is almost always in the
  worker's cache, so a server round trip (schedule, start, complete) would cost
  more than the work;
* audit/index writes retry forever (nothing audited is ever dropped), and an
  attempt times out after 20 s: answers wait for these writes, so a worker that
  died mid-write must be noticed soon. 20 s covers the store's own connect
  (5 s) and lock (10 s) timeouts; a retry is harmless (idempotent on
  (session, seq));
* a platform notification is given up after 24 h of retries, and audited as failed;
* ``merchant_operation`` (a platform operation's merchant call and its audit
  trail, issue 13) runs first as a local activity with one attempt, so the
  operation finishes in one workflow task; a failure that may pass is retried
  by the same activity as a regular one, with the table's options of that
  merchant operation (``complete``: 24 h, the same outbound key). The local
  attempt lasts at most ``LOCAL_ATTEMPT``: the server cannot see a local
  activity, so a merchant that hangs shows up as a running activity (``session
  show``, the Temporal UI) after seconds, not after a whole attempt.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, TypedDict

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import FailureError

from activities.types import ActivityName, MerchantOperation


class ActivityTimeouts(TypedDict):
    """The keyword arguments ``execute_activity`` and ``execute_local_activity`` both take."""

    start_to_close_timeout: dt.timedelta
    schedule_to_close_timeout: dt.timedelta | None
    retry_policy: RetryPolicy


@dataclass(frozen=True)
class ActivityOptions:
    attempt: dt.timedelta  # start_to_close of one attempt
    retry: RetryPolicy
    deadline: dt.timedelta | None = None  # schedule_to_close: all attempts together
    local: bool = False  # run in the workflow's worker, without a server round trip

    def timeouts(self, attempt: dt.timedelta | None = None) -> ActivityTimeouts:
        return {
            "start_to_close_timeout": attempt or self.attempt,
            "schedule_to_close_timeout": self.deadline,
            "retry_policy": self.retry,
        }


def _backoff(initial: float, maximum: dt.timedelta) -> RetryPolicy:
    return RetryPolicy(
        initial_interval=dt.timedelta(seconds=initial), backoff_coefficient=2.0, maximum_interval=maximum
    )


_MERCHANT_RETRY: Final = _backoff(1, dt.timedelta(seconds=30))
_SECOND: Final = dt.timedelta(seconds=1)
_MINUTE: Final = dt.timedelta(minutes=1)
_DAY: Final = dt.timedelta(hours=24)
LOCAL_ATTEMPT: Final = dt.timedelta(seconds=5)


def _merchant_call(deadline: dt.timedelta) -> ActivityOptions:
    return ActivityOptions(attempt=30 * _SECOND, retry=_MERCHANT_RETRY, deadline=deadline)


# (activity, merchant operation for call_merchant) -> options
ACTIVITY_OPTIONS: Final[Mapping[tuple[ActivityName, MerchantOperation | None], ActivityOptions]] = {
    (ActivityName.DISCOVER_MERCHANT, None): ActivityOptions(20 * _SECOND, _MERCHANT_RETRY, _MINUTE, local=True),
    (ActivityName.CALL_MERCHANT, MerchantOperation.CREATE): _merchant_call(2 * _MINUTE),
    (ActivityName.CALL_MERCHANT, MerchantOperation.UPDATE): _merchant_call(2 * _MINUTE),
    (ActivityName.CALL_MERCHANT, MerchantOperation.CANCEL): _merchant_call(5 * _MINUTE),
    (ActivityName.CALL_MERCHANT, MerchantOperation.COMPLETE): _merchant_call(_DAY),
    (ActivityName.CALL_MERCHANT, MerchantOperation.GET): _merchant_call(_MINUTE),
    (ActivityName.CALL_MERCHANT, MerchantOperation.GET_ORDER): _merchant_call(_MINUTE),
    (ActivityName.WRITE_BATCH, None): ActivityOptions(20 * _SECOND, _backoff(1, _MINUTE)),
    (ActivityName.NOTIFY_PLATFORM, None): ActivityOptions(30 * _SECOND, _backoff(2, 10 * _MINUTE), _DAY),
}


async def execute(
    name: ActivityName,
    arg: Any,
    *,
    summary: str,
    operation: MerchantOperation | None = None,
    attempt: dt.timedelta | None = None,
    result_type: type | None = None,
) -> Any:
    """Run activity ``name`` with its options from the table (``attempt`` overrides one attempt's timeout)."""
    options = ACTIVITY_OPTIONS[(name, operation)]
    if options.local:
        return await workflow.execute_local_activity(
            name, arg, summary=summary, result_type=result_type, **options.timeouts(attempt)
        )
    return await workflow.execute_activity(
        name, arg, summary=summary, result_type=result_type, **options.timeouts(attempt)
    )


async def execute_operation(
    arg: Any,
    *,
    operation: MerchantOperation,
    attempt: dt.timedelta,
    local_attempt: dt.timedelta = LOCAL_ATTEMPT,
    summary: str,
    result_type: type,
) -> Any:
    """``merchant_operation``: one local attempt, then the regular activity with the long retry policy.

    A final failure comes back as a value, so only a failure that may pass
    raises here and is retried; the fallback's own final failure is raised to the caller.
    """
    try:
        return await workflow.execute_local_activity(
            ActivityName.MERCHANT_OPERATION,
            arg,
            summary=summary,
            result_type=result_type,
            start_to_close_timeout=min(attempt, local_attempt),
            retry_policy=RetryPolicy(maximum_attempts=1),
        )
    except FailureError:  # a local activity's failure arrives as its cause (ApplicationError, TimeoutError)
        pass
    options = ACTIVITY_OPTIONS[(ActivityName.CALL_MERCHANT, operation)]
    return await workflow.execute_activity(
        ActivityName.MERCHANT_OPERATION,
        arg,
        summary=summary,
        result_type=result_type,
        **options.timeouts(attempt),
    )
