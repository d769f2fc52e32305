"""A process that used DuckDB exits clean: no "nanobind: leaked N instances!" lines at exit.

DuckDB's Python module reports every DuckDB object still alive when the interpreter ends as a
leak ("... this is likely caused by a reference counting issue"). Here a small pytest session,
in a subprocess, does what leaked them in the test suite: connections returned to a pool after
the engine was disposed (SQLAlchemy leaves them to the garbage collector, and their idle worker
threads, daemons, kept their last statement's connection alive past exit), and ``create_all``
(PostgreSQL's dialect memoized its table query per dialect in a class-level cache, which kept
every such dialect, and the DuckDB result types it had seen, alive to the end). The console
script's runs are checked the same way in test_console_script.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SESSION = """
import asyncio
import gc
import threading
import time
import weakref

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from andamios.adapters.duckdb import Database


def workers():
    return [t for t in threading.enumerate() if t.name.startswith("andamios-duckdb")]


def test_connections_returned_to_a_disposed_pool(tmp_path):
    async def main():
        engine = create_async_engine(f"duckdb+async:///{tmp_path / 'pool.duckdb'}")
        async with engine.connect() as first, engine.connect() as second:
            await engine.dispose()
            await first.execute(sa.text("SELECT 1"))
            await second.execute(sa.text("SELECT 1"))
        await engine.dispose()

    asyncio.run(main())
    gc.collect()  # the disposed pool, and the two connections it still held
    deadline = time.monotonic() + 10
    while workers() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert workers() == []


def test_a_disposed_engine_leaves_no_dialect_behind(tmp_path):
    tables = sa.MetaData()
    sa.Table("t", tables, sa.Column("i", sa.Integer))

    async def main():
        engine = create_async_engine(f"duckdb+async:///{tmp_path / 'tables.duckdb'}")
        async with engine.begin() as connection:
            await connection.run_sync(tables.create_all)  # asks which tables exist
            await connection.execute(sa.select(tables.tables["t"]))
        await engine.dispose()
        return weakref.ref(engine.dialect)

    dialect = asyncio.run(main())
    gc.collect()
    assert dialect() is None


def test_a_database_opened_and_closed(tmp_path):
    async def main():
        async with Database(f"duckdb+async:///{tmp_path / 'shop.duckdb'}") as database:
            async with database.engine.begin() as connection:
                await connection.execute(sa.text("CREATE TABLE t (i INTEGER)"))

    asyncio.run(main())
"""


@pytest.mark.subprocess
@pytest.mark.slow
def test_a_pytest_session_on_duckdb_exits_clean(tmp_path: Path) -> None:
    (tmp_path / "test_session.py").write_text(textwrap.dedent(SESSION))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COV")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "3 passed" in done.stdout
    assert "nanobind" not in output, output
