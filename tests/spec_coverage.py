"""How many platform-side MUST rows of the UCP 2026-04-08 requirements matrix the platform-side tests name.

Run ``python -m tests.spec_coverage`` for the figure and the rows still open.
The matrix is ``../shared/notes/ucp-2026-04-08-requirements.md`` (relative to
the checkout; ``$UCP_REQUIREMENTS`` overrides). A row binds the platform side
when its role names ``platform``, ``both``, ``signer`` or ``verifier`` (the
connector signs its requests and verifies responses, webhooks and platform
requests; qualifiers such as ``both (intermediaries)`` count) and its level has MUST, MUST NOT,
REQUIRED or SHALL. A row is *named* when its id appears in a test module of the
platform side (everything under tests/ except tests/reference_merchant, which
tests the business side), and *declared not applicable* when
docs/spec-coverage.md lists it in its "Not applicable" table with a reason.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent.parent
TESTS: Final = ROOT / "tests"
COVERAGE_DOC: Final = ROOT / "docs" / "spec-coverage.md"
BUSINESS_SIDE: Final = (TESTS / "reference_merchant",)
ROW: Final = re.compile(r"^\|\s*([A-Z]{3}-\d{2})\s*\|\s*([^|]+?)\s*\|\s*([^|]+?)\s*\|")
MUST: Final = re.compile(r"\b(MUST|REQUIRED|SHALL)\b")
# The connector is the platform, and it both signs (requests) and verifies (responses, webhooks, platforms).
PLATFORM_ROLE: Final = re.compile(r"\b(platform|both|signer|verifier)\b")
ID: Final = re.compile(r"\b([A-Z]{3}-\d{2})\b")


@dataclass(frozen=True)
class Coverage:
    rows: list[str]
    named: set[str]
    not_applicable: dict[str, str]

    @property
    def open(self) -> list[str]:
        return [row for row in self.rows if row not in self.named and row not in self.not_applicable]


def matrix_file() -> Path | None:
    named = os.environ.get("UCP_REQUIREMENTS")
    candidate = Path(named) if named else ROOT.parent / "shared" / "notes" / "ucp-2026-04-08-requirements.md"
    return candidate if candidate.is_file() else None


def platform_must_rows(matrix: str) -> list[str]:
    rows = []
    for line in matrix.splitlines():
        match = ROW.match(line)
        if match and PLATFORM_ROLE.search(match.group(2)) and MUST.search(match.group(3)):
            rows.append(match.group(1))
    return rows


def named_ids() -> set[str]:
    ids: set[str] = set()
    for path in TESTS.rglob("*.py"):
        if any(path.is_relative_to(folder) for folder in BUSINESS_SIDE) or path.name == "spec_coverage.py":
            continue
        ids.update(ID.findall(path.read_text(encoding="utf-8")))
    return ids


def not_applicable() -> dict[str, str]:
    """Rows of the "Not applicable" table of docs/spec-coverage.md: ``| ID | reason |``."""
    if not COVERAGE_DOC.is_file():
        return {}
    text = COVERAGE_DOC.read_text(encoding="utf-8")
    section = text.split("## Not applicable", 1)[1] if "## Not applicable" in text else ""
    section = section.split("\n## ", 1)[0]
    found = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and ID.fullmatch(cells[0]) and cells[-1]:
            found[cells[0]] = cells[-1]
    return found


def coverage(matrix: str) -> Coverage:
    return Coverage(platform_must_rows(matrix), named_ids(), not_applicable())


def main() -> int:
    path = matrix_file()
    if path is None:
        print("requirements matrix not found (../shared/notes or $UCP_REQUIREMENTS)")
        return 2
    result = coverage(path.read_text(encoding="utf-8"))
    named = [row for row in result.rows if row in result.named]
    na = [row for row in result.rows if row not in result.named and row in result.not_applicable]
    total = len(result.rows)
    print(f"platform-side MUST rows: {total}")
    print(f"named by a platform-side test: {len(named)}/{total}")
    print(f"declared not applicable: {len(na)}/{total} ({', '.join(na) or '-'})")
    print(f"open: {len(result.open)} ({', '.join(result.open) or '-'})")
    return 0 if not result.open else 1


if __name__ == "__main__":
    sys.exit(main())
