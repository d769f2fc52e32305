"""``examples/basic/01_connection.py`` runs and prints what it promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

EXAMPLE = Path(__file__).parents[3] / "examples" / "basic" / "01_connection.py"


@pytest.mark.subprocess
def test_connection_example_runs() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=120, check=True
    )
    lines = result.stdout.splitlines()
    assert lines[0] == "file: shop.duckdb has 2 products (threads=2)"
    assert lines[1] == f"health: ok=True duckdb={duckdb.__version__}"
    assert lines[2] == "memory: two connections see [1, 1] products"
    assert lines[3].startswith("ConfigurationError: 'sqlite:///shop.db' is not a DuckDB URL")
    locked, ours = lines[4].removeprefix("DatabaseLocked: held by PID ").split(" (ours: ")
    assert locked == ours.rstrip(")")
    assert len(lines) == 5
