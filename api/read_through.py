"""A session GET's read of the merchant through the session's workflow: single flight, bounded.

While a session waits on its buyer or on an outcome, a GET asks the workflow to
read the merchant's checkout (the ``read_checkout`` Update; the workflow itself
refuses a read made moments ago or while a merchant call runs, so a polling
platform cannot flood the merchant: ``workflows.read_through``). Concurrent GETs
of one session in this process share one such read, and any refusal, delay or
failure of it leaves the answer to the Query.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid

from temporalio.client import Client

from contracts import update_id
from workflows.types import CHECKOUT_READ_UPDATE, CheckoutRead, SessionView

_log = logging.getLogger(__name__)


class ReadThrough:
    def __init__(self, client: Client, bound: dt.timedelta) -> None:
        self._client = client
        self._bound = bound
        self._reads: dict[str, asyncio.Future[SessionView | None]] = {}

    async def read(self, workflow_id: str, merchant_id: str) -> SessionView | None:
        """The session after a read of the merchant's checkout; ``None``: answer from the Query instead.

        Concurrent callers for one session share one read (single flight, shielded so
        that one caller's disconnect does not cancel the others'). ``None`` when the
        workflow refused the read (read moments ago, a merchant call running, not
        waiting), it did not finish within the bound, or Temporal failed: a GET
        then still answers, from the state the Query just returned.
        """
        shared = self._reads.get(workflow_id)
        if shared is None:
            shared = asyncio.ensure_future(self._read(workflow_id, merchant_id))
            self._reads[workflow_id] = shared
            shared.add_done_callback(lambda _: self._reads.pop(workflow_id, None))
        return await asyncio.shield(shared)

    async def _read(self, workflow_id: str, merchant_id: str) -> SessionView | None:
        try:
            # Our own clock bounds it: the SDK's rpc_timeout bounds one poll, and it polls again on "not yet".
            view: SessionView = await asyncio.wait_for(
                self._client.get_workflow_handle(workflow_id).execute_update(
                    CHECKOUT_READ_UPDATE,
                    CheckoutRead(merchant_id=merchant_id),
                    id=update_id(CHECKOUT_READ_UPDATE, str(uuid.uuid4())),
                    result_type=SessionView,
                    rpc_timeout=self._bound,
                ),
                self._bound.total_seconds(),
            )
        except Exception as exc:  # refused, slow or failed: the Query answers (see the docstring)
            _log.debug("read-through not used for %s: %s", workflow_id, type(exc).__name__)
            return None
        return view
