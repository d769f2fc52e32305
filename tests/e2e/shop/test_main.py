"""``python -m andamios._shop`` runs the scenario end to end and prints its report.

The runs are in this process (so coverage sees the shop, which ships in the package); ``andamios
demo`` runs the same scenario on migrations (``tests/e2e/cli``), and from a plain install
(``tests/e2e/test_install.py``).
"""

from __future__ import annotations

import importlib
import os
import sys

import pytest
from tests._runpy import run_module

from andamios._shop.scenario import main

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


@pytest.fixture(autouse=True)
def no_andamios_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in os.environ if name.startswith("ANDAMIOS_")]:
        monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("args", "where"), [([], "shop on DuckDB, shop.duckdb"), (["--memory"], "shop in memory")]
)
def test_the_shop_runs_end_to_end(
    args: list[str], where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    main(args)
    assert capsys.readouterr().out.splitlines() == [where, *REPORT]


def test_the_module_runs_the_scenario(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["andamios._shop", "--memory"])
    run_module(monkeypatch, "andamios._shop", alter_sys=True)
    assert capsys.readouterr().out.splitlines() == ["shop in memory", *REPORT]
    importlib.import_module("andamios._shop.__main__")  # imported, it runs nothing
    assert capsys.readouterr().out == ""
