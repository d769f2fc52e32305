"""``python -m examples.shop`` runs the scenario end to end and prints its report."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

REPORT = [
    "order of alice: confirmed, total 50.00",
    "order of bob: rejected, not enough POT-01: 1 left, 2 wanted",
    "order of carol: confirmed, total 18.00",
    "stock: POT-01=6, TEA-01=2",
    "to alice: order confirmed, total 50.00",
    "to purchasing: reorder POT-01: 1 left",
    "to bob: order rejected: not enough POT-01: 1 left, 2 wanted",
    "to carol: order confirmed, total 18.00",
    "to purchasing: reorder TEA-01: 2 left",
    "stored: 2 products, 3 orders",
]


@pytest.mark.parametrize(
    ("args", "where"), [((), "shop on DuckDB, shop.duckdb"), (("--memory",), "shop in memory")]
)
def test_the_shop_runs_end_to_end(args: tuple[str, ...], where: str) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ANDAMIOS_")}
    result = subprocess.run(
        [sys.executable, "-m", "examples.shop", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
        env=environment,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.splitlines() == [where, *REPORT]
