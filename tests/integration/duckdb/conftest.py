"""Fixtures of the DuckDB adapter's tests: real DuckDB files and in-memory databases."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

# A second process that holds a DuckDB file's write lock until it is killed.
_HOLD_LOCK = (
    "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
    "print('ok', flush=True); time.sleep(60)"
)

# Fixtures that start another process: every test using one is marked ``subprocess``.
_START_A_PROCESS = frozenset({"lock_holder", "killed"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests whose fixtures start another process (``-m "not subprocess"``)."""
    for item in items:
        if _START_A_PROCESS & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.subprocess)


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    """A path for a new DuckDB file (not created yet)."""
    return tmp_path / "test.duckdb"


@pytest.fixture
async def file_engine(db_file: Path) -> AsyncIterator[AsyncEngine]:
    """A ``duckdb+async`` engine on a fresh file, disposed after the test."""
    engine = create_async_engine(f"duckdb+async:///{db_file}")
    yield engine
    await engine.dispose()


@pytest.fixture
async def memory_engine() -> AsyncIterator[AsyncEngine]:
    """A ``duckdb+async`` engine on an in-memory database, disposed after the test."""
    engine = create_async_engine("duckdb+async:///:memory:")
    yield engine
    await engine.dispose()


@pytest.fixture
def lock_holder(db_file: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process that has ``db_file`` open read-write (and so holds its lock)."""
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(db_file)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ok"
        yield process
    finally:
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()
