"""The engineering documents name only code and tests that exist, and every invariant has a test (issue 14).

docs/architecture.md and docs/test-plan.md say, for each of the ten
invariants of DESIGN.md, which function enforces it and which tests prove it;
the threat model and the decision records point at code the same way. When a
helper renames a test or moves a function, these checks fail and name the
document line, so the documents are corrected in the same change instead of
drifting into fiction.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.docs.references import (
    DOCS,
    ROOT,
    constant_source,
    documents,
    exists,
    quoted_constants,
    references,
    sections,
)

INVARIANTS = range(1, 11)
INVARIANT_DOCUMENTS = ("architecture.md", "test-plan.md")


def test_the_readme_links_every_document() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    unlinked = [path.name for path in sorted(DOCS.glob("*.md")) if f"docs/{path.name}" not in readme]
    assert not unlinked, f"README.md does not link {unlinked}"


@pytest.mark.parametrize("document", documents(), ids=lambda path: path.relative_to(DOCS).as_posix())
def test_every_reference_names_something_that_exists(document: Path) -> None:
    missing = [str(reference) for reference in references(document) if not exists(reference)]
    assert not missing, "documents name code or tests that do not exist:\n" + "\n".join(missing)


@pytest.mark.parametrize("document", documents(), ids=lambda path: path.relative_to(DOCS).as_posix())
def test_every_quoted_constant_has_the_quoted_value(document: Path) -> None:
    """A figure a document states (48 h, 256 KiB ...) is quoted from the code, so a change shows up here."""
    wrong = [
        f"{quoted} (code: {constant_source(quoted.path, quoted.name)})"
        for quoted in quoted_constants(document)
        if constant_source(quoted.path, quoted.name) != quoted.quoted
    ]
    assert not wrong, "documents quote constants that no longer read so:\n" + "\n".join(wrong)


@pytest.mark.parametrize("name", INVARIANT_DOCUMENTS)
def test_every_invariant_has_a_section_with_at_least_one_test(name: str) -> None:
    grouped = sections(DOCS / name)
    for number in INVARIANTS:
        headings = [heading for heading in grouped if heading.startswith(f"Invariant {number} ")]
        assert len(headings) == 1, f"{name}: expected one heading 'Invariant {number} ...', found {headings}"
        tests = [reference for reference in grouped[headings[0]] if reference.is_test]
        assert tests, f"{name}: invariant {number} names no test"


@pytest.mark.parametrize("document", documents(), ids=lambda path: path.relative_to(DOCS).as_posix())
def test_every_relative_link_resolves(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    broken = [
        target
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
        if "://" not in target and not (document.parent / target).exists()
    ]
    assert not broken, f"{document.name}: links to missing files {broken}"


def test_the_checker_catches_what_does_not_exist(tmp_path: Path) -> None:
    """The check has teeth: a missing test, a missing method and a missing file are reported."""
    document = tmp_path / "probe.md"
    document.write_text(
        "`tests/docs/test_references.py::test_that_does_not_exist` and "
        "`tests/docs/test_references.py::test_every_reference_names_something_that_exists` and "
        "`storage/repository.py::Repository::append_audit_event` and "
        "`storage/repository.py::Repository::no_such_method` and `storage/no_such_module.py`\n"
        "`workflows/lifecycle.py::IDEMPOTENCY_WINDOW` = `dt.timedelta(hours=24)`\n",
        encoding="utf-8",
    )
    assert [exists(reference) for reference in references(document)] == [False, True, True, False, False, True]
    [quoted] = quoted_constants(document)
    assert constant_source(quoted.path, quoted.name) == "dt.timedelta(hours=48)" != quoted.quoted
