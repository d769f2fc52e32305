"""Allocations changed in place: a cosmicpython-style ``Product`` whose ``Batch`` children each
hold a set of order lines (frozen value objects) in one JSON column.

- ``OrderLine`` is a frozen dataclass; ``Batch.allocations: set[OrderLine]`` is stored whole by
  ``JsonValue(set[OrderLine])`` in the ``batches`` table (a child table of ``products``).
- ``Product.allocate`` changes that set in place (``batch.allocations.add(line)``), with no
  assignment SQLAlchemy could notice. The unit of work saves it all the same: before each flush
  the SQL adapter compares every JSON value with what it last read or wrote, as the in-memory
  adapter compares whole aggregates at commit. The product's version grows by one per commit,
  however many autoflushes ran, so optimistic locking guards the allocations too.
- A value changed and changed back writes nothing.

Run it with ``uv run python examples/intermediate/10_allocations_in_place.py`` (an in-memory
DuckDB); ``--file`` stores it in a DuckDB file in a temporary directory, and ``--memory`` runs
the same code on the in-memory adapter. It prints::

    stored: SOFA v1: batch-1 20 free {}; batch-2 50 free {}
    allocated order-1 to batch-1
    reloaded: SOFA v2: batch-1 12 free {order-1}; batch-2 50 free {}
    allocated order-2 to batch-2, order-3 to batch-1
    reloaded: SOFA v3: batch-1 10 free {order-1, order-3}; batch-2 35 free {order-2}
    deallocated order-1: SOFA v4: batch-1 18 free {order-3}; batch-2 35 free {order-2}
    allocated and deallocated again: still v4
    a concurrent allocation: ConcurrencyError
    out of stock: no batch of SOFA has 99 free
    reloaded: SOFA v5: batch-1 17 free {order-3, order-4}; batch-2 35 free {order-2}

and, on DuckDB, what the ``batches`` table holds::

    batch-1 in the table: a JSON array of 2 objects, ['order-3', 'order-4']
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from uuid import UUID

import sqlalchemy as sa

from andamios.adapters.duckdb import Database
from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import Child, JsonValue, Mapping, SqlAlchemyUnitOfWork
from andamios.domain import AggregateRoot, Entity, ValueObject
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory
from andamios.ports.errors import ConcurrencyError

# -- domain: standard library only ------------------------------------------------------------


@dataclass(frozen=True)
class OrderLine(ValueObject):
    orderid: str
    sku: str
    qty: int


class OutOfStock(Exception):
    """No batch of the product can take the line."""


@dataclass(eq=False, kw_only=True)
class Batch(Entity[UUID]):
    reference: str
    sku: str
    purchased_quantity: int
    eta: date | None = None
    allocations: set[OrderLine] = field(default_factory=set)

    @property
    def available_quantity(self) -> int:
        return self.purchased_quantity - sum(line.qty for line in self.allocations)

    def can_allocate(self, line: OrderLine) -> bool:
        return self.sku == line.sku and self.available_quantity >= line.qty

    def allocate(self, line: OrderLine) -> None:
        self.allocations.add(line)  # in place: the set is not assigned anew

    def deallocate(self, line: OrderLine) -> None:
        self.allocations.discard(line)


@dataclass(eq=False, kw_only=True)
class Product(AggregateRoot[UUID]):
    sku: str
    batches: list[Batch] = field(default_factory=list)

    def allocate(self, line: OrderLine) -> str:
        """Allocate ``line`` to the batch arriving first (stock on hand before shipments)."""
        candidates = [batch for batch in self.batches if batch.can_allocate(line)]
        if not candidates:
            msg = f"no batch of {self.sku} has {line.qty} free"
            raise OutOfStock(msg)
        batch = min(candidates, key=lambda b: (b.eta is not None, b.eta or date.min))
        batch.allocate(line)
        return batch.reference

    def deallocate(self, line: OrderLine) -> None:
        for batch in self.batches:
            batch.deallocate(line)


class Warehouse(UnitOfWork):
    products: Repository[Product, UUID]


# -- adapters: the mapping, the only part that sees SQLAlchemy ----------------------------------

mapping = Mapping()
products = sa.Table(
    "products",
    mapping.metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("sku", sa.String, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)
batches = sa.Table(
    "batches",
    mapping.metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("product_id", sa.Uuid, sa.ForeignKey("products.id"), nullable=False),
    sa.Column("reference", sa.String, nullable=False),
    sa.Column("sku", sa.String, nullable=False),
    sa.Column("purchased_quantity", sa.Integer, nullable=False),
    sa.Column("eta", sa.Date),
    # The whole set as one JSON array of objects: [{"orderid": ..., "sku": ..., "qty": ...}].
    sa.Column("allocations", JsonValue(set[OrderLine]), nullable=False),
)
mapping.map(Product, products, children={"batches": Child(Batch, batches, order_by="reference")})

# -- application: never imports a database ----------------------------------------------------


def describe(product: Product) -> str:
    held = [
        f"{batch.reference} {batch.available_quantity} free "
        + "{"
        + ", ".join(sorted(line.orderid for line in batch.allocations))
        + "}"
        for batch in product.batches
    ]
    return f"{product.sku} v{product.version}: " + "; ".join(held)


async def allocate(uow: Warehouse, product_id: UUID, line: OrderLine) -> str:
    async with uow:
        product = await uow.products.get(product_id)
        reference = product.allocate(line)
        await uow.commit()
    return reference


async def main(new_uow: UnitOfWorkFactory[Warehouse]) -> UUID:
    sofa = Product(
        sku="SOFA",
        batches=[
            Batch(reference="batch-1", sku="SOFA", purchased_quantity=20),
            Batch(reference="batch-2", sku="SOFA", purchased_quantity=50, eta=date(2026, 6, 1)),
        ],
    )
    async with new_uow() as uow:
        await uow.products.add(sofa)
        await uow.commit()
    print(f"stored: {describe(sofa)}")

    reference = await allocate(new_uow(), sofa.id, OrderLine("order-1", "SOFA", 8))
    print(f"allocated order-1 to {reference}")
    async with new_uow() as uow:
        print(f"reloaded: {describe(await uow.products.get(sofa.id))}")

    async with new_uow() as uow:
        product = await uow.products.get(sofa.id)
        second = product.allocate(OrderLine("order-2", "SOFA", 15))  # batch-1 has 12 free
        await uow.products.count()  # a query: an autoflush writes the allocation first
        third = product.allocate(OrderLine("order-3", "SOFA", 2))
        await uow.commit()  # still one new version
    print(f"allocated order-2 to {second}, order-3 to {third}")
    async with new_uow() as uow:
        print(f"reloaded: {describe(await uow.products.get(sofa.id))}")

    async with new_uow() as uow:
        product = await uow.products.get(sofa.id)
        product.deallocate(OrderLine("order-1", "SOFA", 8))
        await uow.commit()
        print(f"deallocated order-1: {describe(product)}")
        product.allocate(OrderLine("order-9", "SOFA", 1))
        product.deallocate(OrderLine("order-9", "SOFA", 1))
        await uow.commit()  # nothing changed: nothing written
        print(f"allocated and deallocated again: still v{product.version}")

    async with new_uow() as first, new_uow() as second_uow:
        mine = await first.products.get(sofa.id)
        theirs = await second_uow.products.get(sofa.id)
        mine.allocate(OrderLine("order-4", "SOFA", 1))
        theirs.allocate(OrderLine("order-5", "SOFA", 1))
        await first.commit()
        try:
            await second_uow.commit()
        except ConcurrencyError:
            print("a concurrent allocation: ConcurrencyError")

    try:
        await allocate(new_uow(), sofa.id, OrderLine("order-6", "SOFA", 99))
    except OutOfStock as error:
        print(f"out of stock: {error}")
    async with new_uow() as uow:
        print(f"reloaded: {describe(await uow.products.get(sofa.id))}")
    return sofa.id


# -- composition root: the only place that picks an adapter ------------------------------------


async def on_duckdb(url: str) -> None:
    async with Database(url) as database:
        await database.create_all(mapping.metadata)
        await main(SqlAlchemyUnitOfWork.factory(Warehouse, database=database, mapping=mapping))
        async with database.engine.connect() as connection:
            result = await connection.execute(
                sa.select(sa.cast(batches.c.allocations, sa.String)).where(
                    batches.c.reference == "batch-1"
                )
            )
            text = result.scalar_one()
        stored = json.loads(text)
        orders = sorted(item["orderid"] for item in stored)
        print(f"batch-1 in the table: a JSON array of {len(stored)} objects, {orders}")


async def run(argv: list[str]) -> None:
    if "--memory" in argv:
        await main(InMemoryUnitOfWork.factory(Warehouse))
    elif "--file" in argv:
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "warehouse.duckdb"
            await on_duckdb(f"duckdb+async:///{path}")
            print(f"stored in {path.name}")
    else:
        await on_duckdb("duckdb+async:///:memory:")


if __name__ == "__main__":
    asyncio.run(run(sys.argv))
