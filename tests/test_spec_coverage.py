"""Every platform-side MUST row of the requirements matrix is named by a test, not applicable, or a known gap.

The figure (named / total) is what ``python -m tests.spec_coverage`` prints;
docs/spec-coverage.md holds the not-applicable rows with their reasons and the
known gaps. Skipped when the matrix (../shared/notes) is not beside the checkout.
"""

from __future__ import annotations

import pytest

from tests import spec_coverage


def _known_gaps() -> set[str]:
    text = spec_coverage.COVERAGE_DOC.read_text(encoding="utf-8")
    section = text.split("## Known gaps", 1)[1].split("\n## ", 1)[0]
    return {
        cells[0]
        for cells in ([c.strip() for c in line.strip("|").split("|")] for line in section.splitlines())
        if cells and spec_coverage.ID.fullmatch(cells[0])
    }


def test_every_platform_side_must_row_is_accounted_for() -> None:
    path = spec_coverage.matrix_file()
    if path is None:
        pytest.skip("requirements matrix not found (../shared/notes or $UCP_REQUIREMENTS)")
    result = spec_coverage.coverage(path.read_text(encoding="utf-8"))
    assert len(result.rows) >= 80, "the matrix parser lost rows"
    assert all(reason for reason in result.not_applicable.values())
    assert set(result.open) == _known_gaps(), "name the row in a test, or document it in docs/spec-coverage.md"
    assert not (set(result.not_applicable) & result.named), "a row named by a test is not 'not applicable'"
