"""docs/api.md is what the code and a real run produce today (issue 14: "examples cannot go stale").

The page is regenerated here by docs/generate_api_examples.py against the
tests/e2e stack (API + worker + Temporal dev server + reference merchant on
loopback, every request signed by the platform client and every answer
verified) and compared with the committed page. A route, a model, an error
code or a behaviour that changes the answers fails this test until the page
is regenerated (``python docs/generate_api_examples.py``) and committed, so a
reviewer reads what the connector does, not what it once did. The exchanges
themselves also prove what the page says: SIG-21 (every answer verified by
the client), IDM-05 and IDM-07 (the replay and the reused key).
"""

from __future__ import annotations

import difflib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.docs.references import DOCS

pytestmark = pytest.mark.e2e


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_api_examples", DOCS / "generate_api_examples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their annotations through sys.modules
    spec.loader.exec_module(module)
    return module


async def test_api_md_is_regenerated_unchanged(dev_server_env: WorkflowEnvironment, tmp_path: Path) -> None:
    generator = _generator()
    page: str = await generator.generate(dev_server_env, tmp_path)
    committed = (DOCS / "api.md").read_text(encoding="utf-8")
    if page != committed:
        diff = "".join(
            difflib.unified_diff(
                committed.splitlines(keepends=True), page.splitlines(keepends=True), "docs/api.md", "regenerated", n=1
            )
        )
        pytest.fail(f"docs/api.md is stale: run `python docs/generate_api_examples.py` and commit.\n{diff[:6000]}")
    assert "**yes**" in page, "the replay example must answer with the first answer's bytes"
