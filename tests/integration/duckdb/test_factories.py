"""``andamios.testing.factories`` on in-memory DuckDB: the same creates as on the in-memory
adapter (``tests/unit/testing/test_factories.py``), stored by the caller's commit, a batch in
one ``add_many`` (one Arrow statement), children in their own table."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from tests.unit.testing._factory_domain import (
    FACTORIES,
    Calls,
    Customer,
    Money,
    Order,
    OrderFactory,
    OrderLine,
    Product,
    ProductFactory,
    Shop,
    Tally,
    TallyFactory,
)

from andamios.adapters.duckdb import Database
from andamios.adapters.sqlalchemy import Child, JsonValue, Mapping, SqlAlchemyUnitOfWork
from andamios.ports import UnitOfWorkFactory


@pytest.fixture(autouse=True)
def _fresh_sequences() -> None:
    for each in FACTORIES:
        each.reset_sequence()


@pytest.fixture
def mapping() -> Iterator[Mapping]:
    mapping = Mapping()
    metadata = mapping.metadata
    products = sa.Table(
        "products",
        metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("sku", sa.String, nullable=False, unique=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("label", sa.String, nullable=False),
        sa.Column("price", JsonValue(Money), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    customers = sa.Table(
        "customers",
        metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("email", sa.String, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    orders = sa.Table(
        "orders",
        metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("customer_id", sa.Uuid, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    lines = sa.Table(
        "order_lines",
        metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("order_id", sa.Uuid, sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("sku", sa.String, nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
    )
    tallies = sa.Table(
        "tallies",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    mapping.map(Product, products)
    mapping.map(Customer, customers)
    mapping.map(Order, orders, children={"lines": Child(OrderLine, lines, order_by="position")})
    mapping.map(Tally, tallies)
    try:
        yield mapping
    finally:
        mapping.clear()


@pytest.fixture
async def database(mapping: Mapping) -> AsyncIterator[Database]:
    async with Database("duckdb+async:///:memory:") as database:
        async with database.engine.begin() as connection:
            await connection.run_sync(
                functools.partial(mapping.metadata.create_all, checkfirst=False)
            )
        yield database


@pytest.fixture
def new_uow(database: Database, mapping: Mapping) -> UnitOfWorkFactory[Shop]:
    return SqlAlchemyUnitOfWork.factory(Shop, database=database, mapping=mapping)


@pytest.fixture
def inserts(database: Database) -> Iterator[list[str]]:
    """The INSERT statements sent to the database during the test."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        if args[2].lstrip().upper().startswith("INSERT"):
            seen.append(args[2])

    sa.event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(database.engine.sync_engine, "before_cursor_execute", record)


async def test_created_aggregates_are_stored_when_the_caller_commits(
    new_uow: UnitOfWorkFactory[Shop],
) -> None:
    async with new_uow() as uow:
        product = await ProductFactory.create(uow=uow, name="Tea")
        order = await OrderFactory.create(uow=uow)
        assert await uow.products.get(product.id) is product
        async with new_uow() as other:
            assert await other.products.count() == 0  # not committed: another sees nothing
            assert await other.orders.count() == 0
        await uow.commit()
    async with new_uow() as uow:
        stored = await uow.products.get(product.id)
        assert (stored.sku, stored.name, stored.label) == ("SKU-0000", "Tea", "SKU-0000 Tea")
        assert stored.price == product.price
        assert stored.version == 1
        loaded = await uow.orders.get(order.id)
        assert [(line.position, line.sku) for line in loaded.lines] == [
            (1, "LINE-0000"),
            (2, "LINE-0001"),
        ]
        assert (await uow.customers.get(loaded.customer_id)).email.endswith("@example.com")


async def test_nothing_is_stored_without_a_commit(new_uow: UnitOfWorkFactory[Shop]) -> None:
    async with new_uow() as uow:
        await ProductFactory.create_batch(20, uow=uow)
        await OrderFactory.create_batch(2, uow=uow)
        assert await uow.products.count() == 20
    async with new_uow() as uow:
        assert [await uow.products.count(), await uow.orders.count()] == [0, 0]
        assert await uow.customers.count() == 0


async def test_create_batch_writes_a_batch_with_one_add_many(
    new_uow: UnitOfWorkFactory[Shop], inserts: list[str]
) -> None:
    async with new_uow() as uow:
        calls = Calls(uow.products)
        products = await ProductFactory.create_batch(300, uow=uow)
        assert calls.add_many == [products]
        assert calls.add == []
        await uow.commit()
    assert inserts == []  # written by DuckDB's Arrow bulk path, not row by row by the ORM
    async with new_uow() as uow:
        assert await uow.products.count() == 300
        assert {p.version for p in products} == {1}


async def test_a_batch_with_children_and_integer_ids(new_uow: UnitOfWorkFactory[Shop]) -> None:
    async with new_uow() as uow:
        orders = await OrderFactory.create_batch(3, uow=uow, lines__1__quantity=5)
        tallies = await TallyFactory.create_batch(2, uow=uow)
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.customers.count() == 3
        loaded = await uow.orders.find()
        assert {order.id for order in loaded} == {order.id for order in orders}
        assert [[line.quantity for line in o.lines][1] for o in loaded] == [5, 5, 5]
        assert [t.id for t in await uow.tallies.find()] == [t.id for t in tallies] == [1, 2]
