"""The sandbox on a real HTTPS socket, shared by the contract tests; reset between tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from calsync.sandbox.app import Sandbox
from calsync.sandbox.server import RunningSandbox, start_in_thread


@pytest.fixture(scope="session")
def running_sandbox(session_data_dir: Path) -> Iterator[RunningSandbox]:
    running = start_in_thread(Sandbox(seed=1234), session_data_dir)
    yield running
    running.stop()


@pytest.fixture
def sandbox(running_sandbox: RunningSandbox) -> Iterator[RunningSandbox]:
    """The shared running sandbox, emptied and healed before each test."""
    running_sandbox.sandbox.reset()
    running_sandbox.sandbox.context.auto_consent = False
    yield running_sandbox
    running_sandbox.sandbox.faults.reset()
