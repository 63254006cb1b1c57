"""Write docs/test-plan.md: each DESIGN.md invariant and each MUST/SHOULD row of UCP 2026-04-08, and its tests.

    .venv/bin/python docs/generate_test_plan.py          # rewrite docs/test-plan.md
    .venv/bin/python docs/generate_test_plan.py --check  # exit 1 if it is stale

Where the mapping comes from, so that it cannot be wishful:

* **requirement rows**: the matrix ``../shared/notes/ucp-2026-04-08-requirements.md``
  (relative to the checkout); every row whose level carries MUST, SHOULD or
  REQUIRED. Without the notes (a checkout on its own) the rows are read back
  from the committed page, so the check still runs;
* **which tests cover a row or an invariant**: the tests say so themselves.
  A test function whose docstring names ``SIG-15`` (or ``SIG-13..SIG-22``,
  ``IDM-01/02``) or ``invariant 7`` (``invariants 2-4``, ``invariants 1, 2 and 8``)
  covers it; a test module whose docstring names it is listed as a module;
* **invariants** also list the tests docs/architecture.md names under that
  invariant (the curated proof).

Nothing is typed in by hand, so when a test is added, renamed or removed the
page is stale and ``tests/docs/test_test_plan.py`` fails until it is regenerated.
"""

from __future__ import annotations

import ast
import re
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))

from docs.page_output import write_or_check  # noqa: E402 -- docs/ is a namespace package

PAGE = ROOT / "docs" / "test-plan.md"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
NOTES = ROOT.parent / "shared" / "notes" / "ucp-2026-04-08-requirements.md"
AREAS = "OVR|SIG|IDM|CHK|PAY|CMP|FUL|DSC|ORD|TRN"
AREA_TITLES = {
    "OVR": "Discovery, profiles, negotiation, versioning",
    "SIG": "Signatures, identity, keys, rotation",
    "IDM": "Idempotency and replay",
    "CHK": "Checkout lifecycle, statuses, messages, totals",
    "PAY": "Payment",
    "CMP": "Complete / cancel",
    "FUL": "Fulfillment",
    "DSC": "Discount",
    "ORD": "Orders and webhooks",
    "TRN": "Transport: REST headers, status codes, error shapes",
}
INVARIANTS = {
    1: "every request is authenticated",
    2: "every mutation carries an Idempotency-Key",
    3: "workflow ids are the idempotency key for creates",
    4: "at most one order per checkout",
    5: "the workflow is deterministic",
    6: "no secrets in history or logs",
    7: "audit is append-only and verifiable",
    8: "strict input",
    9: "stable cursors, deterministic order",
    10: "frozen error codes",
}
_ID = re.compile(rf"\b(?P<area>{AREAS})-(?P<first>\d{{2}})(?P<rest>(?:(?:\.\.|/)(?:(?:{AREAS})-)?\d{{2}})*)")
_ID_TAIL = re.compile(rf"(\.\.|/)(?:({AREAS})-)?(\d{{2}})")
_INVARIANT = re.compile(r"(?i)\binvariants?\s+(\d+(?:\s*(?:-|\u2013|,\s*and|,|and)\s*\d+)*)")
_ROW = re.compile(rf"^\| (?P<id>(?:{AREAS})-\d{{2}}) \| (?P<role>[^|]+?) \| (?P<level>[^|]+?) \| (?P<text>[^|]+?) \|")
_MAX_TEXT = 110


@dataclass(frozen=True)
class Row:
    id: str
    role: str
    level: str
    text: str


@dataclass
class Coverage:
    tests: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # id or "invariant N"
    modules: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


def requirement_ids(text: str) -> set[str]:
    """``SIG-15``, ``SIG-13..SIG-22``, ``SIG-13..22``, ``IDM-01/02``, ``SIG-18/IDM-01`` -> the ids they name."""
    found: set[str] = set()
    for match in _ID.finditer(text):
        area, current = match["area"], int(match["first"])
        found.add(f"{area}-{current:02d}")
        for separator, other_area, number in _ID_TAIL.findall(match["rest"]):
            value = int(number)
            if other_area and other_area != area:
                area = other_area
                found.add(f"{area}-{value:02d}")
            elif separator == "..":
                found.update(f"{area}-{n:02d}" for n in range(current + 1, value + 1))
            else:
                found.add(f"{area}-{value:02d}")
            current = value
    return found


def invariant_numbers(text: str) -> set[int]:
    found: set[int] = set()
    for match in _INVARIANT.finditer(text):
        for part in re.split(r"\s*(?:,\s*and|,|and)\s*", match.group(1)):
            bounds = [int(bound) for bound in re.split(r"\s*[-\u2013]\s*", part) if bound]
            if bounds:
                found.update(range(bounds[0], bounds[-1] + 1))
    return {number for number in found if number in INVARIANTS}


def _claims(text: str) -> set[str]:
    return requirement_ids(text) | {f"invariant {number}" for number in invariant_numbers(text)}


def coverage(root: Path = ROOT) -> Coverage:
    """What every test module and test function of ``tests/`` says it covers, in its docstring."""
    result = Coverage()
    for path in sorted((root / "tests").rglob("test_*.py")):
        relative = path.relative_to(root).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for claim in _claims(ast.get_docstring(tree) or ""):
            result.modules[claim].add(relative)
        for name, docstring in _test_functions(tree.body, ""):
            for claim in _claims(docstring):
                result.tests[claim].add(f"{relative}::{name}")
    return result


def _test_functions(nodes: Iterable[ast.stmt], prefix: str) -> Iterable[tuple[str, str]]:
    for node in nodes:
        if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            yield from _test_functions(node.body, f"{prefix}{node.name}::")
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
            yield f"{prefix}{node.name}", ast.get_docstring(node) or ""


def curated(architecture: str) -> dict[int, set[str]]:
    """The tests docs/architecture.md names under each "Invariant N" heading."""
    named: dict[int, set[str]] = defaultdict(set)
    current: int | None = None
    for line in architecture.splitlines():
        heading = re.match(r"^#{1,6}\s+(.*)$", line)
        if heading:
            number = re.match(r"Invariant (\d+) ", heading.group(1))
            current = int(number.group(1)) if number else None
        elif current is not None:
            named[current].update(re.findall(r"`(tests/[\w/.-]+\.py::[\w:]+)`", line))
    return named


def _short(text: str) -> str:
    text = " ".join(text.replace("|", "/").split())
    if len(text) <= _MAX_TEXT:
        return text
    cut = text[: _MAX_TEXT - 1].rsplit(" ", 1)[0]
    return cut + ("` …" if cut.count("`") % 2 else " …")  # never leave a code span open


def _normative(level: str) -> bool:
    return any(word in level for word in ("MUST", "SHOULD", "REQUIRED"))


def rows_from_notes(notes: str) -> list[Row]:
    rows = []
    for line in notes.splitlines():
        match = _ROW.match(line)
        if match and _normative(match["level"]):
            rows.append(Row(match["id"], match["role"].strip(), match["level"].strip(), _short(match["text"])))
    return rows


def rows_from_page(page: str) -> list[Row]:
    """The rows of a committed page (when the notes are not beside the checkout)."""
    rows = []
    for line in page.splitlines():
        match = _ROW.match(line)
        if match:
            rows.append(Row(match["id"], match["role"], match["level"], match["text"]))
    return rows


def _cell(items: Iterable[str]) -> str:
    listed = sorted(items)
    return "<br>".join(f"`{item}`" for item in listed) if listed else "—"


def not_applicable() -> dict[str, str]:
    """Rows docs/spec-coverage.md declares not applicable to the platform side, with the reason."""
    from tests.spec_coverage import not_applicable as declared

    return declared()


def render(rows: list[Row], found: Coverage, named: dict[int, set[str]], exempt: dict[str, str] | None = None) -> str:
    exempt = exempt or {}
    parts = [INTRO, "## Invariants (DESIGN.md)\n"]
    for number, title in INVARIANTS.items():
        tests = found.tests.get(f"invariant {number}", set()) | named.get(number, set())
        modules = found.modules.get(f"invariant {number}", set())
        parts.append(f"### Invariant {number} — {title}\n")
        parts += [f"- `{test}`" for test in sorted(tests)] or ["- no test names it"]
        if modules:
            parts.append(f"\nModules whose docstring names it: {', '.join(f'`{m}`' for m in sorted(modules))}.")
        parts.append("")
    uncovered = [row for row in rows if not (found.tests.get(row.id) or found.modules.get(row.id))]
    not_applicable_here = [row for row in uncovered if row.id in exempt]
    by_role: dict[str, int] = defaultdict(int)
    for row in uncovered:
        by_role[row.role] += 1
    roles = ", ".join(f"{count} {role}" for role, count in sorted(by_role.items()))
    parts.append(
        "## UCP 2026-04-08 requirements (MUST / SHOULD)\n\n"
        f"{len(rows) - len(uncovered)} of the {len(rows)} MUST/SHOULD rows are named by at least one test or test "
        f"module. The {len(uncovered)} others are listed with `—` in both columns (by role: {roles}); no test "
        "claims them, which is not the same as the behaviour being absent, but nothing here proves it. The role "
        "column says who the spec obliges: the connector is the *platform* towards merchants and plays the "
        "*business* towards platforms on its own API. "
        f"{len(not_applicable_here)} of the unclaimed rows are declared not applicable to the platform side, with "
        "the reason, in [spec-coverage.md](spec-coverage.md) (kept true by `tests/test_spec_coverage.py`); the "
        "reason is shown in the tests column.\n"
    )
    for area, title in AREA_TITLES.items():
        in_area = [row for row in rows if row.id.startswith(f"{area}-")]
        if not in_area:
            continue
        parts.append(f"### {area} — {title}\n")
        parts.append("| id | role | level | requirement | tests | modules |\n| --- | --- | --- | --- | --- | --- |")
        for row in in_area:
            tests, modules = found.tests.get(row.id, set()), found.modules.get(row.id, set())
            claimed = _cell(tests)
            if not tests and not modules and row.id in exempt:
                claimed = f"not applicable: {_short(exempt[row.id])}"
            parts.append(f"| {row.id} | {row.role} | {row.level} | {row.text} | {claimed} | {_cell(modules)} |")
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"


INTRO = """# Test plan

<!-- Generated by docs/generate_test_plan.py; do not edit by hand.
     tests/docs/test_test_plan.py fails when this page is stale: run the script and commit. -->

Which tests prove what. The mapping is read from the tests themselves: a test
covers an invariant or a UCP requirement when its docstring names it
(`invariant 7`, `SIG-15`, `SIG-13..SIG-22`); a module covers what its module
docstring names; the invariants also list the tests `docs/architecture.md`
names as their proof. Requirement rows come from the reading aid
`../shared/notes/ucp-2026-04-08-requirements.md` (the spec wins where they
differ). Every test named here exists
(`tests/docs/test_references.py::test_every_reference_names_something_that_exists`)
and every invariant has at least one
(`tests/docs/test_references.py::test_every_invariant_has_a_section_with_at_least_one_test`).

How the suite is organised and run (`./ucp test`; CI runs `.ci/run`):

| folder | what runs there |
| --- | --- |
| `tests/contracts` | wire rules: JCS, RFC 9421 vectors, digests, JWK, cursors, error codes, UCP models |
| `tests/core` | settings, key files, payload codec, codec server |
| `tests/storage` | audit chain, tamper detection, session index; SQLite and real PostgreSQL |
| `tests/merchants` | discovery, signed calls, response and webhook checks, release adapters |
| `tests/workflows` | the workflow on time-skipping Temporal, real worker and merchant; history replay |
| `tests/api` | the front door: signatures, limits, strict input, error mapping |
| `tests/e2e` | API + worker + dev server + merchant: checkouts, SIGKILL, Temporal outage, schemathesis |
| `tests/reference_merchant` | the reference merchant |
| `tests/ucp_connector`, `tests/observability`, `tests/deploy` | the CLI; logs, traces, metrics; the compose file |
| `tests/docs` | these documents: references exist, pages regenerate, the audit example recomputes |
"""


def build(page_text: str | None = None) -> str:
    """The page as the tests and the notes say it is now."""
    if NOTES.is_file():
        rows = rows_from_notes(NOTES.read_text(encoding="utf-8"))
    else:
        rows = rows_from_page(page_text if page_text is not None else PAGE.read_text(encoding="utf-8"))
    return render(rows, coverage(), curated(ARCHITECTURE.read_text(encoding="utf-8")), not_applicable())


def main(argv: list[str]) -> int:
    return write_or_check(PAGE, build(), check="--check" in argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
