"""One aggregate's table with a foreign key to another's: a change to the referenced aggregate
commits on every adapter.

DuckDB cannot update a row a foreign key references ("still referenced by a foreign key"), and
Andamios updates an aggregate's row at each change (its version). So a foreign key between the
tables of a mapping is created only where the dialect can serve it (PostgreSQL), as a child's to
its root is (ADR 0009): on DuckDB it defines the relation without being created, as in memory,
whichever aggregate was mapped first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateTable
from tests._postgresql import schema_database

from andamios.adapters.duckdb import Database
from andamios.adapters.duckdb._dialect import AsyncDuckDBDialect
from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import Mapping, SqlAlchemyUnitOfWork
from andamios.domain import AggregateRoot
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory


@dataclass(eq=False, kw_only=True)
class Customer(AggregateRoot[UUID]):
    name: str


@dataclass(eq=False, kw_only=True)
class Order(AggregateRoot[UUID]):
    customer_id: UUID


class Sales(UnitOfWork):
    customers: Repository[Customer, UUID]
    orders: Repository[Order, UUID]


def _mapping(*, orders_first: bool) -> Mapping:
    mapping = Mapping()
    customers = sa.Table(
        "customers",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    orders = sa.Table(
        "orders",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("customer_id", sa.Uuid, sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    steps = [(Order, orders), (Customer, customers)]
    for kind, table in steps if orders_first else reversed(steps):
        mapping.map(kind, table)
    return mapping


@pytest.fixture(params=[False, True], ids=["customers-mapped-first", "orders-mapped-first"])
def mapping(request: pytest.FixtureRequest) -> Iterator[Mapping]:
    mapped = _mapping(orders_first=request.param)
    yield mapped
    mapped.clear()


@asynccontextmanager
async def _factory(
    kind: str, mapping: Mapping, tmp_path: Path
) -> AsyncIterator[UnitOfWorkFactory[Sales]]:
    if kind == "memory":
        yield InMemoryUnitOfWork.factory(Sales)
        return
    if kind == "postgresql":
        async with schema_database(mapping.metadata) as database:
            yield SqlAlchemyUnitOfWork.factory(Sales, database=database, mapping=mapping)
        return
    url = (
        "duckdb+async:///:memory:"
        if kind == "duckdb-memory"
        else f"duckdb+async:///{tmp_path}/s.duckdb"
    )
    async with Database(url) as database:
        await database.create_all(mapping.metadata)
        yield SqlAlchemyUnitOfWork.factory(Sales, database=database, mapping=mapping)


@pytest.mark.parametrize("kind", ["memory", "duckdb-memory", "duckdb-file", "postgresql"])
async def test_a_referenced_aggregate_changes_and_is_removed_after_its_referrer(
    kind: str, mapping: Mapping, tmp_path: Path
) -> None:
    async with _factory(kind, mapping, tmp_path) as new_uow:
        ada = Customer(name="Ada")
        order = Order(customer_id=ada.id)
        async with new_uow() as uow:
            await uow.customers.add(ada)
            await uow.orders.add(order)
            await uow.commit()
        async with new_uow() as uow:
            (await uow.customers.get(ada.id)).name = "Ada Lovelace"
            await uow.commit()
        async with new_uow() as uow:
            await uow.orders.remove(await uow.orders.get(order.id))
            await uow.customers.remove(await uow.customers.get(ada.id))
            await uow.commit()
        async with new_uow() as uow:
            assert (await uow.customers.count(), await uow.orders.count()) == (0, 0)


def test_the_key_is_created_where_the_dialect_can_serve_it(mapping: Mapping) -> None:
    orders = mapping.metadata.tables["orders"]
    on_duckdb = str(CreateTable(orders).compile(dialect=AsyncDuckDBDialect()))
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    on_postgresql = str(CreateTable(orders).compile(dialect=dialect))
    assert "REFERENCES" not in on_duckdb
    assert "FOREIGN KEY(customer_id) REFERENCES customers (id)" in on_postgresql


def test_a_key_to_a_table_no_aggregate_is_mapped_onto_is_created_everywhere() -> None:
    mapping = Mapping()
    sa.Table("countries", mapping.metadata, sa.Column("code", sa.String, primary_key=True))
    addresses = sa.Table(
        "addresses",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.String, sa.ForeignKey("countries.code"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    mapping.map(Customer, addresses)
    try:
        on_duckdb = str(CreateTable(addresses).compile(dialect=AsyncDuckDBDialect()))
        assert "FOREIGN KEY(name) REFERENCES countries (code)" in on_duckdb
    finally:
        mapping.clear()


@pytest.mark.parametrize("kind", ["memory", "duckdb-memory", "duckdb-file", "postgresql"])
async def test_a_referrer_and_what_it_references_removed_in_one_flush(
    kind: str, mapping: Mapping, tmp_path: Path
) -> None:
    async with _factory(kind, mapping, tmp_path) as new_uow:
        ada = Customer(name="Ada")
        order = Order(customer_id=ada.id)
        async with new_uow() as uow:
            await uow.customers.add(ada)
            await uow.orders.add(order)
            await uow.commit()
        async with new_uow() as uow:
            held_order = await uow.orders.get(order.id)
            held_customer = await uow.customers.get(ada.id)
            await uow.customers.remove(held_customer)
            await uow.orders.remove(held_order)
            await uow.commit()
        async with new_uow() as uow:
            assert (await uow.customers.count(), await uow.orders.count()) == (0, 0)
