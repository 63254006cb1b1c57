"""The layout the product was specified with: one-way layers, small modules (issue 10, "Done means").

`import-linter` checks the contracts in pyproject.toml (``[tool.importlinter]``):
contracts → core → storage | merchants → activities → workflows → worker | api
→ ucp_connector, the workflow seeing activity *types* only, the API reaching the
workflow by name only, and the reference merchant reached over HTTP only. The
second test proves the check has teeth: the same check over a copy of the tree
with one back-edge added fails and names the broken contract.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"]
MAX_MODULE_LINES = 400
SMALL_MODULE_PACKAGES = ("workflows", "api", "activities")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH first, so the packages under ``root`` shadow the installed (editable) ones.
    return subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; lint_imports_command()"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "COLUMNS": "1000"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_imports_flow_one_way() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "back_edge", "contract"),
    [
        ("core/_back_edge.py", "import api.app\n", "Layers"),
        ("workflows/_back_edge.py", "import merchants.profiles\n", "Workflows see activity types only"),
        ("api/_back_edge.py", "import workflows.checkout\n", "The API reaches workflows through the client"),
        ("storage/_back_edge.py", "import merchants\n", "Layers"),
    ],
)
def test_a_back_edge_fails_the_check(tmp_path: Path, module: str, back_edge: str, contract: str) -> None:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / module).write_text(back_edge, encoding="utf-8")

    result = _lint(tmp_path)

    assert result.returncode != 0, result.stdout
    broken = [line for line in result.stdout.splitlines() if line.endswith("BROKEN")]
    assert any(line.startswith(contract) for line in broken), result.stdout


@pytest.mark.parametrize("package", SMALL_MODULE_PACKAGES)
def test_modules_stay_small(package: str) -> None:
    """Small modules with one job: none of the workflow, API or activity modules over 400 lines."""
    too_long = {
        str(path.relative_to(ROOT)): lines
        for path in sorted((ROOT / package).rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert too_long == {}
