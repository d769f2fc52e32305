"""Fixtures of the command-line tests: a project folder as the current directory."""

from __future__ import annotations

import sys
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


@pytest.fixture
def fresh_modules() -> Iterator[None]:
    """Forget ``examples`` and ``benchmarks`` for the test, and restore them after it."""
    prefixes = ("examples", "benchmarks")
    saved = {name: module for name, module in sys.modules.items() if name.startswith(prefixes)}
    path = list(sys.path)
    for name in saved:
        del sys.modules[name]
    yield
    for name in [name for name in sys.modules if name.startswith(prefixes)]:
        del sys.modules[name]
    sys.modules.update(saved)
    sys.path[:] = path
