"""The driver micro-benchmark (``benchmarks/bench_duckdb_driver.py``) runs in smoke mode."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).parents[3] / "benchmarks" / "bench_duckdb_driver.py"


@pytest.mark.subprocess
def test_driver_benchmark_smoke() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCHMARK), "--smoke"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    measured = dict(line.rsplit(maxsplit=1) for line in result.stdout.splitlines())
    assert float(measured["raw duckdb cursor, PK select"]) > 0
    assert float(measured["cancel a running query (ms)"]) < 2000
