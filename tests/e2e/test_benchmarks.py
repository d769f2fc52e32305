"""The benchmark suite runs in quick mode and reports every operation (timings never fail it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

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


def test_quick_benchmarks_run_and_write_every_operation(tmp_path: Path) -> None:
    output = tmp_path / "bench.json"
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--json", str(output)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "[1/3] bulk inserts" in completed.stdout  # progress while it runs
    assert "operation" in completed.stdout  # the table's header
    report = json.loads(output.read_text())
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
