"""Testing your application on every adapter: the Andamios pytest plugin, from a user's view.

A small library service (a Book aggregate, a unit of work, a handler, a factory) with its tests
and no conftest: ``[tool.andamios]`` names the unit-of-work shape and the mapping, and every test
that asks for ``uow_factory``, ``message_bus``, ``andamios_database`` or ``andamios_container``
runs once on the in-memory adapter and once on DuckDB. The script writes the project to a
temporary folder, makes its migrations as ``andamios db init`` and ``revision --autogenerate``
do, runs ``pytest`` there and prints what it reported.

Run: ``uv run python examples/intermediate/05_testing.py``

It prints::

    test_a_book_is_stored[memory] PASSED
    test_a_book_is_stored[duckdb] PASSED
    test_the_bus_lends_a_copy[memory] PASSED
    test_the_bus_lends_a_copy[duckdb] PASSED
    test_on_a_migrated_file[memory] PASSED
    test_on_a_migrated_file[duckdb] PASSED
    test_only_on_memory[memory] PASSED
    test_the_container[memory] PASSED
    test_the_container[duckdb] PASSED
    test_a_factory_stores_through_any_adapter[memory] PASSED
    test_a_factory_stores_through_any_adapter[duckdb] PASSED
    test_without_andamios_fixtures_runs_once PASSED
    12 passed
    exit code: 0
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

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

FACTORIES = """\
import factory

from andamios.testing.factories import AggregateFactory

from library.domain import Book


class BookFactory(AggregateFactory[Book]):
    class Meta:
        model = Book

    title = factory.Sequence(lambda n: f"Book {n}")
    copies = factory.Faker("pyint", min_value=1, max_value=5)
"""

TESTS = """\
import pytest

from library.domain import Book
from library.factories import BookFactory
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


async def test_a_factory_stores_through_any_adapter(uow_factory):
    async with uow_factory() as uow:
        await BookFactory.create_batch(3, uow=uow)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.books.count() == 3


def test_without_andamios_fixtures_runs_once():
    assert True

"""

FILES = {
    "library/__init__.py": "",
    "library/domain.py": DOMAIN,
    "library/ports.py": PORTS,
    "library/orm.py": ORM,
    "library/handlers.py": HANDLERS,
    "library/factories.py": FACTORIES,
}


def write_project(
    root: Path, *, mode: str = "auto", mark: str = "", package: str = "library"
) -> None:
    """The project in ``root``: pytest-asyncio in ``mode``, ``mark`` atop the test module, its
    package named ``package``."""
    (root / "pyproject.toml").write_text(PYPROJECT.format(mode=mode).replace("library", package))
    for name, text in FILES.items():
        path = root / name.replace("library", package)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace("library", package))
    (root / "tests").mkdir(exist_ok=True)
    tests = TESTS.format(mark=mark).replace("library", package)
    (root / "tests" / "test_library.py").write_text(tests)


def environment() -> dict[str, str]:
    """This process's environment without Andamios settings or coverage's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV", "ANDAMIOS_"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def make_migrations(root: Path) -> None:
    """``andamios db init`` and ``andamios db revision --autogenerate``, as a user runs them."""
    andamios = Path(sys.executable).parent / "andamios"
    for args in (["db", "init"], ["db", "revision", "-m", "books", "--autogenerate"]):
        subprocess.run(
            [str(andamios), *args], cwd=root, capture_output=True, check=True, env=environment()
        )


def run_pytest(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m pytest -v`` in ``root``."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env=environment(),
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_project(root)
        make_migrations(root)
        done = run_pytest(root)
        for line in done.stdout.splitlines():
            if "::" in line:  # tests/test_library.py::test_x[memory] PASSED  [ 8%]
                print(line.split("::", 1)[1].rsplit(" [", 1)[0].strip())
            elif " passed" in line:
                print(line.strip("= ").split(" in ")[0])
        print("exit code:", done.returncode)


if __name__ == "__main__":
    main()
