"""The same code on memory, DuckDB and PostgreSQL: only the composition root names an adapter.

- One domain (a ``Product`` whose stock its ``Reservation`` children hold back), one
  ``Mapping``, one service (``reserve``, ``cancel``): run on the in-memory adapter, an in-memory
  DuckDB and a PostgreSQL server, it reports the same lines on each, down to the order of the
  products (text sorts by code point everywhere: ``"POT-01" < "TEA-01" < "mug-01"``) and the
  ``ConcurrencyError`` of a stale write.
- ``postgresql.Database(url, schema=...)`` connects at once, and fails there if it cannot: a
  ``DatabaseUnavailable`` naming the host, port and database. Its units of work run at
  ``REPEATABLE READ``, so a write that lost a race fails with ``ConcurrencyError``, as on the
  other adapters.
- Unlike DuckDB, a PostgreSQL server takes writers from many processes at once (see
  ``tests/integration/postgresql/test_processes.py``).

The server is ``ANDAMIOS_TEST_POSTGRESQL_URL`` (default: the local one, trust auth); the example
works in a schema of its own, dropped at the end. Without a server it prints why, skips it, and
runs the rest. Run it with ``uv run python examples/intermediate/11_postgresql.py``. Its last
line is ``postgresql: the same 7 lines`` with a server and ``postgresql: skipped, ...`` with the
reason without one (``...`` below).

It prints::

    memory:
      stored: POT-01 2, TEA-01 10, mug-01 6 in stock (v1)
      order-1 reserves 3 TEA-01: 7 left (v2)
      order-2 reserves 2 POT-01: 0 left (v2)
      order-3 is refused: 1 POT-01 asked, 0 in stock
      order-1 is cancelled: TEA-01 10 left (v3)
      a stale write: ConcurrencyError; TEA-01 holds order-4 only (v4)
      in stock: TEA-01 9, mug-01 6
    duckdb: the same 7 lines
    postgresql: ...
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from uuid import UUID

import sqlalchemy as sa

from andamios.adapters import duckdb, postgresql
from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import Child, Mapping, SqlAlchemyUnitOfWork
from andamios.domain import AggregateRoot, Entity, F
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory
from andamios.ports.errors import ConcurrencyError, DatabaseUnavailable

# -- domain ---------------------------------------------------------------------------------------


# --8<-- [start:domain]
class OutOfStock(Exception):
    """A reservation asks for more than is in stock."""


@dataclass(eq=False, kw_only=True)
class Reservation(Entity[UUID]):
    order: str
    quantity: int


@dataclass(eq=False, kw_only=True)
class Product(AggregateRoot[str]):  # the id is the SKU
    stock: int
    reservations: list[Reservation] = field(default_factory=list)

    def reserve(self, order: str, quantity: int) -> None:
        if quantity > self.stock:
            msg = f"{quantity} {self.id} asked, {self.stock} in stock"
            raise OutOfStock(msg)
        self.reservations.append(Reservation(order=order, quantity=quantity))
        self.stock -= quantity

    def cancel(self, order: str) -> None:
        self.stock += sum(r.quantity for r in self.reservations if r.order == order)
        self.reservations = [r for r in self.reservations if r.order != order]


class Warehouse(UnitOfWork):
    products: Repository[Product, str]


# --8<-- [end:domain]


# -- mapping: the tables of both SQL adapters -----------------------------------------------------

# --8<-- [start:mapping]
mapping = Mapping()
products = sa.Table(
    "products",
    mapping.metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("stock", sa.Integer, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)
reservations = sa.Table(
    "reservations",
    mapping.metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("product_id", sa.String, sa.ForeignKey("products.id"), nullable=False),
    sa.Column("order", sa.String, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
)
# UUIDv7 ids sort by creation time: reservations load in the order they were made.
mapping.map(
    Product, products, children={"reservations": Child(Reservation, reservations, order_by="id")}
)
# --8<-- [end:mapping]

# -- service: never imports a database ------------------------------------------------------------


# --8<-- [start:service]
async def reserve(uow: Warehouse, sku: str, order: str, quantity: int) -> Product:
    async with uow:
        product = await uow.products.get(sku)
        product.reserve(order, quantity)
        await uow.commit()
    return product


async def cancel(uow: Warehouse, sku: str, order: str) -> Product:
    async with uow:
        product = await uow.products.get(sku)
        product.cancel(order)
        await uow.commit()
    return product


# --8<-- [end:service]


def stocks(found: list[Product]) -> str:
    return ", ".join(f"{product.id} {product.stock}" for product in found)


async def main(new_uow: UnitOfWorkFactory[Warehouse]) -> list[str]:
    """Run the scenario on the units of work ``new_uow`` makes; returns what it reports."""
    said: list[str] = []
    async with new_uow() as uow:
        await uow.products.add_many(
            [
                Product(id="TEA-01", stock=10),
                Product(id="POT-01", stock=2),
                Product(id="mug-01", stock=6),
            ]
        )
        await uow.commit()
        stored = await uow.products.find(order_by="id")
    said.append(f"stored: {stocks(stored)} in stock (v{stored[0].version})")

    tea = await reserve(new_uow(), "TEA-01", "order-1", 3)
    said.append(f"order-1 reserves 3 TEA-01: {tea.stock} left (v{tea.version})")
    pot = await reserve(new_uow(), "POT-01", "order-2", 2)
    said.append(f"order-2 reserves 2 POT-01: {pot.stock} left (v{pot.version})")
    try:
        await reserve(new_uow(), "POT-01", "order-3", 1)
    except OutOfStock as error:
        said.append(f"order-3 is refused: {error}")
    tea = await cancel(new_uow(), "TEA-01", "order-1")
    said.append(f"order-1 is cancelled: TEA-01 {tea.stock} left (v{tea.version})")

    # Both read version 3: the first to commit wins, the other is told instead of overwriting.
    outcome = "no error"
    async with new_uow() as first, new_uow() as second:
        (await first.products.get("TEA-01")).reserve("order-4", 1)
        (await second.products.get("TEA-01")).reserve("order-5", 1)
        await first.commit()
        try:
            await second.commit()
        except ConcurrencyError as error:
            outcome = type(error).__name__
    async with new_uow() as uow:
        tea = await uow.products.get("TEA-01")
        held = ", ".join(r.order for r in tea.reservations)
        said.append(f"a stale write: {outcome}; TEA-01 holds {held} only (v{tea.version})")
        said.append(f"in stock: {stocks(await uow.products.find(F('stock') > 0, order_by='id'))}")
    return said


# -- composition root: the only place that names an adapter ---------------------------------------

POSTGRESQL_URL = os.environ.get(
    "ANDAMIOS_TEST_POSTGRESQL_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


async def on_duckdb() -> list[str]:
    async with duckdb.Database("duckdb+async:///:memory:") as database:
        await database.create_all(mapping.metadata)
        return await main(
            SqlAlchemyUnitOfWork.factory(Warehouse, database=database, mapping=mapping)
        )


# --8<-- [start:on-postgresql]
async def on_postgresql() -> list[str]:
    """Run ``main`` in a new schema of the server, dropped afterwards."""
    schema = f"andamios_example_{uuid.uuid4().hex[:12]}"
    async with postgresql.Database(POSTGRESQL_URL, pool_timeout=5) as server:
        async with server.engine.begin() as connection:
            await connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        try:
            async with postgresql.Database(POSTGRESQL_URL, schema=schema) as database:
                await database.create_all(mapping.metadata)
                return await main(
                    SqlAlchemyUnitOfWork.factory(Warehouse, database=database, mapping=mapping)
                )
        finally:
            async with server.engine.begin() as connection:
                await connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


# --8<-- [end:on-postgresql]


async def run() -> None:
    expected = await main(InMemoryUnitOfWork.factory(Warehouse))
    print("memory:", *(f"  {line}" for line in expected), sep="\n")
    runs: dict[str, Callable[[], Awaitable[list[str]]]] = {
        "duckdb": on_duckdb,
        "postgresql": on_postgresql,
    }
    for name, on_adapter in runs.items():
        try:
            said = await on_adapter()
        except DatabaseUnavailable as error:
            print(f"{name}: skipped, {error}")
            continue
        if said == expected:
            print(f"{name}: the same {len(said)} lines")
        else:
            print(f"{name}: different!", *(f"  {line}" for line in said), sep="\n")


if __name__ == "__main__":
    asyncio.run(run())
