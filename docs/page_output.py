"""How a generated page under docs/ is written, or checked against what is committed (``--check``)."""

from __future__ import annotations

from pathlib import Path


def write_or_check(page: Path, text: str, *, check: bool) -> int:
    """Exit status: with ``check``, 1 when the committed page differs from ``text``; otherwise write it."""
    if check:
        stale = page.read_text(encoding="utf-8") != text
        print(f"{page} is {'stale' if stale else 'up to date'}")
        return 1 if stale else 0
    page.write_text(text, encoding="utf-8")
    print(f"wrote {page}")
    return 0
