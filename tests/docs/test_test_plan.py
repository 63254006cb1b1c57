"""docs/test-plan.md is the mapping the tests declare today (issue 14: invariants and MUST/SHOULD rows -> tests).

The page is generated from the tests' own docstrings (docs/generate_test_plan.py),
so it cannot claim coverage no test claims. This test regenerates it and
fails with the diff when a test was added, renamed or removed without
regenerating the page (``python docs/generate_test_plan.py``). The parser of
requirement ids and invariant numbers is pinned here too, since a parser that
silently misses a range of ids would under-report coverage. (This docstring names
no id itself: the page would list this module as covering it.)
"""

from __future__ import annotations

import difflib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.docs.references import DOCS


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_test_plan", DOCS / "generate_test_plan.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_test_plan_is_regenerated_unchanged() -> None:
    generator = _generator()
    committed = (DOCS / "test-plan.md").read_text(encoding="utf-8")
    page: str = generator.build(committed)
    if page != committed:
        diff = "".join(
            difflib.unified_diff(
                committed.splitlines(keepends=True), page.splitlines(keepends=True), "docs/test-plan.md", "now", n=0
            )
        )
        pytest.fail(f"docs/test-plan.md is stale: run `python docs/generate_test_plan.py` and commit.\n{diff[:6000]}")


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("SIG-15", {"SIG-15"}),
        ("SIG-13..SIG-16 and IDM-01/02", {"SIG-13", "SIG-14", "SIG-15", "SIG-16", "IDM-01", "IDM-02"}),
        ("OVR-31..33.", {"OVR-31", "OVR-32", "OVR-33"}),
        ("SIG-18/IDM-01: the key", {"SIG-18", "IDM-01"}),
        ("TRN-08/09/10", {"TRN-08", "TRN-09", "TRN-10"}),
        ("no ids, ORD-1 or XYZ-12", set()),
    ],
)
def test_requirement_ids_are_read_like_the_tests_write_them(text: str, ids: set[str]) -> None:
    assert _generator().requirement_ids(text) == ids


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("DESIGN invariant 7", {7}),
        ("invariants 2-4, and 7", {2, 3, 4, 7}),
        ("Invariants 1, 2 and 8", {1, 2, 8}),
        ("the invariants of totals; invariant 12", set()),
    ],
)
def test_invariant_numbers_are_read_like_the_tests_write_them(text: str, numbers: set[int]) -> None:
    assert _generator().invariant_numbers(text) == numbers


def test_without_the_notes_the_rows_are_read_back_from_the_page(tmp_path: Path) -> None:
    """A checkout without ../shared still checks the mapping: the rows come from the committed page."""
    generator = _generator()
    generator.NOTES = tmp_path / "absent.md"
    committed = (DOCS / "test-plan.md").read_text(encoding="utf-8")
    assert generator.build(committed) == committed
