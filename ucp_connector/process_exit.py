"""Leaving a process that used the Temporal client without tripping the SDK's teardown bug.

Short-lived processes using the Temporal client sometimes abort at interpreter
exit with ``Fatal Python error: PyGILState_Release`` after all work finished
(temporalio/sdk-python#300; notes "Temporal on these machines"). Once our
work is done and flushed, we exit immediately with the right code instead of
running the faulty teardown, so a successful command never reports failure.
"""

from __future__ import annotations

import logging
import os
import sys


def exit_now(code: int) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)
