"""Workflow tests run on the time-skipping test server with a real worker and the real reference merchant."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.fixtures.connector_stack import ConnectorStack, connector_stack


@pytest.fixture
async def stack(time_skipping_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[ConnectorStack]:
    async with connector_stack(time_skipping_env, tmp_path) as running:
        yield running
