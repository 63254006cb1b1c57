"""Regenerate the Temporal UI screenshots in this folder (issue 16): what an operator sees on the ``dev`` stack.

Run from the checkout, with the test dependencies installed and Debian's
``chromium`` (or ``UCP_CHROMIUM=/path/to/chromium``)::

    python docs/screenshots/take.py            # writes docs/screenshots/*.png

It starts ``ucp-connector dev`` on free ports in a temporary state directory
(your own ``.ucp`` is not touched), then

* plays ``ucp-connector demo`` (create -> update -> complete -> order
  webhooks): the **finished session**, shot once its workflow has completed;
* creates a second session and completes it while the reference merchant is
  paused (``SIGSTOP``: it accepts connections and never answers, a hanging
  merchant), until the merchant call has failed at least once and is being
  retried: the **session with a failed activity**;
* opens the Temporal Web UI in headless Chromium (Playwright) and saves the
  **workflow list**, the finished session and the failed one.

A tool, not a test: nothing here asserts; the pictures are looked at.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from playwright.async_api import Page, async_playwright

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.fixtures.dev_stack import CLI, DevStack  # noqa: E402 -- after the checkout is importable
from tests.fixtures.http import free_ports  # noqa: E402
from ucp_connector.commands.demo import BUYER, STANDARD_SHIPPING, demo_client  # noqa: E402
from ucp_connector.dev_layout import DEMO_MERCHANT, DEMO_PLATFORM, DevLayout  # noqa: E402

OUT = Path(__file__).resolve().parent
NAMESPACE = "default"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"]
VIEWPORT = {"width": 1600, "height": 1000}


def finished_session(stack: DevStack) -> str:
    """``demo``'s checkout scenario, as a user runs it; returns the session's workflow id."""
    result = subprocess.run(  # noqa: S603 -- our own CLI, fixed arguments
        [*CLI, "demo", "--state-dir", str(stack.state_dir)], capture_output=True, text=True, timeout=180, check=True
    )
    match = re.search(r"workflow (checkout/\S+)", result.stdout)
    assert match, result.stdout
    return match.group(1)


async def failing_session(stack: DevStack) -> tuple[str, Any]:
    """A ready session whose complete meets a paused merchant; returns its UI path and the running request."""
    layout = DevLayout(stack.state_dir)
    platform = demo_client(layout, f"http://127.0.0.1:{stack.api}")
    body = {
        "line_items": [{"item": {"id": "tshirt_red"}, "quantity": 1}],
        "buyer": BUYER,
        "fulfillment": STANDARD_SHIPPING,
    }
    checkout = await platform.create_checkout(DEMO_MERCHANT, body)
    payment = {
        "payment": {
            "instruments": [
                {
                    "id": "pi_1",
                    "handler_id": "ref_tokenizer",
                    "type": "card",
                    "selected": True,
                    "display": {"brand": "visa", "last_digits": "1111"},
                    "credential": {"type": "token", "token": "tok_demo"},
                }
            ]
        }
    }
    merchant = _merchant_pid(stack)
    os.kill(merchant, signal.SIGSTOP)
    completing = asyncio.ensure_future(platform.complete_checkout(DEMO_MERCHANT, checkout.id, payment))
    workflow_id = f"checkout/{DEMO_PLATFORM}/{checkout.id}"
    run_id = await _until_failed_once(stack, workflow_id)
    return f"{quote(workflow_id, safe='')}/{run_id}", (platform, completing, merchant)


async def _until_failed_once(stack: DevStack, workflow_id: str, seconds: float = 180) -> str:
    """Poll the UI server's API (what the browser reads) until the pending activity has a last failure."""
    url = f"http://127.0.0.1:{stack.ui}/api/v1/namespaces/{NAMESPACE}/workflows/{quote(workflow_id, safe='')}"
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            described = (await http.get(url)).json()
            if any(activity.get("lastFailure") for activity in described.get("pendingActivities", [])):
                return str(described["workflowExecutionInfo"]["execution"]["runId"])
            await asyncio.sleep(1)
    raise RuntimeError(f"{workflow_id}: no failed attempt within {seconds} s")


async def _until_closed(stack: DevStack, workflow_id: str, seconds: float = 120) -> None:
    """Poll the UI server's API until the finished session's workflow has completed (decision 0001: it closes
    once terminal, after a short grace), so its picture shows the status the operator will see."""
    url = f"http://127.0.0.1:{stack.ui}/api/v1/namespaces/{NAMESPACE}/workflows/{quote(workflow_id, safe='')}"
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            described = (await http.get(url)).json()
            if described["workflowExecutionInfo"]["status"] == "WORKFLOW_EXECUTION_STATUS_COMPLETED":
                return
            await asyncio.sleep(1)
    raise RuntimeError(f"{workflow_id}: not closed within {seconds} s")


def _merchant_pid(stack: DevStack) -> int:
    for pid in stack.descendants():
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"merchant" in command and b"--trust-platform" in command:
            return pid
    raise RuntimeError("the reference merchant is not running under dev")


async def shoot(page: Page, url: str, name: str, wait_for: str) -> Path:
    await page.goto(url)
    await page.get_by_text(wait_for).first.wait_for(timeout=60_000)
    # Not "networkidle": the page of a running workflow long-polls its history for ever.
    await page.wait_for_timeout(3000)  # the UI fills its panels after the first paint
    path = OUT / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    print(f"wrote {path.relative_to(ROOT)}")
    return path


async def take(stack: DevStack, chromium: str) -> None:
    finished = finished_session(stack)
    await _until_closed(stack, finished)
    failing, (platform, completing, merchant) = await failing_session(stack)
    ui = f"http://127.0.0.1:{stack.ui}/namespaces/{NAMESPACE}/workflows"
    try:
        async with async_playwright() as driver:
            browser = await driver.chromium.launch(executable_path=chromium, headless=True, args=ARGS)
            page = await browser.new_page(viewport=VIEWPORT)  # type: ignore[arg-type]
            await shoot(page, ui, "workflow-list", finished.rsplit("/", 1)[-1])
            await shoot(page, f"{ui}/{quote(finished, safe='')}", "finished-session", "CheckoutSession")
            await shoot(page, f"{ui}/{failing}/history", "failed-activity", "CheckoutSession")
            await shoot(page, f"{ui}/{failing}/pending-activities", "failed-activity-pending", "Last Failure")
            await browser.close()
    finally:
        os.kill(merchant, signal.SIGCONT)
        await asyncio.wait_for(asyncio.gather(completing, return_exceptions=True), 120)
        await platform.aclose()


def main() -> None:
    chromium = os.environ.get("UCP_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("no Chromium: apt-get install chromium (or set UCP_CHROMIUM)")
    with tempfile.TemporaryDirectory(prefix="ucp-screenshots-") as directory:
        stack = DevStack(Path(directory) / ".ucp", free_ports(5))
        try:
            stack.start()
            asyncio.run(take(stack, chromium))
        finally:
            stack.kill_all()


if __name__ == "__main__":
    main()
