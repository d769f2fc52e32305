"""The registry of databases by URL (``andamios.adapters.databases``), as migrations use it."""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from andamios.adapters import databases, duckdb, postgresql
from andamios.adapters.databases import (
    ENTRY_POINT_GROUP,
    backend_name,
    database_class,
    open_database,
)
from andamios.ports.errors import ConfigurationError


class OutsideDatabase:
    """A third party's database, registered by entry point."""

    def __init__(self, url: str, *, region: str = "eu") -> None:
        self.url = url
        self.region = region

    @classmethod
    def resolve_url(cls, url: str, base: Path) -> str:
        return url

    @property
    def engine(self) -> AsyncEngine:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None


NOT_A_CLASS = "a database"


def _register(monkeypatch: pytest.MonkeyPatch, **points: str) -> None:
    """Make the registry see ``points`` (name -> "module:attribute") besides Andamios' own."""
    shipped = list(entry_points(group=ENTRY_POINT_GROUP))
    extra = [EntryPoint(name, value, ENTRY_POINT_GROUP) for name, value in points.items()]

    def found(*, group: str) -> list[EntryPoint]:
        assert group == ENTRY_POINT_GROUP
        return [*shipped, *extra]

    monkeypatch.setattr(databases, "entry_points", found)


def test_a_url_names_its_backend() -> None:
    assert backend_name("duckdb+async:///app.duckdb") == "duckdb"
    assert backend_name("postgresql+asyncpg://u@h/db") == "postgresql"
    assert backend_name("postgres://u@h/db") == "postgresql"
    with pytest.raises(ConfigurationError, match="'not a url' is not a database URL"):
        backend_name("not a url")
    with pytest.raises(ConfigurationError, match=r"'postgresql://u:\*\*\*@h:x/db' is not a"):
        backend_name("postgresql://u:secret@h:x/db")


def test_the_shipped_databases_are_found_by_entry_point() -> None:
    assert database_class("duckdb+async:///:memory:") is duckdb.Database
    assert database_class("duckdb:///app.duckdb") is duckdb.Database
    assert database_class("postgresql+asyncpg://u@h/db") is postgresql.Database
    assert database_class("postgres://u@h/db") is postgresql.Database


def test_an_unknown_backend_names_the_known_ones() -> None:
    with pytest.raises(
        ConfigurationError,
        match=r"'sqlite:///x': Andamios has no database for 'sqlite' URLs; known: duckdb, "
        r"postgresql \(an adapter registers its own as an entry point of group "
        r"'andamios.databases'\)",
    ):
        database_class("sqlite:///x")


def test_a_third_party_database_registers_by_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    _register(monkeypatch, outside=f"{__name__}:OutsideDatabase")
    database = open_database("outside://cluster/shop", region="us")
    assert isinstance(database, OutsideDatabase)
    assert (database.url, database.region) == ("outside://cluster/shop", "us")
    with pytest.raises(ConfigurationError, match="known: duckdb, outside, postgresql"):
        database_class("mysql://h/db")


def test_broken_registrations_are_configuration_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    _register(
        monkeypatch, gone="no_such_module_of_andamios:Database", odd=f"{__name__}:NOT_A_CLASS"
    )
    with pytest.raises(
        ConfigurationError,
        match=r"the gone database \(no_such_module_of_andamios:Database\) cannot be imported: "
        r"No module named 'no_such_module_of_andamios'; is its driver installed\?",
    ):
        database_class("gone://h/db")
    with pytest.raises(ConfigurationError, match="is a str, not a Database class"):
        database_class("odd://h/db")


def test_settings_a_database_does_not_take_are_named() -> None:
    with pytest.raises(
        ConfigurationError,
        match=r"a duckdb database does not take the settings given \(schema\): .*'schema'",
    ):
        open_database("duckdb+async:///:memory:", schema="shop")
    database: Any = open_database("duckdb+async:///:memory:", threads=1)
    assert database.settings.threads == 1


def test_each_database_resolves_its_urls(tmp_path: Path) -> None:
    assert duckdb.Database.resolve_url("duckdb:///app.duckdb", tmp_path) == (
        f"duckdb+async:///{tmp_path / 'app.duckdb'}"
    )
    assert duckdb.Database.resolve_url("duckdb+async:///:memory:", tmp_path) == (
        "duckdb+async:///:memory:"
    )
    # A server's URL names no file; the driver is asyncpg's, sslmode is asyncpg's ssl.
    assert postgresql.Database.resolve_url("postgres://u:pw@h/db?sslmode=require", tmp_path) == (
        "postgresql+asyncpg://u:pw@h/db?ssl=require"
    )
    with pytest.raises(ConfigurationError, match="is not a PostgreSQL URL"):
        postgresql.Database.resolve_url("duckdb:///x", tmp_path)
    with pytest.raises(ConfigurationError, match="is not a DuckDB URL"):
        duckdb.Database.resolve_url("postgresql://h/x", tmp_path)
