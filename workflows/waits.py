"""How the run loop waits: for a change of the session, a timer, or a continuation falling due.

Kept apart from the workflow class so the rule that saves history events stays
visible: a wait whose ``unless`` says a change leaves it where it is keeps its
timer, instead of cancelling and starting one again (two events, issue 13).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable

from temporalio import workflow


async def changed_within(
    changes: Callable[[], int],
    within: dt.timedelta,
    *,
    stop: Callable[[], bool],
    unless: Callable[[], bool] | None = None,
) -> bool:
    """True if ``changes()`` moved (or ``stop()`` held) within ``within``, False once it ran out.

    A change for which ``unless()`` holds does not count: the wait, and its timer, go on.
    """
    if within <= dt.timedelta(0):
        return False
    seen = changes()

    def changed() -> bool:
        return changes() != seen and not (unless is not None and unless())

    try:
        await workflow.wait_condition(lambda: changed() or stop(), timeout=within)
    except TimeoutError:
        return False
    return True


def continue_as_new_due(after_events: int) -> bool:
    """The server suggests it, or the run's history passed the session's bound."""
    info = workflow.info()
    return info.is_continue_as_new_suggested() or info.get_current_history_length() > after_events


async def arrived_within(arrived: Callable[[], bool], within: dt.timedelta) -> bool:
    """Whether ``arrived()`` holds within ``within``.

    When it holds before the workflow task ends (a create that came with the start), the timer is
    started and cancelled in the same task and never reaches the server: no history event.
    """
    with contextlib.suppress(TimeoutError):
        await workflow.wait_condition(arrived, timeout=within)
    return arrived()
