"""The contract domain mapped onto DuckDB tables, and the databases the tests run on.

Classes are mapped per use and unmapped afterwards (``contract_mapping()``), so every test starts
from unmapped classes whatever ran before it in the same worker process.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from tests._postgresql import schema_database

from andamios.adapters.duckdb import Database
from andamios.adapters.sqlalchemy import Child, JsonValue, Mapping
from andamios.testing.models import (
    Basket,
    BasketLine,
    BasketNote,
    Carrier,
    Counter,
    Dimensions,
    Gadget,
    Shipment,
    Ticket,
)

__all__ = [
    "DATABASE_KINDS",
    "DUCKDB_KINDS",
    "PARITY_KINDS",
    "SQL_NAMES",
    "contract_mapping",
    "contract_tables",
    "map_basket",
    "map_shipment",
    "map_ticket",
    "open_database",
]

#: The SQL databases every behaviour is tested on: a DuckDB file, in-memory DuckDB, PostgreSQL.
DATABASE_KINDS = ("file", "memory", "postgresql")

#: How a parity test names each of them beside ``"memory"``.
SQL_NAMES = {"file": "duckdb-file", "memory": "duckdb-memory", "postgresql": "postgresql"}

#: The DuckDB ones, for what only DuckDB does (its Arrow path, its words, its files).
DUCKDB_KINDS = ("file", "memory")


def contract_tables(mapping: Mapping) -> tuple[sa.Table, sa.Table]:
    """The ``gadgets`` and ``counters`` tables, in ``mapping.metadata``."""
    gadgets = sa.Table(
        "gadgets",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("sku", sa.String, nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("price", sa.Numeric(12, 2), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("weight", sa.Double),
        sa.Column("note", sa.String),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("released", sa.Date),
        sa.Column("version", sa.Integer, nullable=False),
    )
    counters = sa.Table(
        "counters",
        mapping.metadata,
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("value", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    return gadgets, counters


def map_shipment(mapping: Mapping) -> sa.Table:
    """Map :class:`Shipment` onto a ``shipments`` table agreeing with its constraints."""
    table = sa.Table(
        "shipments",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("code", sa.String(12), nullable=False),
        sa.Column("amount", sa.Numeric(8, 2), nullable=False),
        sa.Column("shipped_at", sa.DateTime(timezone=True)),
        sa.Column("carrier", sa.Enum(Carrier, native_enum=False), nullable=False),
        sa.Column("due", sa.Date),
        sa.Column("fragile", sa.Boolean, nullable=False),
        sa.Column("size", JsonValue(Dimensions)),
        sa.Column("version", sa.Integer, nullable=False),
    )
    mapping.map(Shipment, table)
    return table


def map_ticket(mapping: Mapping) -> sa.Table:
    """Map :class:`Ticket` onto a ``tickets`` table with timezone-aware audit columns."""
    table = sa.Table(
        "tickets",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("title", sa.String, nullable=False),
        sa.Column("done", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True)),
        sa.Column("version", sa.Integer, nullable=False),
    )
    mapping.map(Ticket, table)
    return table


def map_basket(mapping: Mapping) -> tuple[sa.Table, sa.Table, sa.Table]:
    """Map :class:`Basket` with its lines (in position order) and its optional note."""
    baskets = sa.Table(
        "baskets",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("owner", sa.String, nullable=False, unique=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
    lines = sa.Table(
        "basket_lines",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("basket_id", sa.Uuid, sa.ForeignKey("baskets.id"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("sku", sa.String, nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
    )
    notes = sa.Table(
        "basket_notes",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("basket_id", sa.Uuid, sa.ForeignKey("baskets.id"), nullable=False),
        sa.Column("text", sa.String, nullable=False),
    )
    mapping.map(
        Basket,
        baskets,
        children={
            "lines": Child(BasketLine, lines, order_by="position"),
            "note": Child(BasketNote, notes),
        },
    )
    return baskets, lines, notes


@contextlib.contextmanager
def contract_mapping() -> Iterator[Mapping]:
    """A mapping of the contract domain, cleared on exit."""
    mapping = Mapping()
    gadgets, counters = contract_tables(mapping)
    mapping.map(Gadget, gadgets)
    mapping.map(Counter, counters)
    map_shipment(mapping)
    map_ticket(mapping)
    map_basket(mapping)
    try:
        yield mapping
    finally:
        mapping.clear()


def database_url(kind: str, directory: Path) -> str:
    """A ``duckdb+async`` URL: a new file in ``directory``, or an in-memory database."""
    if kind == "file":
        return f"duckdb+async:///{directory / 'andamios.duckdb'}"
    return "duckdb+async:///:memory:"


@contextlib.asynccontextmanager
async def open_database(kind: str, directory: Path, mapping: Mapping) -> AsyncIterator[Any]:
    """A started database with ``mapping``'s tables created, closed on exit.

    The database is new, so the tables are created without first asking whether they exist
    (``Database.create_all`` asks, which costs more than the rest of a typical test).
    PostgreSQL's is a new schema of the test server, dropped on exit.
    """
    if kind == "postgresql":
        async with schema_database(mapping.metadata) as database:
            yield database
        return
    async with Database(database_url(kind, directory)) as database:
        async with database.engine.begin() as connection:
            await connection.run_sync(
                functools.partial(mapping.metadata.create_all, checkfirst=False)
            )
        yield database


#: The SQL databases a parity property test compares the in-memory adapter with.
PARITY_KINDS = ("file", "postgresql")


@contextlib.contextmanager
def module_database(
    directory: Path, mapping: Mapping, kind: str = "file"
) -> Iterator[tuple[asyncio.Runner, Any]]:
    """A database of ``kind`` (default: a file in ``directory``) and an event loop to drive it,
    both kept open across a module's synchronous (hypothesis) tests, closed on exit."""
    with asyncio.Runner() as runner:
        opened = open_database(kind, directory, mapping)
        database = runner.run(opened.__aenter__())
        try:
            yield runner, database
        finally:
            runner.run(opened.__aexit__(None, None, None))
