"""Import, open and one read make one DuckDB database: the one opened (issue 15, memory).

Each DuckDB database costs resident memory (the first of a process ~35 MiB) and, while it lives,
its own threads. duckdb-engine's import opened one to test ``COMMENT ON``, the first connect one
more to list DuckDB's settings, and PostgreSQL's dialect ran ``select current_schema()`` at the
first connect (~1 MiB on its own). These tests pin that none of it comes back.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

import andamios.adapters.duckdb as adapter
from andamios.adapters.duckdb import AsyncDuckDBDialect, Database, DuckDBInspector, DuckDBType
from andamios.adapters.duckdb._core_options import DUCKDB_OPTIONS, MOTHERDUCK_OPTIONS
from andamios.adapters.duckdb._duckdb_engine import (
    _POSTGRESQL,
    _postgresql_without_its_drivers,
    _supports_module,
    load_duckdb_engine,
)

# A fresh interpreter records every way to make a DuckDB database (a connect, the module-level
# cursor() and default_connection() of the default database), imports Andamios, opens a file
# and reads one aggregate, then counts the threads that are not Python's: DuckDB's.
_PROGRAM = textwrap.dedent(
    """
    import asyncio, json, os, sys, threading, uuid
    import duckdb

    calls = []

    def recording(name):
        original = getattr(duckdb, name)
        def record(*args, **kwargs):
            calls.append([name, [str(arg) for arg in args]])
            return original(*args, **kwargs)
        setattr(duckdb, name, record)

    for name in ("connect", "cursor", "default_connection"):
        recording(name)

    from dataclasses import dataclass
    import sqlalchemy as sa
    from andamios.adapters.duckdb import Database
    from andamios.adapters.sqlalchemy import Mapping, SqlAlchemyUnitOfWork
    from andamios.domain import AggregateRoot
    from andamios.ports import Repository, UnitOfWork

    @dataclass(eq=False, kw_only=True)
    class Product(AggregateRoot[uuid.UUID]):
        name: str

    class Shop(UnitOfWork):
        products: Repository[Product, uuid.UUID]

    def build_mapping():
        mapping = Mapping()
        table = sa.Table(
            "products", mapping.metadata,
            sa.Column("id", sa.Uuid, primary_key=True),
            sa.Column("name", sa.String, nullable=False),
            sa.Column("version", sa.Integer, nullable=False),
        )
        mapping.map(Product, table)
        return mapping

    def duckdb_threads():
        return len(os.listdir("/proc/self/task")) - threading.active_count()

    async def main(path):
        async with Database("duckdb+async:///" + path) as db:
            new_uow = SqlAlchemyUnitOfWork.factory(Shop, database=db, mapping=build_mapping())
            async with new_uow() as uow:
                assert await uow.products.get_or_none(uuid.uuid4()) is None
            return duckdb_threads(), sorted(name for name in sys.modules if "andamios" in name)

    path = sys.argv[1]
    threads, modules = asyncio.run(main(path))
    made = list(calls)
    postgresql = sorted(name for name in sys.modules if "dialects.postgresql" in name)
    # Then a PostgreSQL program in the same process: the whole package, its base module shared.
    import sqlalchemy.dialects.postgresql as pg
    later = {
        "base_shared": pg.base is sys.modules["sqlalchemy.dialects.postgresql.base"],
        "asyncpg": type(sa.create_engine("postgresql+asyncpg://u@h/d").dialect).__name__,
        "names": [hasattr(pg, name) for name in ("UUID", "insert", "JSONB", "psycopg2")],
    }
    after_close = duckdb_threads()
    # One more database, to compare with: DuckDB's thread count depends on the host.
    extra = duckdb.connect(":memory:")
    with_another = duckdb_threads()
    extra.close()
    print(json.dumps({
        "calls": made, "threads": threads, "after_close": after_close,
        "with_another": with_another, "modules": modules,
        "postgresql": postgresql, "later": later,
    }))
    """
)


@pytest.fixture(scope="module")
def footprint(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    path = tmp_path_factory.mktemp("footprint") / "shop.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute(
            "CREATE TABLE products "
            "(id UUID PRIMARY KEY, name VARCHAR NOT NULL, version INTEGER NOT NULL)"
        )
        conn.execute("INSERT INTO products SELECT uuidv7(), 'tea ' || i, 1 FROM range(10) t(i)")
    completed = subprocess.run(
        [sys.executable, "-c", _PROGRAM, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    found: dict[str, object] = json.loads(completed.stdout.splitlines()[-1])
    found["path"] = str(path)
    return found


@pytest.mark.subprocess
def test_import_open_and_one_read_make_only_the_database_opened(
    footprint: dict[str, object],
) -> None:
    # Not duckdb-engine's import, not its settings list, not the default database.
    assert footprint["calls"] == [["connect", [footprint["path"]]]]


@pytest.mark.subprocess
def test_the_threads_left_are_those_of_one_database(footprint: dict[str, object]) -> None:
    # While open: the threads of one database (as many as another one has). Once closed: none;
    # a default database (duckdb.cursor()) would live on, with its threads, to the end.
    threads = footprint["threads"]
    assert isinstance(threads, int)
    assert threads > 0
    assert footprint["after_close"] == 0
    assert footprint["with_another"] == threads


@pytest.mark.subprocess
def test_reflection_is_not_imported_for_a_unit_of_work(footprint: dict[str, object]) -> None:
    modules = footprint["modules"]
    assert isinstance(modules, list)
    assert "andamios.adapters.duckdb._reflection" not in modules
    assert "andamios.adapters.duckdb._types" not in modules


@pytest.mark.subprocess
def test_neither_read_models_nor_error_explanations_are_imported_for_a_get(
    footprint: dict[str, object],
) -> None:
    modules = footprint["modules"]
    assert isinstance(modules, list)
    assert "andamios.adapters.sqlalchemy._repository" in modules
    for lazy in (
        "andamios.domain._query",
        "andamios.ports._query_plan",
        "andamios.ports._raw_sql",
        "andamios.adapters.sqlalchemy._query",
        "andamios.adapters.sqlalchemy._explain",
    ):
        assert lazy not in modules


@pytest.mark.subprocess
def test_no_postgresql_driver_dialect_is_imported_for_duckdb(footprint: dict[str, object]) -> None:
    # duckdb-engine builds on PostgreSQL's base and psycopg2 dialects; the package's __init__
    # would import asyncpg's, pg8000's, psycopg's and psycopg2cffi's too.
    modules = footprint["postgresql"]
    assert isinstance(modules, list)
    assert "sqlalchemy.dialects.postgresql.base" in modules
    assert "sqlalchemy.dialects.postgresql" not in modules
    for driver in ("asyncpg", "pg8000", "psycopg", "psycopg2cffi"):
        assert f"sqlalchemy.dialects.postgresql.{driver}" not in modules


@pytest.mark.subprocess
def test_postgresql_imported_afterwards_is_the_whole_package(
    footprint: dict[str, object],
) -> None:
    assert footprint["later"] == {
        "base_shared": True,
        "asyncpg": "PGDialect_asyncpg",
        "names": [True, True, True, True],
    }


def test_postgresql_is_bare_only_while_duckdb_engine_imports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sqlalchemy.dialects import postgresql  # noqa: PLC0415 - loaded by now in any case

    with _postgresql_without_its_drivers():  # loaded: nothing to do
        assert sys.modules[_POSTGRESQL] is postgresql
    monkeypatch.delitem(sys.modules, _POSTGRESQL)
    monkeypatch.delattr(sys.modules["sqlalchemy.dialects"], "postgresql")
    with _postgresql_without_its_drivers():
        bare = sys.modules[_POSTGRESQL]
        assert bare is not postgresql
        assert (bare.UUID, bare.insert) == (postgresql.UUID, postgresql.insert)
        assert bare.arraylib is postgresql.arraylib
    assert _POSTGRESQL not in sys.modules
    assert not hasattr(sys.modules["sqlalchemy.dialects"], "postgresql")


def test_reflection_names_are_imported_on_first_use() -> None:
    from andamios.adapters.duckdb._reflection import DuckDBInspector as Inspector  # noqa: PLC0415
    from andamios.adapters.duckdb._types import DuckDBType as Type  # noqa: PLC0415

    assert (DuckDBInspector, DuckDBType) == (Inspector, Type)
    assert AsyncDuckDBDialect().inspector is Inspector
    with pytest.raises(AttributeError, match="no_such_name"):
        adapter.no_such_name  # noqa: B018 - the lookup is the test


def test_the_core_options_are_the_installed_duckdbs_settings() -> None:
    # A DuckDB upgrade with new settings fails here: write them into the set.
    with duckdb.connect(":memory:") as conn:
        settings = {
            name for (name,) in conn.execute("SELECT name FROM duckdb_settings()").fetchall()
        }
    assert settings | MOTHERDUCK_OPTIONS == DUCKDB_OPTIONS


def test_duckdb_engine_is_loaded_once_with_comments_supported() -> None:
    engine = load_duckdb_engine()
    assert load_duckdb_engine() is engine is sys.modules["duckdb_engine"]
    assert engine._supports.has_comment_support() is True
    assert engine.Dialect.supports_comments is True


def test_a_missing_duckdb_engine_is_an_import_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match="duckdb_engine"):
        _supports_module()


async def test_the_default_schema_is_the_one_duckdb_starts_in(tmp_path: Path) -> None:
    async with Database(f"duckdb+async:///{tmp_path / 'schema.duckdb'}") as db:
        async with db.engine.connect() as conn:
            current = await conn.scalar(sa.text("SELECT current_schema()"))
        assert db.engine.dialect.default_schema_name == current == "main"
