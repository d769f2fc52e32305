"""Fixtures of the command-line tests: a project folder as the current directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integration.migrations._project import Project
from typer.testing import CliRunner

VARIABLES = (
    "ANDAMIOS_DATABASE__URL",
    "ANDAMIOS_DATABASE__SCHEMA",
    "ANDAMIOS_MAPPING",
    "ANDAMIOS_MIGRATIONS",
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    """A new project, the current directory, with no ANDAMIOS_* variables set."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    made = Project(tmp_path / "project")
    monkeypatch.chdir(made.root)
    yield made
    made.cleanup()


@pytest.fixture
def runner() -> CliRunner:
    """Typer's runner: the command in this process (so coverage sees it)."""
    return CliRunner()
