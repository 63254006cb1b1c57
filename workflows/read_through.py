"""When a platform's GET reads the merchant through, and when it is answered from the workflow's state (issue 11.1).

While a session waits on its buyer (``requires_escalation``: the buyer is on
the merchant's ``continue_url`` page, CHK-03) or on an outcome
(``complete_in_progress``, or a complete whose outcome is unknown), what the
workflow last heard from the merchant goes stale without the workflow knowing:
the buyer's hand-off happens at the merchant. So a GET then asks the merchant
(``read_checkout`` Update, a signed and audited merchant GET), bounded and
coalesced so that a polling platform cannot flood the merchant:

* at most one merchant read per :data:`READ_INTERVAL` per session, whatever
  the number of GETs, API replicas or platforms' threads;
* never while another merchant call of the session runs (an operation's own
  answer is fresher, and two calls must not race: a read taken before a
  complete must not land after it);
* refused in the Update's *validator*, so a refused read writes nothing to the
  history; the API then answers from the Query. Concurrent GETs in one API
  process share one Update (``api.gateway``).

Assumption (the spec is silent on how often a platform may poll): 5 s keeps a
waiting buyer's page and the platform in step without hammering the merchant.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from contracts import ErrorCode, UcpError
from contracts.ucp import CheckoutStatus

READ_INTERVAL: Final = dt.timedelta(seconds=5)
WAITING: Final = frozenset({CheckoutStatus.REQUIRES_ESCALATION.value, CheckoutStatus.COMPLETE_IN_PROGRESS.value})


def waiting_on_merchant(status: str | None, outcome_unknown: bool = False) -> bool:
    """The session waits on something that happens at the merchant: its buyer, or a complete's outcome."""
    return status in WAITING or outcome_unknown


def refusal(
    status: str | None,
    outcome_unknown: bool,
    last_read: dt.datetime | None,
    now: dt.datetime,
    *,
    merchant_busy: bool,
) -> UcpError | None:
    """Why a GET is answered from the workflow's state instead of a merchant read (``None``: read through)."""
    if not waiting_on_merchant(status, outcome_unknown):
        return UcpError(
            "the session is not waiting on its merchant; its state is current",
            code=ErrorCode.TRANSITION_INVALID,
            detail={"status": str(status)},
        )
    if merchant_busy:
        return UcpError("a merchant call of this session is running", code=ErrorCode.RATE_LIMITED, retry_after=1)
    if last_read is not None and now - last_read < READ_INTERVAL:
        wait = max(1, int((READ_INTERVAL - (now - last_read)).total_seconds()))
        return UcpError("the merchant was read moments ago", code=ErrorCode.RATE_LIMITED, retry_after=wait)
    return None
