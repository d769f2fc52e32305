"""Fixtures of the composition-root tests: a clean environment and containers on both adapters."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.unit.composition._app import Notebook, mapping

from andamios.containers import PersistenceContainer


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``ANDAMIOS_*`` variable of the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("ANDAMIOS_"):
            monkeypatch.delenv(name)


@pytest.fixture
def duckdb_url(tmp_path: Path) -> str:
    return f"duckdb+async:///{tmp_path / 'notes.duckdb'}"


@pytest.fixture
def container() -> PersistenceContainer:
    """A container of :class:`Notebook` that nobody has configured yet."""
    return PersistenceContainer(unit_of_work=Notebook, mapping=mapping)


@pytest.fixture(params=["memory", "duckdb"])
async def started(
    request: pytest.FixtureRequest, container: PersistenceContainer, duckdb_url: str
) -> AsyncIterator[PersistenceContainer]:
    """The container on each adapter, resources started (tables created on DuckDB)."""
    container.config.from_dict(
        {"adapter": request.param, "database": {"url": duckdb_url, "create_tables": True}}
    )
    await container.init_resources()
    yield container
    await container.shutdown_resources()
