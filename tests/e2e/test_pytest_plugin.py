"""The pytest plugin as a user runs it: a small project of their own, no conftest, every adapter.

The project is written to a temporary folder and tested by ``python -m pytest`` in it, the
plugin loaded from its entry point (as after ``pip install 'andamios[testing]'``), in
pytest-asyncio's strict and auto modes.
"""

from __future__ import annotations

import itertools
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from tests._postgresql import POSTGRESQL_URL, require_postgresql

# Imported here, before any in-process run: pytester removes what a run imported once it ends,
# and DuckDB's extension module cannot be imported a second time in one process (it aborts).
import andamios.adapters.duckdb
import andamios.adapters.postgresql
import andamios.testing.plugin  # noqa: F401

_numbers = itertools.count()

# The project of examples/intermediate/05_testing.py, the one a user reads.
EXAMPLE = runpy.run_path(str(Path(__file__).parents[2] / "examples/intermediate/05_testing.py"))

LEFT_OPEN = """

async def test_left_open_on_purpose(uow_factory):
    from library.domain import Book

    uow = uow_factory()
    await uow.__aenter__()
    await uow.books.add(Book(title="Forgotten"))
"""


def _write(root: Path, mode: str, mark: str, package: str = "library") -> None:
    """The example's project, with a test that leaves a unit of work open on purpose."""
    EXAMPLE["write_project"](root, mode=mode, mark=mark, package=package)
    with (root / "tests" / "test_library.py").open("a") as tests:
        tests.write(LEFT_OPEN.replace("library", package))


def _migrations(root: Path) -> None:
    EXAMPLE["make_migrations"](root)


def _pytest(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done: subprocess.CompletedProcess[str] = EXAMPLE["run_pytest"](root, *args)
    return done


@pytest.mark.subprocess
def test_in_process_every_fixture_on_every_adapter(pytester: pytest.Pytester) -> None:
    package = f"library_{os.getpid()}_{next(_numbers)}"
    _write(pytester.path, "auto", "", package)
    _migrations(pytester.path)
    result = pytester.runpytest("-p", "no:xdist", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=14, errors=2)
    said = result.stdout.str()
    assert "left 1 unit(s) of work open" in said
    assert f"{package}.ports.SqlAlchemyUnitOfWork[Library]" in said
    wrong = pytester.runpytest("-p", "no:xdist", "--andamios-adapters=sqlite")
    assert wrong.ret == pytest.ExitCode.USAGE_ERROR
    assert "sqlite is not an adapter" in wrong.stderr.str()


@pytest.mark.subprocess
@pytest.mark.slow
def test_a_users_tests_in_strict_mode_and_under_xdist(tmp_path: Path) -> None:
    # As a user runs them: python -m pytest, the plugin from its entry point, pytest-asyncio's
    # default strict mode (the tests marked), two xdist workers sharing nothing.
    _write(tmp_path, "strict", "pytestmark = pytest.mark.asyncio")
    _migrations(tmp_path)
    done = _pytest(tmp_path, "-n", "2")
    said = done.stdout + done.stderr
    for test in ("test_a_book_is_stored", "test_the_bus_lends_a_copy", "test_the_container"):
        for adapter in ("memory", "duckdb"):
            assert f"{test}[{adapter}]" in said, said
    assert "asyncio: mode=Mode.STRICT" in said
    # The test that leaves a unit of work open fails, naming itself and the unit of work.
    assert "ERROR tests/test_library.py::test_left_open_on_purpose[duckdb]" in said
    assert "left 1 unit(s) of work open" in said
    assert done.returncode == 1
    assert "14 passed" in said
    assert "2 errors" in said


@pytest.mark.subprocess
def test_in_process_on_postgresql(pytester: pytest.Pytester) -> None:
    require_postgresql()
    package = f"library_{os.getpid()}_{next(_numbers)}"
    _write(pytester.path, "auto", "", package)
    _migrations(pytester.path)
    result = pytester.runpytest(
        "-p",
        "no:xdist",
        "-v",
        "--andamios-adapters=postgresql",
        f"--andamios-postgresql-url={POSTGRESQL_URL}",
    )
    said = result.stdout.str()
    # test_only_on_memory is not collected: postgresql alone was asked for.
    result.assert_outcomes(passed=7, errors=1, skipped=1)  # test_only_on_memory: no adapter
    assert "test_on_a_migrated_file[postgresql] PASSED" in said
    assert "test_the_container[postgresql] PASSED" in said
    assert "[memory]" not in said


PROJECT_MISTAKES = {
    "no unit_of_work": (
        ('unit_of_work = "library.ports:Library"\n', ""),
        "andamios: no unit_of_work: set unit_of_work",
    ),
    "a shape that cannot be imported": (
        ('"library.ports:Library"', '"library.ports:Libary"'),
        "andamios: unit_of_work 'library.ports:Libary' cannot be imported",
    ),
    "a wrong setting": (
        ("[tool.pytest.ini_options]", 'schema_check = "sometimes"\n\n[tool.pytest.ini_options]'),
        "andamios: invalid Andamios settings: schema_check (ANDAMIOS_SCHEMA_CHECK)",
    ),
}


@pytest.mark.parametrize("mistake", PROJECT_MISTAKES)
def test_a_project_misconfigured_says_what_to_set(pytester: pytest.Pytester, mistake: str) -> None:
    (old, new), message = PROJECT_MISTAKES[mistake]
    package = f"library_{os.getpid()}_{next(_numbers)}"
    _write(pytester.path, "auto", "", package)
    pyproject = pytester.path / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            old.replace("library", package), new.replace("library", package)
        )
    )
    result = pytester.runpytest("-p", "no:xdist", "-k", "book_is_stored")
    said = result.stdout.str() + result.stderr.str()
    assert message.replace("library", package) in said
    assert result.ret != pytest.ExitCode.OK


def test_postgresql_without_a_server_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANDAMIOS_TEST_POSTGRESQL_URL", raising=False)
    _write(pytester.path, "auto", "", f"library_{os.getpid()}_{next(_numbers)}")
    result = pytester.runpytest("-p", "no:xdist", "--andamios-adapters=memory,postgresql")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "the postgresql adapter needs a server" in result.stderr.str()


def test_without_the_testing_extra_the_plugin_is_off_and_says_why(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A project with pytest but not the testing extra (pytest-asyncio): its runs go on.
    monkeypatch.setitem(sys.modules, "andamios.testing.plugin", None)
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    result = pytester.runpytest("-p", "no:xdist")
    result.assert_outcomes(passed=1)
    assert "andamios: the pytest plugin is off: " in result.stdout.str()
    asked = pytester.runpytest("-p", "no:xdist", "--andamios-adapters=memory")
    assert asked.ret == pytest.ExitCode.USAGE_ERROR
    assert "andamios: " in asked.stderr.str()
