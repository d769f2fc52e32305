"""The optional pieces (extras) of ADR 0013: what each needs, and what Andamios does without it.

A missing package is simulated with ``sys.modules[name] = None``: importing it then fails as if
it were not installed. The bulk extra's fallback is tested on DuckDB
(``tests/integration/duckdb/test_without_pyarrow.py``).
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from andamios import run

ROOT = Path(__file__).resolve().parents[3]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _requirements(section: list[str]) -> dict[str, Requirement]:
    return {(r := Requirement(line)).name: r for line in section}


@pytest.mark.parametrize("module", ["pytest", "pytest_asyncio"])
def test_andamios_testing_without_pytest_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, module: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    loaded = [
        n for n in sys.modules if n == "andamios.testing" or n.startswith("andamios.testing.")
    ]
    for name in loaded:
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'andamios\[testing\]'") as caught:
        importlib.import_module("andamios.testing")
    assert caught.value.name == module
    assert f"{module} is not installed" in str(caught.value)


def test_run_uses_asyncio_s_own_loop_without_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)

    async def loop_type() -> type:
        return type(asyncio.get_running_loop())

    kind = run(loop_type)
    assert kind.__module__.startswith("asyncio")
    assert "uvloop" not in kind.__module__


def test_each_extra_holds_what_its_code_imports() -> None:
    extras = {
        name: set(_requirements(lines)) for name, lines in PROJECT["optional-dependencies"].items()
    }
    assert extras == {
        "bulk": {"pyarrow"},
        "opentelemetry": {"opentelemetry-api"},
        "polars": {"polars", "pyarrow"},
        "postgresql": {"asyncpg"},
        "testing": {"factory-boy", "pytest", "pytest-asyncio"},
        "uvloop": {"uvloop"},
    }
    base = set(_requirements(PROJECT["dependencies"]))
    assert not base & set().union(*extras.values())  # an extra is never also in the base


@pytest.mark.parametrize("name", ["sqlalchemy", "alembic", "duckdb", "duckdb-engine"])
def test_libraries_whose_internals_we_use_are_bounded_both_ways(name: str) -> None:
    requirement = _requirements(PROJECT["dependencies"])[name]
    operators = {spec.operator for spec in requirement.specifier}
    assert operators == {">=", "<"}, requirement
