"""The pytest plugin as a user runs it: a small project of their own, no conftest, every adapter.

The project is written to a temporary folder and tested by ``python -m pytest`` in it, the
plugin loaded from its entry point (as after ``pip install 'andamios[testing]'``), in
pytest-asyncio's strict and auto modes.
"""

from __future__ import annotations

import itertools
import os
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

PYPROJECT = """\
[project]
name = "library"
version = "0"

[tool.andamios]
unit_of_work = "library.ports:Library"
mapping = "library.orm:mapping"
database.url = "duckdb+async:///library.duckdb"   # the development database; tests make their own

[tool.pytest.ini_options]
pythonpath = ["."]
asyncio_mode = "{mode}"
asyncio_default_fixture_loop_scope = "function"
andamios_handlers = ["library.handlers:register"]
"""

DOMAIN = """\
from dataclasses import dataclass
from uuid import UUID

from andamios.domain import AggregateRoot


@dataclass(eq=False, kw_only=True)
class Book(AggregateRoot[UUID]):
    title: str
    copies: int = 1

    def lend(self) -> None:
        if self.copies == 0:
            raise ValueError(f"no copy of {self.title} left")
        self.copies -= 1
"""

PORTS = """\
from uuid import UUID

from andamios.ports import Repository, UnitOfWork

from library.domain import Book


class Library(UnitOfWork):
    books: Repository[Book, UUID]
"""

ORM = """\
import sqlalchemy as sa

from andamios.adapters.sqlalchemy import Mapping

from library.domain import Book

mapping = Mapping()
mapping.map(
    Book,
    sa.Table(
        "books",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("title", sa.String, nullable=False),
        sa.Column("copies", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    ),
)
"""

HANDLERS = """\
from uuid import UUID

from andamios.application import Command, MessageBus

from library.ports import Library


class Lend(Command[int]):
    book_id: UUID


async def lend(command: Lend, uow: Library) -> int:
    async with uow:
        book = await uow.books.get(command.book_id)
        book.lend()
        await uow.commit()
    return book.copies


def register(bus: MessageBus[Library]) -> None:
    bus.register(Lend, lend)
"""

TESTS = """\
import pytest
from andamios.domain import uuid7

from library.domain import Book
from library.handlers import Lend

{mark}


async def test_a_book_is_stored(uow_factory, andamios_adapter):
    assert "Library" in repr(uow_factory)
    async with uow_factory() as uow:
        await uow.books.add(Book(title="Dune"))
        await uow.commit()
    async with uow_factory() as uow:
        assert [book.title for book in await uow.books.find()] == ["Dune"]
    assert andamios_adapter in ("memory", "duckdb", "postgresql")


async def test_the_bus_lends_a_copy(uow_factory, message_bus):
    book = Book(title="Emma", copies=2)
    async with uow_factory() as uow:
        await uow.books.add(book)
        await uow.commit()
    assert await message_bus.handle(Lend(book_id=book.id)) == 1


@pytest.mark.andamios(migrate=True)
async def test_on_a_migrated_file(andamios_database, uow):
    async with uow:
        assert await uow.books.count() == 0


@pytest.mark.andamios(adapters=["memory"])
async def test_only_on_memory(andamios_adapter):
    assert andamios_adapter == "memory"


async def test_the_container(andamios_container):
    async with andamios_container.uow() as uow:
        await uow.books.add(Book(title="Ulysses"))
        await uow.commit()


def test_without_andamios_fixtures_runs_once():
    assert True


async def test_left_open_on_purpose(uow_factory):
    uow = uow_factory()
    await uow.__aenter__()
    await uow.books.add(Book(title="Forgotten", id=uuid7()))
"""


def _write(root: Path, mode: str, mark: str, package: str = "library") -> None:
    """The project, its package named ``package`` (unique when run in this process)."""
    (root / package).mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT.format(mode=mode).replace("library", package))
    for name, text in {
        "__init__": "",
        "domain": DOMAIN,
        "ports": PORTS,
        "orm": ORM,
        "handlers": HANDLERS,
    }.items():
        (root / package / f"{name}.py").write_text(text.replace("library", package))
    (root / "tests").mkdir()
    (root / "tests" / "test_library.py").write_text(
        TESTS.format(mark=mark).replace("library", package)
    )


def _migrations(root: Path) -> None:
    """The project's migrations, made as a user makes them (andamios db init + revision)."""
    andamios = Path(sys.executable).parent / "andamios"
    for args in (["db", "init"], ["db", "revision", "-m", "books", "--autogenerate"]):
        done = subprocess.run(
            [str(andamios), *args],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
            env=_env(),
        )
        assert done.returncode == 0, done.stderr


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV", "ANDAMIOS_"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _pytest(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-v",
            "-s",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            *args,
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env=_env(),
    )


@pytest.mark.subprocess
def test_in_process_every_fixture_on_every_adapter(pytester: pytest.Pytester) -> None:
    package = f"library_{os.getpid()}_{next(_numbers)}"
    _write(pytester.path, "auto", "", package)
    _migrations(pytester.path)
    result = pytester.runpytest("-p", "no:xdist", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=12, errors=2)
    said = result.stdout.str()
    assert "left 1 unit(s) of work open" in said
    assert f"{package}.ports.SqlAlchemyUnitOfWork[Library]" in said
    wrong = pytester.runpytest("-p", "no:xdist", "--andamios-adapters=sqlite")
    assert wrong.ret == pytest.ExitCode.USAGE_ERROR
    assert "sqlite is not an adapter" in wrong.stderr.str()


@pytest.mark.subprocess
@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "mark"),
    [("auto", ""), ("strict", "pytestmark = pytest.mark.asyncio")],
)
def test_a_users_tests_run_on_every_adapter(tmp_path: Path, mode: str, mark: str) -> None:
    _write(tmp_path, mode, mark)
    _migrations(tmp_path)
    done = _pytest(tmp_path)
    said = done.stdout + done.stderr
    for test in ("test_a_book_is_stored", "test_the_bus_lends_a_copy", "test_the_container"):
        for adapter in ("memory", "duckdb"):
            assert f"{test}[{adapter}] PASSED" in said, said
    assert "test_on_a_migrated_file[duckdb] PASSED" in said
    assert "test_only_on_memory[memory] PASSED" in said
    assert "test_only_on_memory[duckdb]" not in said
    # The test that leaves a unit of work open fails, naming itself and the unit of work.
    assert "test_left_open_on_purpose[memory] ERROR" in said
    assert "test_left_open_on_purpose[duckdb] ERROR" in said
    assert "left 1 unit(s) of work open" in said
    assert done.returncode == 1
    assert "12 passed" in said
    assert "2 errors" in said
    assert f"asyncio: mode=Mode.{mode.upper()}" in said


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
    result.assert_outcomes(passed=6, errors=1, skipped=1)  # test_only_on_memory: no adapter
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
