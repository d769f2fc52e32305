"""The benchmark suite runs in quick mode and reports every operation (timings never fail it).

The PostgreSQL section is checked when the server answers (``ANDAMIOS_TEST_POSTGRESQL_URL``, by
default the local one); without it the benchmark must say it skipped the section, and the test
skips, except under ``CI=true``, where an unreachable server is a failure.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]

POSTGRESQL_URL = os.environ.get(
    "ANDAMIOS_TEST_POSTGRESQL_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)

OPERATIONS = [
    "add_many + commit, 1,000",
    "add_many + commit, 5,000",
    "get-by-id",
    "find: filter + order + limit 20",
    "count with a filter",
    "bulk update of 1,000 loaded + commit",
    "stream 5,000 aggregates",
    "empty unit of work",
    "RSS: import + open + 1 round-trip",
]

POSTGRESQL_OPERATIONS = [
    "add_many + commit, 1,000",
    "add_many + commit, 5,000",
    "get-by-id",
    "find: filter + order + limit 20",
    "count with a filter",
    "bulk update of 1,000 loaded + commit",
    "stream 5,000 aggregates",
    "empty unit of work",
]


class QuickRun:
    def __init__(self, completed: subprocess.CompletedProcess[str], report: dict[str, Any]):
        self.completed = completed
        self.report = report


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> QuickRun:
    output = tmp_path_factory.mktemp("bench") / "bench.json"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.run",
            "--quick",
            "--json",
            str(output),
            "--postgresql-url",
            POSTGRESQL_URL,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return QuickRun(completed, json.loads(output.read_text()))


def test_quick_benchmarks_run_and_write_every_operation(quick_run: QuickRun) -> None:
    stdout = quick_run.completed.stdout
    assert "[1/4] bulk inserts" in stdout  # progress while it runs
    assert "operation" in stdout  # the table's header
    report = quick_run.report
    assert report["mode"] == "quick"
    assert report["crashed"] == []
    results = report["results"]
    assert len(results) == len(OPERATIONS)
    for result, expected in zip(results, OPERATIONS, strict=True):
        assert result["operation"].startswith(expected)
        assert result["andamios_us"] > 0
        assert set(result["peers_us"]) <= {"raw duckdb", "SQLAlchemy ORM"}
        assert result["peers_us"]["raw duckdb"] > 0
        assert result["passed"] in (True, False, None)


def _unreachable() -> str | None:
    url = make_url(POSTGRESQL_URL)
    address = (url.host or "127.0.0.1", url.port or 5432)
    try:
        with socket.create_connection(address, timeout=2):
            return None
    except OSError as error:
        return f"PostgreSQL at {address[0]}:{address[1]} is not reachable ({error})"


async def _schema_exists(schema: str) -> bool:
    import asyncpg  # type: ignore[import-untyped, unused-ignore]  # noqa: PLC0415

    dsn = make_url(POSTGRESQL_URL).set(drivername="postgresql")
    conn = await asyncpg.connect(dsn.render_as_string(hide_password=False))
    try:
        found = await conn.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema)
    finally:
        await conn.close()
    return bool(found)


def test_quick_benchmarks_run_postgresql_beside_raw_asyncpg(quick_run: QuickRun) -> None:
    stdout = quick_run.completed.stdout
    section = quick_run.report["postgresql"]
    reason = _unreachable()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must benchmark PostgreSQL", pytrace=False)
        # Skipped with one line saying why, and the DuckDB rows are all there.
        assert section["skipped"]
        assert "PostgreSQL (ratio to raw asyncpg): skipped: " in stdout
        pytest.skip(reason)
    assert section["skipped"] is None, section["skipped"]
    assert "PostgreSQL (ratio to raw asyncpg)" in stdout
    assert section["title"].startswith("PostgreSQL (ratio to raw asyncpg)")
    assert section["server_version"]
    results = section["results"]
    assert len(results) == len(POSTGRESQL_OPERATIONS)
    for result, expected in zip(results, POSTGRESQL_OPERATIONS, strict=True):
        assert result["operation"].startswith(expected)
        assert result["andamios_us"] > 0
        assert set(result["peers_us"]) == {"raw asyncpg"}
        assert result["peers_us"]["raw asyncpg"] > 0
        assert result["paired_ratios"]["raw asyncpg"] > 0
    # The run's schema is gone.
    assert section["schema"].startswith("bench_")
    assert not asyncio.run(_schema_exists(section["schema"]))
