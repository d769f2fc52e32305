"""One configuration: the application and ``andamios db`` read the same settings.

A project keeps its settings in ``[tool.andamios]`` of its ``pyproject.toml``. The migrations
run from the project's folder; the application starts from another folder and opens the same
database, because relative paths are taken from the ``pyproject.toml``'s folder. Before the
database is migrated, the container refuses to start and names the command to run.

Run: ``uv run python examples/intermediate/13_one_configuration.py``
Alembic's ``Generating ...`` line (a temporary path) is left out below.

It prints::

    before upgrade: SchemaNotMigrated, names the fix: True
    the database: data/library.duckdb
    memory_limit from pyproject.toml: 256MB
    books: ['Domain-Driven Design']
"""

from __future__ import annotations

import asyncio
import io
import os
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import sqlalchemy as sa

from andamios.adapters.duckdb import DuckDBSettings
from andamios.adapters.migrations import Migrations, load_settings
from andamios.adapters.sqlalchemy import Mapping
from andamios.containers import PersistenceContainer
from andamios.domain import AggregateRoot
from andamios.ports import Repository, UnitOfWork
from andamios.ports.errors import SchemaNotMigrated


@dataclass(eq=False, kw_only=True)
class Book(AggregateRoot[UUID]):
    title: str


class Library(UnitOfWork):
    books: Repository[Book, UUID]


mapping = Mapping()
mapping.map(
    Book,
    sa.Table(
        "books",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("title", sa.String, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    ),
)

PYPROJECT = """\
[project]
name = "library"

[tool.andamios]
mapping = "__main__:mapping"
database.url = "duckdb+async:///data/library.duckdb"   # relative to this file's folder
database.memory_limit = "256MB"
"""


def migrate(root: Path, *, upgrade: bool) -> None:
    """What ``andamios db init``, ``revision --autogenerate`` and ``upgrade`` do."""
    migrations = Migrations(load_settings(cwd=root), stdout=io.StringIO())
    if not (root / "migrations").exists():
        migrations.init()
        migrations.revision("create books", autogenerate=True)
    if upgrade:
        migrations.upgrade()


async def start_application() -> PersistenceContainer:
    container = PersistenceContainer(unit_of_work=Library, mapping=mapping)
    await container.init_resources()  # opens the database named in pyproject.toml
    return container


async def main(root: Path) -> None:
    (root / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT))
    (root / "data").mkdir()
    (root / "services" / "api").mkdir(parents=True)
    os.chdir(root / "services" / "api")  # the application starts from another folder

    await asyncio.to_thread(migrate, root, upgrade=False)  # revisions written, not applied
    try:
        await start_application()
    except SchemaNotMigrated as error:
        print(
            f"before upgrade: {type(error).__name__}, names the fix:",
            "andamios db upgrade" in str(error),
        )

    await asyncio.to_thread(migrate, root, upgrade=True)
    container = await start_application()
    try:
        settings = container.started_database().settings
        assert isinstance(settings, DuckDBSettings)
        assert settings.path is not None
        print("the database:", settings.path.relative_to(root))
        print("memory_limit from pyproject.toml:", settings.memory_limit)
        async with container.uow() as uow:
            await uow.books.add(Book(title="Domain-Driven Design"))
            await uow.commit()
        async with container.uow() as uow:
            print("books:", [book.title for book in await uow.books.find()])
    finally:
        await container.shutdown_resources()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        here = Path.cwd()
        try:
            asyncio.run(main(Path(folder).resolve()))
        finally:
            os.chdir(here)
