"""Fixtures shared by every test: an isolated data directory and settings that point into it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from calsync.config import Settings


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    """Settings for one test: SQLite in its own data directory."""
    return Settings(data_dir=data_dir)


@pytest.fixture(scope="session")
def session_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("session-data")
