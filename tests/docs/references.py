"""What the engineering documents in docs/ point at, read back out of them.

The documents name code and tests as ``path.py::name`` (a module-level
function, class or constant) or ``path.py::Class::name`` (a method), and files
or folders as plain paths (``storage/models.py``, ``merchants/releases/``).
Every such reference must name something that exists, so a rename or a move
elsewhere in the code base shows up as a failing test here instead of a
document that quietly lies. Lookups read the source with :mod:`ast`: nothing
is imported, so the check is fast and cannot run project code.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
TOP_LEVEL = (
    "activities",
    "api",
    "bench",
    "contracts",
    "core",
    "deploy",
    "docs",
    "merchants",
    "reference_merchant",
    "storage",
    "tests",
    "ucp_connector",
    "worker",
    "workflows",
)
_TOP = "|".join(TOP_LEVEL)
SYMBOL = re.compile(rf"`((?:{_TOP})/[\w/.-]+\.py)::([\w:]+)`")
PATH = re.compile(rf"`((?:{_TOP})/[\w/.-]*)`")
# `path.py::NAME` = `source`: the document quotes a constant's value as it stands in the code.
CONSTANT = re.compile(rf"`((?:{_TOP})/[\w/.-]+\.py)::(\w+)` = `([^`]+)`")
HEADING = re.compile(r"^(#{1,6})\s+(.*)$")


@dataclass(frozen=True)
class Reference:
    document: str
    line: int
    path: str
    name: str | None  # None: a file or folder reference

    def __str__(self) -> str:
        target = f"{self.path}::{self.name}" if self.name else self.path
        return f"{self.document}:{self.line}: {target}"

    @property
    def is_test(self) -> bool:
        return self.path.startswith("tests/") and self.name is not None and self.name.split("::")[-1].startswith("test")


def documents() -> list[Path]:
    """The engineering documents and decision records (generated reports elsewhere in docs/ are not claims)."""
    return sorted([*DOCS.glob("*.md"), *(DOCS / "decisions").glob("*.md")])


def references(document: Path) -> list[Reference]:
    found: list[Reference] = []
    relative = document.relative_to(ROOT).as_posix() if document.is_relative_to(ROOT) else document.name
    for number, line in enumerate(document.read_text(encoding="utf-8").splitlines(), start=1):
        for match in SYMBOL.finditer(line):
            found.append(Reference(relative, number, match.group(1), match.group(2)))
        for match in PATH.finditer(line):
            found.append(Reference(relative, number, match.group(1).rstrip("."), None))
    return found


@functools.cache
def _names(path: str) -> frozenset[str]:
    """Every ``name`` and ``Class::method`` defined at the top of a module (and in its classes)."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    names: set[str] = set()

    def collect(nodes: list[ast.stmt], prefix: str) -> None:
        for node in nodes:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names.add(prefix + node.name)
            elif isinstance(node, ast.ClassDef):
                names.add(prefix + node.name)
                collect(node.body, f"{prefix}{node.name}::")
            elif isinstance(node, ast.Assign):
                names.update(prefix + target.id for target in node.targets if isinstance(target, ast.Name))
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.add(prefix + node.target.id)

    collect(tree.body, "")
    return frozenset(names)


@dataclass(frozen=True)
class QuotedConstant:
    document: str
    line: int
    path: str
    name: str
    quoted: str

    def __str__(self) -> str:
        return f"{self.document}:{self.line}: {self.path}::{self.name} = {self.quoted}"


def quoted_constants(document: Path) -> list[QuotedConstant]:
    relative = document.relative_to(ROOT).as_posix() if document.is_relative_to(ROOT) else document.name
    return [
        QuotedConstant(relative, number, *match.groups())
        for number, line in enumerate(document.read_text(encoding="utf-8").splitlines(), start=1)
        for match in CONSTANT.finditer(line)
    ]


def constant_source(path: str, name: str) -> str | None:
    """The source text of a module-level constant's value (``Final`` annotations included), or None."""
    source = (ROOT / path).read_text(encoding="utf-8")
    for node in ast.parse(source).body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        if any(isinstance(target, ast.Name) and target.id == name for target in targets):
            assert isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None
            return ast.get_source_segment(source, node.value)
    return None


def exists(reference: Reference) -> bool:
    target = ROOT / reference.path
    if reference.name is None:
        return target.exists()
    return target.is_file() and reference.name in _names(reference.path)


def sections(document: Path) -> dict[str, list[Reference]]:
    """References grouped by the heading they stand under (the nearest heading above them)."""
    grouped: dict[str, list[Reference]] = {}
    by_line: dict[int, list[Reference]] = {}
    for reference in references(document):
        by_line.setdefault(reference.line, []).append(reference)
    heading = ""
    for number, line in enumerate(document.read_text(encoding="utf-8").splitlines(), start=1):
        match = HEADING.match(line)
        if match:
            heading = match.group(2).strip()
            grouped.setdefault(heading, [])
        grouped.setdefault(heading, []).extend(by_line.get(number, []))
    return grouped
