"""Fixtures of the migrations tests: a project folder with a mapping and a DuckDB file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integration.migrations._project import Project


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    """A new project (pyproject.toml, a package for its mapping) in a temporary folder."""
    made = Project(tmp_path / "project")
    yield made
    made.cleanup()
