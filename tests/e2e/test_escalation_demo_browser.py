"""``demo --scenario escalation`` ends ``completed`` once the buyer has used the hand-off page in a real browser.

Issue 16 "Done means" and issue 11 item 1: ``dev`` runs as a real subprocess;
the demo (the package's platform client) creates a checkout that needs the
buyer (an engraving chosen on the merchant's site), prints ``continue_url``
and polls the connector's GET; headless Chromium opens that page, types the
engraving and confirms; the connector's GET reads the merchant through, the
demo sees ``ready_for_complete`` and completes. Before, the GET kept
answering ``requires_escalation`` from the workflow's state and the demo
could only cancel. Covers CHK-03 and CMP-05 on the platform side.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.fixtures.browser import NEEDS_CHROMIUM, chromium_page
from tests.fixtures.dev_stack import CLI, DevStack

pytestmark = [pytest.mark.e2e, NEEDS_CHROMIUM]


async def _continue_url(demo: asyncio.subprocess.Process) -> tuple[str, list[str]]:
    """The hand-off link the demo prints, read from its output as it runs (and what it printed so far)."""
    assert demo.stdout is not None
    seen: list[str] = []
    while line := (await asyncio.wait_for(demo.stdout.readline(), 120)).decode():
        seen.append(line)
        if "continue_url " in line:
            return line.split("continue_url ", 1)[1].strip(), seen
    raise AssertionError(f"demo ended before the hand-off:\n{''.join(seen)}")


async def test_the_escalation_demo_completes_through_the_hand_off_page(dev_stack: DevStack, tmp_path: Path) -> None:
    await asyncio.to_thread(dev_stack.start)
    demo = await asyncio.create_subprocess_exec(
        *CLI,
        "demo",
        "--state-dir",
        str(dev_stack.state_dir),
        "--scenario",
        "escalation",
        "--buyer-wait",
        "120",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        url, seen = await _continue_url(demo)
        async with chromium_page(tmp_path / "profile") as page:
            await page.goto(url)
            assert await page.locator("#status").get_attribute("data-status") == "requires_escalation"
            await page.get_by_label("Engraving text").fill("For J.")
            await page.locator("#confirm").click()
            await page.wait_for_url("**notice=confirmed")
            assert await page.locator("#status").get_attribute("data-status") == "ready_for_complete"
        out, _ = await asyncio.wait_for(demo.communicate(), 180)
        rest = "".join(seen) + out.decode()
    finally:
        if demo.returncode is None:
            demo.kill()
    assert demo.returncode == 0, rest
    assert "the buyer is back" in rest and '"status": "completed"' in rest, rest
